/**
 * Connection, profiles, host keys, settings and quota: what the sidebar, the header and
 * the status bar show. The engine owns the session; this store mirrors its state
 * ('session:state' events) and sends intents.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  ConnectInput,
  ConnectionState,
  FerryApi,
  Profile,
  ProfileInput,
  SessionInfo,
  Settings,
} from '../../../shared/common/contract.js';
import type { UiLanguage } from '../../../shared/common/languages.js';
import { DEFAULT_PORT } from '../../../shared/common/protocols.js';
import { EMPTY_DRAFT, draftToInput, editDraft, passphraseWanted, type ConnectDraft } from '../logic/connect-draft.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import type { Df } from '../../../shared/common/messages.js';

export type HostKeyPrompt =
  | { readonly kind: 'new'; readonly hostPort: string; readonly fingerprint: string; readonly input: ConnectInput }
  | {
      readonly kind: 'changed';
      readonly hostPort: string;
      readonly fingerprint: string;
      readonly expected: string;
      readonly input: ConnectInput;
    };

export interface SessionState {
  readonly profiles: readonly Profile[];
  readonly profilesError: ErrorInfo | null;
  readonly connection: ConnectionState;
  /** Our own connect call is running (before the engine's first state event). */
  readonly connecting: boolean;
  /** The last connection error, shown next to the form. */
  readonly error: ErrorInfo | null;
  readonly hostKey: HostKeyPrompt | null;
  readonly df: Df | null;
  readonly settings: Settings | null;
  readonly settingsError: ErrorInfo | null;
  readonly draft: ConnectDraft;
  /** A problem with what was typed (shown next to the form, like connection errors). */
  readonly draftProblem: string | null;
  /** "Remember login" was asked but the engine kept nothing (no secure storage here). */
  readonly rememberDeclined: boolean;

  init(): Promise<void>;
  setDraft(patch: Partial<ConnectDraft>): void;
  /** Fill the form from a saved profile. */
  pickProfile(profile: Profile): void;
  /** Connect with what the form holds (saving a profile first when asked to remember). */
  submitDraft(): Promise<boolean>;
  /** Save the form as a profile (a new one, or the picked one updated). */
  saveDraft(): Promise<Profile | null>;
  loadProfiles(): Promise<void>;
  saveProfile(input: ProfileInput): Promise<Profile | null>;
  deleteProfile(id: string): Promise<boolean>;
  connect(input: ConnectInput): Promise<boolean>;
  /** Pin the key shown in a 'new key' prompt, then connect again. */
  trustHostKey(): Promise<boolean>;
  /** After a changed key, and only on an explicit choice: forget the old key, pin the new one. */
  replaceHostKey(): Promise<boolean>;
  dismissHostKey(): void;
  disconnect(): Promise<void>;
  clearError(): void;
  refreshDf(): Promise<void>;
  loadSettings(): Promise<void>;
  saveSettings(input: { downloadDir?: string; concurrency?: number; language?: UiLanguage; uploadLimit?: number; downloadLimit?: number; checkSha256?: boolean }): Promise<boolean>;

}

export type SessionStore = StoreApi<SessionState>;

export interface SessionHooks {
  /** The session became connected: fresh (a new login) or after a reconnect. */
  onConnected?(session: SessionInfo, fresh: boolean): void;
  onDisconnected?(): void;
}

export function currentSession(state: Pick<SessionState, 'connection'>): SessionInfo | null {
  return state.connection.state === 'connected' ? state.connection.session : null;
}

/** The session shown in the header and status bar: the live one, or the one being got back. */
export function shownSession(state: Pick<SessionState, 'connection'>): SessionInfo | null {
  const c = state.connection;
  return c.state === 'connected' || c.state === 'reconnecting' ? c.session : null;
}

export function createSessionStore(api: FerryApi, hooks: SessionHooks = {}): SessionStore {
  /** Every change of connection goes through here, so the hooks fire once per transition. */
  const applyConnection = (next: ConnectionState): void => {
    const before = store.getState().connection;
    store.setState({ connection: next });
    if (next.state === 'connected' && before.state !== 'connected') {
      store.setState({ error: null });
      hooks.onConnected?.(next.session, before.state !== 'reconnecting');
    } else if (next.state === 'disconnected' && before.state !== 'disconnected') {
      store.setState({ df: null, ...(next.error ? { error: next.error } : {}) });
      hooks.onDisconnected?.();
    }
  };

  const store = createStore<SessionState>()((set, get) => {
    const attempt = async (input: ConnectInput): Promise<boolean> => {
      set({ connecting: true, error: null, hostKey: null });
      if (get().connection.state === 'disconnected') set({ connection: { state: 'connecting' } });
      const result = await api.call('session:connect', input);
      set({ connecting: false });
      const fallBack = (): void => {
        if (get().connection.state === 'connecting') set({ connection: { state: 'disconnected' } });
      };
      if (!result.ok) {
        fallBack();
        // An encrypted key without its passphrase: the form asks for it.
        const wanted = passphraseWanted(result.error);
        set({ error: result.error, ...(wanted !== null ? { draft: { ...get().draft, passphraseFor: wanted } } : {}) });
        return false;
      }
      const value = result.value;
      if (value.kind === 'connected') {
        // The password and passphrase have done their job: they do not stay in the form.
        set({ draft: { ...get().draft, password: '', passphrase: '', passphraseFor: null }, rememberDeclined: false });
        applyConnection({ state: 'connected', session: value.session });
        // Over SFTP an agent or a plain key needs nothing remembered.
        const secret = input.protocol === 'ferry' || input.password !== undefined || input.passphrase !== undefined;
        if (input.remember && secret) {
          await get().loadProfiles();
          const profile = get().profiles.find((p) => p.id === input.profileId);
          if (profile && !profile.remembered) set({ rememberDeclined: true });
        }
        return true;
      }
      fallBack();
      set({
        hostKey:
          value.kind === 'hostkey-new'
            ? { kind: 'new', hostPort: value.hostPort, fingerprint: value.fingerprint, input }
            : { kind: 'changed', hostPort: value.hostPort, fingerprint: value.fingerprint, expected: value.expected, input },
      });
      return false;
    };

    return {
      profiles: [],
      profilesError: null,
      connection: { state: 'disconnected' },
      connecting: false,
      error: null,
      hostKey: null,
      df: null,
      settings: null,
      settingsError: null,
      draft: EMPTY_DRAFT,
      draftProblem: null,
      rememberDeclined: false,

      setDraft(patch) {
        const before = get().draft;
        const next = editDraft(before, patch);
        // Editing where to connect detaches the form from the picked profile.
        const detaches = ('host' in patch || 'port' in patch || 'user' in patch || 'protocol' in patch) && before.profileId !== null;
        const profile = get().profiles.find((p) => p.id === before.profileId);
        const stillSame =
          profile !== undefined &&
          next.protocol === profile.protocol &&
          next.host === profile.host &&
          Number(next.port) === profile.port &&
          next.user === profile.user;
        // A passphrase belongs to its key: another key (or protocol) asks again.
        const keyChanged = 'identityFile' in patch || 'protocol' in patch;
        set({
          draft: {
            ...next,
            ...(detaches && !stillSame ? { profileId: null } : {}),
            ...(keyChanged && next.passphraseFor !== null ? { passphraseFor: null, passphrase: '' } : {}),
          },
          draftProblem: null,
        });
      },

      pickProfile(profile) {
        set({
          draft: {
            ...EMPTY_DRAFT,
            profileId: profile.id,
            name: profile.name,
            protocol: profile.protocol,
            host: profile.host,
            port: String(profile.port),
            portChosen: profile.port !== DEFAULT_PORT[profile.protocol],
            user: profile.user,
            remember: profile.remembered,
            plain: profile.plain ?? false,
            insecurePlainOnNetwork: profile.insecurePlainOnNetwork ?? false,
            identityFile: profile.identityFile ?? '',
            agent: profile.agent ?? true,
            startFolder: profile.startFolder ?? '',
          },
          draftProblem: null,
          error: null,
        });
      },

      async submitDraft() {
        const parsed = draftToInput(get().draft);
        if ('problem' in parsed) {
          set({ draftProblem: parsed.problem });
          return false;
        }
        let input = parsed.input;
        if (input.remember && input.profileId === undefined) {
          const saved = await get().saveDraft();
          if (!saved) return false;
          input = { ...input, profileId: saved.id };
        }
        return attempt(input);
      },

      async saveDraft() {
        const d = get().draft;
        const parsed = draftToInput(d);
        if ('problem' in parsed) {
          set({ draftProblem: parsed.problem });
          return null;
        }
        const { protocol, host, port, user, plain, insecurePlainOnNetwork, identityFile, agent } = parsed.input;
        const saved = await get().saveProfile({
          ...(d.profileId !== null ? { id: d.profileId } : {}),
          name: d.name.trim() || `${user}@${host}`,
          protocol,
          host,
          port,
          user,
          ...(plain ? { plain } : {}),
          ...(insecurePlainOnNetwork ? { insecurePlainOnNetwork } : {}),
          ...(identityFile !== undefined ? { identityFile } : {}),
          ...(agent !== undefined ? { agent } : {}),
          // Cleared on a saved profile: none any more (a new profile simply has none).
          ...(d.startFolder.trim() !== '' ? { startFolder: d.startFolder.trim() } : d.profileId !== null ? { startFolder: null } : {}),
        });
        if (saved) set({ draft: { ...get().draft, profileId: saved.id, name: saved.name } });
        return saved;
      },

      async init() {
        const state = await api.call('session:state');
        if (state.ok) applyConnection(state.value);
        await Promise.all([get().loadProfiles(), get().loadSettings()]);
      },

      async loadProfiles() {
        const r = await api.call('profiles:list');
        if (r.ok) set({ profiles: r.value, profilesError: null });
        else set({ profilesError: r.error });
      },

      async saveProfile(input) {
        const r = await api.call('profiles:save', input);
        if (!r.ok) {
          set({ profilesError: r.error });
          return null;
        }
        await get().loadProfiles();
        return r.value;
      },

      async deleteProfile(id) {
        const r = await api.call('profiles:delete', id);
        if (!r.ok) {
          set({ profilesError: r.error });
          return false;
        }
        await get().loadProfiles();
        return true;
      },

      connect: attempt,

      async trustHostKey() {
        const prompt = get().hostKey;
        if (!prompt || prompt.kind !== 'new') return false;
        const r = await api.call('hosts:trust', prompt.hostPort, prompt.fingerprint);
        if (!r.ok) {
          set({ hostKey: null, error: r.error });
          return false;
        }
        return attempt(prompt.input);
      },

      async replaceHostKey() {
        const prompt = get().hostKey;
        if (!prompt || prompt.kind !== 'changed') return false;
        const forgot = await api.call('hosts:forget', prompt.hostPort);
        const r = forgot.ok ? await api.call('hosts:trust', prompt.hostPort, prompt.fingerprint) : forgot;
        if (!r.ok) {
          set({ hostKey: null, error: r.error });
          return false;
        }
        return attempt(prompt.input);
      },

      dismissHostKey() {
        set({ hostKey: null });
      },

      async disconnect() {
        const r = await api.call('session:disconnect');
        if (!r.ok) set({ error: r.error });
        // The engine also sends 'session:state'; this keeps the UI honest if it does not.
        applyConnection({ state: 'disconnected' });
      },

      clearError() {
        set({ error: null });
      },

      async refreshDf() {
        const connection = get().connection;
        // Only a server that reports a quota is asked (SFTP has none to report).
        if (connection.state !== 'connected' || !connection.session.quota) return;
        const r = await api.call('fs:df');
        if (r.ok) set({ df: r.value });
      },

      async loadSettings() {
        const r = await api.call('settings:get');
        if (r.ok) set({ settings: r.value, settingsError: null });
        else set({ settingsError: r.error });
      },

      async saveSettings(input) {
        const r = await api.call('settings:set', input);
        if (!r.ok) {
          set({ settingsError: r.error });
          return false;
        }
        set({ settings: r.value, settingsError: null });
        return true;
      },
    };
  });

  api.on('session:state', applyConnection);
  return store;
}
