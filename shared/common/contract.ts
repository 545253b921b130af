/**
 * The one contract between the UI and the engine: every call (renderer → engine) and
 * every event (engine → renderer). Electron's preload and main process, the browser-mode
 * WebSocket client and host all derive from these maps. Arguments are validated at
 * runtime on the engine side with the schemas below: the renderer is untrusted.
 */
import { z } from 'zod';
import type { ErrorInfo } from './errors.js';
import type { Df, Entry, ExecStream, UserInfo } from './messages.js';
import { UI_LANGUAGES, type UiLanguage } from './languages.js';
import { PROTOCOLS, type Protocol } from './protocols.js';
import { NAME_PATTERN_MAX } from './name-pattern.js';
import { SEARCH_RESULTS_MAX, type SearchEndEvent, type SearchFoundEvent } from './search-model.js';
import { SyncRequest, type SyncOutcome, type SyncPlan } from './sync-model.js';
import { SPEED_LIMIT_MAX } from './speed-limit.js';
import { EDIT_CHOICES, EDIT_OPENERS, EDIT_TEXT_MAX, type EditView } from './edit-model.js';
import { AbsoluteRemotePath, BOOKMARKS_MAX, LocalPath, PlacesInput, type LocalHome } from './places.js';
import type { ConflictDecision, QueueTotals, TransferCheck, TransferEvent, TransferId, TransferView } from './transfer-model.js';
import { HISTORY_EXPORT_FORMATS, type SavedQueueOffer, type TransferLogEntry } from './transfer-log.js';
import { CHMOD_MODE_MAX } from './permissions.js';


const text = (max = 4096) => z.string().max(max);
const remotePath = z.string().min(1).max(4096);
const editId = z.string().min(1).max(64);
/** A text of EDIT_TEXT_MAX bytes has at most that many UTF-16 units. */
const EDIT_TEXT_CHARS = EDIT_TEXT_MAX;


/**
 * A private key file on this computer: absolute (or `~/…`, the user's home), never
 * relative (to what?). The engine reads it only to sign an SSH login.
 */
const keyFile = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => /^(\/|~\/|[A-Za-z]:[\\/]|\\\\)/.test(p) && !p.includes('\0'), 'the key file must be an absolute path (or start with ~/)');

/** What says where and how to connect, shared by a saved profile and a connect. */
const target = {
  /** Old profiles and callers name no protocol: they are Ferry's. */
  protocol: z.enum(PROTOCOLS).default('ferry'),
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(64),
  plain: z.boolean().optional(),
  /** Allow `plain` to a host that is not loopback (plain-tcp.ts; refused otherwise). */
  insecurePlainOnNetwork: z.boolean().optional(),
  /** SFTP: the private key to log in with (else the agent, ~/.ssh/config and the default keys). */
  identityFile: keyFile.optional(),
  /** SFTP: try the keys of ssh-agent (SSH_AUTH_SOCK) first; default true. */
  agent: z.boolean().optional(),
};

interface ProtocolOptions {
  readonly protocol: Protocol;
  readonly plain?: boolean | undefined;
  readonly insecurePlainOnNetwork?: boolean | undefined;
  readonly identityFile?: string | undefined;
  readonly agent?: boolean | undefined;
  readonly passphrase?: string | undefined;
}

/** Options that belong to one protocol only are refused for the other, not silently dropped. */
function protocolOptions(input: ProtocolOptions, ctx: z.RefinementCtx): void {
  if (input.protocol === 'sftp' && (input.plain || input.insecurePlainOnNetwork)) {
    ctx.addIssue({ code: 'custom', path: ['plain'], message: 'SSH is always encrypted: "No encryption" is for the Ferry protocol only' });
  }
  if (input.protocol === 'ferry') {
    for (const key of ['identityFile', 'agent', 'passphrase'] as const) {
      if (input[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is for SFTP only` });
    }
  }
}

export const ProfileInput = z
  .object({
    id: z.string().max(64).optional(),
    name: text(200),
    ...target,
    /** Remote folders bookmarked for this connection (left as they are when absent). */
    bookmarks: z.array(AbsoluteRemotePath).max(BOOKMARKS_MAX).optional(),
    /** The folder a connection opens in (null: none, its home; absent: left as it is). */
    startFolder: AbsoluteRemotePath.nullable().optional(),
  })
  .superRefine(protocolOptions);
export type ProfileInput = z.infer<typeof ProfileInput>;

export interface Profile extends ProfileInput {
  readonly id: string;
  /**
   * A login is remembered, encrypted by the system's secure storage: for Ferry as SCRAM
   * keys (never the password); for SFTP the password and key passphrase typed.
   */
  readonly remembered: boolean;
  /** The built-in local server profile. */
  readonly local?: boolean;
}

export const ConnectInput = z
  .object({
    ...target,
    /** Ferry: the password. SFTP: the password, also given to keyboard-interactive prompts (optional: keys may do). */
    password: z.string().max(1024).optional(),
    /** SFTP: the passphrase of an encrypted key (asked for after EAUTH with details.passphraseFor). */
    passphrase: z.string().max(1024).optional(),
    profileId: z.string().max(64).optional(),
    /** Remember the login for this profile (encrypted; see Profile.remembered). */
    remember: z.boolean().optional(),
  })
  .superRefine(protocolOptions);
export type ConnectInput = z.infer<typeof ConnectInput>;

export interface SessionInfo {
  readonly protocol: Protocol;
  readonly host: string;
  readonly port: number;
  readonly user: UserInfo;
  readonly cwd: string;
  /** The folder the session started in: shown as "Home" ('/' for Ferry, the account's home over SFTP). */
  readonly home: string;
  readonly fingerprint: string | null;
  readonly profileId: string | null;
  /** The server reports a quota (Ferry): the status bar shows usage only then. */
  readonly quota: boolean;
  /** How transfers are checked: both ends' XXH3-128 or SHA-256, or the size only (SFTP without commands). */
  readonly check: TransferCheck;
}

export type ConnectResult =
  | { readonly kind: 'connected'; readonly session: SessionInfo }
  /** The server's key is not pinned yet: show it and ask (then call hosts:trust). */
  | { readonly kind: 'hostkey-new'; readonly hostPort: string; readonly fingerprint: string }
  /** The key changed: a blocking warning, never a silent accept. */
  | { readonly kind: 'hostkey-changed'; readonly hostPort: string; readonly fingerprint: string; readonly expected: string };

export type ConnectionState =
  | { readonly state: 'disconnected'; readonly error?: ErrorInfo }
  | { readonly state: 'connecting' }
  | { readonly state: 'connected'; readonly session: SessionInfo }
  /** The session it is getting back (so the window can still say where it was). */
  | { readonly state: 'reconnecting'; readonly attempt: number; readonly error?: ErrorInfo; readonly session: SessionInfo };

export interface Settings {
  readonly downloadDir: string;
  readonly concurrency: number;
  readonly language: UiLanguage;
  /** Speed limits for the whole app, in bytes per second (0: none). */
  readonly uploadLimit: number;
  readonly downloadLimit: number;
  /** Check every transfer with SHA-256 (slower) instead of XXH3-128 where the server offers it. */
  readonly checkSha256: boolean;
}

export const SettingsInput = z.object({
  downloadDir: z.string().min(1).max(4096).optional(),
  concurrency: z.number().int().min(1).max(16).optional(),
  language: z.enum(UI_LANGUAGES).optional(),
  uploadLimit: z.number().int().min(0).max(SPEED_LIMIT_MAX).optional(),
  downloadLimit: z.number().int().min(0).max(SPEED_LIMIT_MAX).optional(),
  checkSha256: z.boolean().optional(),
});


export interface ConflictPrompt {
  readonly conflictId: string;
  readonly transfer: TransferView;
  readonly existing: { readonly size: number; readonly mtime: number };
  /** The upload or download the file belongs to: an answer "for all" covers this batch only. */
  readonly batch: string;
}

/** The transfer list as it is now: what 'transfers:event' batches are applied to. */
export interface TransfersSnapshot {
  readonly transfers: TransferView[];
  readonly totals: QueueTotals;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorInfo };

/**
 * Calls: name → [argument schema, result type]. Every call resolves to a Result: errors
 * cross as data with stable codes, never as thrown strings.
 */
export const CALLS = {
  'profiles:list': z.tuple([]),
  'profiles:save': z.tuple([ProfileInput]),
  'profiles:delete': z.tuple([z.string().max(64)]),
  /** Change a profile's bookmarks or start folder only (places.ts). */
  'profiles:setPlaces': z.tuple([z.string().max(64), PlacesInput]),
  'session:connect': z.tuple([ConnectInput]),
  'session:disconnect': z.tuple([]),
  'session:state': z.tuple([]),
  'hosts:trust': z.tuple([z.string().max(300), z.string().max(200)]),
  'hosts:forget': z.tuple([z.string().max(300)]),
  'fs:list': z.tuple([remotePath]),
  'fs:stat': z.tuple([remotePath]),
  'fs:cd': z.tuple([remotePath]),
  'fs:mkdir': z.tuple([remotePath]),
  'fs:rename': z.tuple([remotePath, remotePath]),
  'fs:delete': z.tuple([z.array(remotePath).min(1).max(10_000)]),
  'fs:df': z.tuple([]),
  /** Permission bits (0 to 0o777) for a path; `recursive`: a folder and everything below it, links skipped. */
  'fs:chmod': z.tuple([remotePath, z.number().int().min(0).max(CHMOD_MODE_MAX), z.object({ recursive: z.boolean() }).strict()]),
  /** Upload OS paths (Electron drops and pickers). */
  'transfers:uploadPaths': z.tuple([z.array(z.string().min(1).max(4096)).min(1).max(10_000), remotePath]),
  /** Download into a local folder (the local pane's drop target), else the download folder. */
  'transfers:download': z.tuple([z.array(remotePath).min(1).max(10_000), LocalPath.optional()]),
  'transfers:pause': z.tuple([z.string().max(64)]),
  'transfers:resume': z.tuple([z.string().max(64)]),
  'transfers:cancel': z.tuple([z.string().max(64)]),
  'transfers:retry': z.tuple([z.string().max(64)]),
  'transfers:pauseAll': z.tuple([]),
  'transfers:resumeAll': z.tuple([]),
  'transfers:cancelAll': z.tuple([]),
  'transfers:clear': z.tuple([]),
  'transfers:list': z.tuple([]),
  'transfers:resolveConflict': z.tuple([
    z.string().max(64),
    z.enum(['overwrite', 'skip', 'rename', 'resume']),
    z.boolean(),
  ]),
  /** Finished transfers, newest first: those whose paths or server contain `search`, at most `limit`. */
  'transfers:history': z.tuple([z.object({ search: z.string().max(1000).optional(), limit: z.number().int().min(1).max(10_000).optional() })]),
  /** The history (matching `search`) as the text of a CSV or JSON file, for the page to save. */
  'transfers:exportHistory': z.tuple([z.enum(HISTORY_EXPORT_FORMATS), z.string().max(1000).optional()]),
  /** Unfinished transfers saved when this connection was last left (a quit, a disconnect), or null. */
  'transfers:saved': z.tuple([]),
  /** Queue them again: each resumes from its partial and is checked as usual. */
  'transfers:restore': z.tuple([]),
  /** Forget them. */
  'transfers:discardSaved': z.tuple([]),
  'exec:run': z.tuple([z.string().min(1).max(64 * 1024)]),
  'exec:cancel': z.tuple([z.string().max(64)]),
  'history:get': z.tuple([]),
  'history:add': z.tuple([z.string().min(1).max(4096)]),
  'settings:get': z.tuple([]),
  'settings:set': z.tuple([SettingsInput]),
  /** Compare a local folder with a remote one: the plan, with a reason per line (nothing changes). */
  'sync:plan': z.tuple([SyncRequest]),
  /** The local pane: where it starts (the home) and the folder it cannot go above. */
  'local:home': z.tuple([]),
  /** The local pane: a folder on this computer, entries shaped as fs:list's (links not followed). */
  'local:list': z.tuple([LocalPath]),
  /** Carry out the plan's lines with these ids (the ticked ones); resolves when the run ends. */
  'sync:run': z.tuple([z.string().max(64), z.array(z.number().int().nonnegative()).max(400_000)]),
  /** Stop a running sync (its transfers are cancelled), or forget a plan not run. */
  'sync:cancel': z.tuple([z.string().max(64)]),
  /** Edit a remote file in place: download it to the working folder and open it (edit-model.ts). */
  'edit:open': z.tuple([remotePath, z.enum(EDIT_OPENERS)]),
  /** The working copy's text (`mine`), or the server's copy fetched by "compare" (`theirs`), for the built-in editor. */
  'edit:read': z.tuple([editId, z.enum(['mine', 'theirs'])]),
  /** The built-in editor saves: the text replaces the working copy and is uploaded. */
  'edit:write': z.tuple([editId, z.string().max(EDIT_TEXT_CHARS)]),
  /** Answer a conflict: overwrite theirs, save ours as a copy beside it, or download theirs to compare. */
  'edit:resolve': z.tuple([editId, z.enum(EDIT_CHOICES)]),
  /** Send a failed save again. */
  'edit:retry': z.tuple([editId]),
  /** Stop editing; refused (EBUSY) while a save is not on the server, unless `discard`. */
  'edit:close': z.tuple([editId, z.boolean()]),
  'edit:list': z.tuple([]),
  /** Search the folder's tree for names matching a pattern (name-pattern.ts): results come as search:found events. */
  'search:start': z.tuple([
    remotePath,
    z.string().min(1).max(NAME_PATTERN_MAX),
    z.object({ caseSensitive: z.boolean().optional(), maxResults: z.number().int().min(1).max(SEARCH_RESULTS_MAX).optional() }),
  ]),
  /** Stop a search (it ends with search:end, kind "stopped"). */
  'search:cancel': z.tuple([z.string().max(64)]),
} as const;

export type CallName = keyof typeof CALLS;
/** What a caller sends: fields with a default may be left out (a connect without `protocol` is Ferry's). */
export type CallArgs<N extends CallName> = z.input<(typeof CALLS)[N]>;
/** What the engine's handler of a call gets: the arguments as validated, defaults filled in. */
export type HandlerArgs<N extends CallName> = z.output<(typeof CALLS)[N]>;

/** What each call returns (inside its Result). */
export interface CallResults {
  'profiles:list': Profile[];
  'profiles:save': Profile;
  'profiles:delete': void;
  'profiles:setPlaces': Profile;
  'session:connect': ConnectResult;
  'session:disconnect': void;
  'session:state': ConnectionState;
  'hosts:trust': void;
  'hosts:forget': boolean;
  'fs:list': { path: string; entries: Entry[] };
  'fs:stat': Entry;
  'fs:cd': string;
  'fs:mkdir': string;
  'fs:rename': string;
  'fs:delete': void;
  'fs:df': Df;
  'fs:chmod': { readonly changed: number };
  'transfers:uploadPaths': TransferView[];
  'transfers:download': TransferView[];
  'transfers:pause': void;
  'transfers:resume': void;
  'transfers:cancel': void;
  'transfers:retry': void;
  'transfers:pauseAll': void;
  'transfers:resumeAll': void;
  'transfers:cancelAll': void;
  'transfers:clear': void;
  'transfers:list': TransfersSnapshot;
  'transfers:resolveConflict': void;
  'transfers:history': TransferLogEntry[];
  'transfers:exportHistory': string;
  'transfers:saved': SavedQueueOffer | null;
  'transfers:restore': TransferView[];
  'transfers:discardSaved': void;
  'exec:run': string;
  'exec:cancel': void;
  'history:get': string[];
  'history:add': void;
  'settings:get': Settings;
  'settings:set': Settings;
  'sync:plan': SyncPlan;
  'local:home': LocalHome;
  'local:list': { path: string; entries: Entry[] };
  'sync:run': SyncOutcome;
  'sync:cancel': void;
  'edit:open': EditView;
  'edit:read': { readonly text: string };
  'edit:write': EditView;
  'edit:resolve': EditView;
  'edit:retry': EditView;
  'edit:close': void;
  'edit:list': EditView[];
  'search:start': string;
  'search:cancel': void;
}

/** Events: engine → renderer. */
export interface Events {
  'session:state': ConnectionState;
  /** Batched transfer changes (about ten a second at most), each with the queue's totals after it. */
  'transfers:event': TransferEvent;
  /**
   * The queue asks about a conflict. Answer with transfers:resolveConflict; the queue alone
   * decides which other files an answer "for all" covers.
   */
  'transfers:conflict': ConflictPrompt;
  /**
   * A question no longer needs an answer: the queue withdrew it (its transfer was paused or
   * cancelled, the queue settled it, or the session ended). The UI drops its prompt.
   */
  'transfers:conflictWithdrawn': { readonly conflictId: string };
  /**
   * Remote folders whose contents changed: the UI's only reason to list a folder again.
   * Sent for every change made through the calls (fs:mkdir, fs:rename, fs:delete, fs:chmod, and
   * exec:run: before their result or exit), and for uploads (their folders when they
   * start, and as files finish, gathered for a moment) and edit-in-place saves.
   */
  'fs:changed': { readonly paths: readonly string[] };
  /** The edited files changed (state or save rows): all of them, as they are now. */
  'edit:changed': { readonly edits: readonly EditView[] };
  'exec:output': { readonly execId: string; readonly stream: ExecStream; readonly data: string };
  /** Results of a search as they are found, gathered to at most about ten events a second. */
  'search:found': SearchFoundEvent;
  /** A search ended: all its results were sent before it. */
  'search:end': SearchEndEvent;
  'exec:exit': {
    readonly execId: string;
    readonly code: number | null;
    readonly signal: string | null;
    readonly error?: ErrorInfo;
    /** The session's folder after the command (a `cd` in the console moves the tree). */
    readonly cwd: string;
  };
}
export type EventName = keyof Events;

/** A DOM File, as far as this layer needs to know (it has no DOM types). */
export interface UploadFile {
  readonly name: string;
  readonly size: number;
}

/** More of a drop than its files: what keeps empty folders from being lost. */
export interface UploadShape {
  /** Every folder of the drop as a '/'-separated relative path, empty ones included. */
  readonly folders?: readonly string[];
  /** The dropped items themselves, files and folders (Electron uploads their OS paths). */
  readonly roots?: readonly UploadFile[];
}

/** The API the renderer sees (window.ferry): the same on Electron and in a browser. */
export interface FerryApi {
  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<Result<CallResults[N]>>;
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
  /**
   * Upload files the user dropped or picked into `remoteDir`. Electron turns them into OS
   * paths; the browser streams their bytes. `relativePaths` keep a dropped folder's shape.
   */
  uploadFiles(
    files: readonly UploadFile[],
    relativePaths: readonly string[],
    remoteDir: string,
    shape?: UploadShape,
  ): Promise<Result<TransferView[]>>;
  /**
   * Drag finished downloads out to the OS (a native drag of their local files). Only where
   * the platform can: Electron drags local files that exist, so a remote file is dragged
   * out once it is downloaded; a browser cannot hand the OS a file at all (absent there).
   * Call it from a dragstart handler (and prevent the DOM drag).
   */
  readonly dragOut?: (transferIds: readonly string[]) => void;
  /**
   * Choose an SFTP private key file with the system's open dialog: its path, or null when
   * cancelled. Only where there is one (Electron); a browser page types the path instead.
   */
  readonly pickKeyFile?: () => Promise<string | null>;
  /**
   * Open another tab: a FerryApi of its own, whose session is a backend of its own (made on
   * its first call). Electron only; browser mode opens another WebSocket instead
   * (renderer/src/transport/tab-apis.ts).
   */
  readonly openTab?: () => FerryApi;
  /** End this API's session (its tab closed): the engine disposes its backend. */
  readonly close?: () => void;
  /** 'electron' or 'browser': for wording only (e.g. "Show in folder"), never behaviour. */
  readonly platform: 'electron' | 'browser';
}

export type { TransferId, ConflictDecision, Protocol };
