/**
 * The shapes every part of the backend shares: its options, the interface a front end's
 * host (IPC, the web host, tests) sees, and the function the parts emit events through.
 */
import type { EventName, Events, Result } from '../../shared/common/contract.js';
import type { EditView } from '../../shared/common/edit-model.js';
import type { TransferView } from '../../shared/common/transfer-model.js';
import type { AppStores } from './app-stores.js';
import type { OpenFile } from './edit/edit-desk.js';
import type { LocalServerHandle } from './local-server/local-server.js';
import type { SecretStore } from './stores/profile-store.js';

export interface BackendOptions {
  /** Profiles, settings, history and known_hosts live here. */
  readonly configDir: string;
  /**
   * The stores every window or tab of the app shares (app-stores.ts); without them this
   * backend makes its own from configDir (one front end per process: tests, the CLI).
   */
  readonly app?: AppStores;
  /** Encrypts remembered logins; without one (or when not available) nothing is remembered. */
  readonly secretStore?: SecretStore;
  /** The download folder until the user picks one (default ~/Downloads/Ferry). */
  readonly downloadDir?: string;
  readonly log?: (line: string) => void;
  /** Waits before reconnect attempts, in ms; the last one repeats (default 0.5 s, 1 s, 2 s, 4 s, 8 s, 15 s). */
  readonly reconnectDelaysMs?: readonly number[];
  /** Attempts before giving up after a dropped connection (default 20). */
  readonly reconnectAttempts?: number;
  /** How long 'fs:changed' waits to collect more folders changed by transfers (default 300 ms). */
  readonly fsChangedDelayMs?: number;
  /** Passed to the transfer queue (default 100 ms). */
  readonly progressIntervalMs?: number;
  readonly connectTimeoutMs?: number;
  /** Where SFTP connections find the person's OpenSSH setup (tests point it at a throwaway folder). */
  readonly ssh?: SshSetup;
  /**
   * The app's own ferryd (local-server.ts), shared by every window or tab: listed first as
   * the built-in "Local server" profile; connecting to it starts it if needed and logs in
   * with its stored keys, trusting the key the server reported (no prompt).
   */
  readonly localServer?: LocalServerHandle;
  /**
   * Edit in place: opens a working copy in an app of the system's (the desktop app passes
   * Electron's shell.openPath here). Without it, files open in the built-in editor only.
   */
  readonly openFile?: OpenFile;
  /** The private working folder of edited files (default CONFIG_DIR/edits). */
  readonly editDir?: string;
  /**
   * Browser mode: the folder the local pane starts in and shows as its top (the web host's
   * download folder; the page policy refuses local paths outside it). Absent: the user's home.
   */
  readonly localRoot?: string;
  /** How long an edited file must be left alone before it is saved (default 300 ms). */
  readonly editDebounceMs?: number;
}

/** The OpenSSH client files and agent an SFTP connection uses; each default is the OS user's. */
export interface SshSetup {
  /** The home whose .ssh folder holds config, known_hosts and the default keys (and what `~/` means). */
  readonly home?: string;
  /** The ssh-agent socket that "use ssh-agent" means (default: SSH_AUTH_SOCK). */
  readonly agentSocket?: string;
}

/** Receives every event of the contract, in order. */
export type BackendListener = <E extends EventName>(event: E, payload: Events[E]) => void;

/** How the backend's parts send an event to the front end. */
export type Emit = <E extends EventName>(event: E, payload: Events[E]) => void;

export interface Backend {
  /** One contract call: `args` is the argument array (validated here). Never throws. */
  call(name: string, args: unknown): Promise<Result<unknown>>;
  on(listener: BackendListener): () => void;
  /**
   * Upload local files or folders the caller owns (the web host's spooled browser drops)
   * into `remoteDir`. `release` is called once none of these transfers can need the
   * local files any more (all done or skipped, or removed from the list; a failed or
   * cancelled one keeps them for a retry), when the upload is refused, when the session
   * ends, and on dispose.
   */
  uploadSpooled(localPaths: readonly string[], remoteDir: string, release: () => Promise<void>): Promise<Result<TransferView[]>>;
  /**
   * Local files of finished downloads among `transferIds`, for a native drag out of the
   * window: only files this backend downloaded and that are still there, never any other
   * path (the ids come from the untrusted renderer).
   */
  downloadedFiles(transferIds: readonly string[]): Promise<string[]>;
  /** Edited files with a save not on the server yet: quitting asks first when there are any. */
  unsavedEdits(): EditView[];
  /** Disconnect, cancel everything, release spooled files. */
  dispose(): Promise<void>;
}
