/**
 * What every window and tab of one app shares: the stores kept in the config folder
 * (saved connections, settings, known hosts, console history). A host that serves several
 * front ends (the desktop app's windows and tabs, the web host's pages) makes one of these
 * and passes it to each backend, so two tabs never hold two copies of one file that
 * overwrite each other. App-wide services (speed limits, the saved queue, the transfer
 * history) belong here too.
 */
import path from 'node:path';
import { TransferHistory } from '../history/transfer-history.js';
import { RateLimits } from '../queue/rate-limit.js';
import { ConsoleHistory } from './console/console-history.js';
import { SavedQueues } from './saved-queue/saved-queues.js';
import { KnownHosts } from './stores/known-hosts.js';
import { ProfileStore } from './stores/profile-store.js';
import { SettingsStore, defaultDownloadDir } from './stores/settings-store.js';

export interface AppStoresOptions {
  readonly configDir: string;
  /** The download folder until the user picks one (default ~/Downloads/Ferry). */
  readonly downloadDir?: string;
  readonly log?: (line: string) => void;
}

export interface AppStores {
  readonly profiles: ProfileStore;
  readonly settings: SettingsStore;
  readonly knownHosts: KnownHosts;
  /** The console's command history, per connection. */
  readonly history: ConsoleHistory;
  /** Unfinished transfers of each connection, offered again after a restart. */
  readonly savedQueues: SavedQueues;
  /** Finished transfers (the History dialog, `ferry history`). */
  readonly transferLog: TransferHistory;
  /** The speed limits every transfer of the app shares (from settings; 'settings:set' changes them). */
  readonly rateLimits: RateLimits;
}

export function createAppStores(options: AppStoresOptions): AppStores {
  const log = options.log ?? (() => undefined);
  const settings = new SettingsStore(options.configDir, options.downloadDir ?? defaultDownloadDir(), log);
  const rateLimits = new RateLimits();
  // The limits saved last time hold from the start.
  void settings.get().then(
    (saved) => rateLimits.setSaved(saved),
    () => undefined,
  );
  return {
    profiles: new ProfileStore(options.configDir, log),
    settings,
    knownHosts: new KnownHosts(path.join(options.configDir, 'known_hosts')),
    history: new ConsoleHistory(options.configDir, log),
    savedQueues: new SavedQueues(options.configDir, log),
    transferLog: new TransferHistory(options.configDir, { log }),
    rateLimits,
  };
}
