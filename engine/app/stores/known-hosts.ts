/**
 * Pinned server keys, like SSH's known_hosts: the first connection to a server records
 * its key fingerprint, and any later change is refused, because it is what a man in the
 * middle looks like. One `HOST:PORT SHA256:xxxx` per line; '#' starts a comment.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { FerryError } from '../../../shared/common/errors.js';
import { writeFileAtomic } from '../../../shared/node/atomic-file.js';

export interface KnownHostsOptions {
  readonly file: string;
}

export type HostKeyCheck =
  | { readonly kind: 'known' }
  | { readonly kind: 'new' }
  | { readonly kind: 'changed'; readonly expected: string };

/** SHA-256 is 32 bytes: 43 base64 characters without padding. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

interface Line {
  readonly raw: string;
  /** Normalised host key and fingerprint, for entry lines; undefined for comments and blanks. */
  readonly entry: { readonly host: string; readonly fingerprint: string } | undefined;
}

export class KnownHosts {
  private readonly file: string;
  /** Writes within this process run one at a time, so two trusts cannot lose each other. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  async check(hostPort: string, fingerprint: string): Promise<HostKeyCheck> {
    const host = normalizeHost(hostPort);
    const entries = (await this.read()).flatMap((line) => (line.entry?.host === host ? [line.entry] : []));
    if (entries.length === 0) return { kind: 'new' };
    if (entries.some((entry) => entry.fingerprint === fingerprint)) return { kind: 'known' };
    return { kind: 'changed', expected: entries[entries.length - 1]!.fingerprint };
  }

  /** Record `fingerprint` for `hostPort`, replacing any earlier one. Comments are kept. */
  async trust(hostPort: string, fingerprint: string): Promise<void> {
    const host = normalizeHost(hostPort);
    if (!FINGERPRINT.test(fingerprint)) {
      throw new FerryError('EINVAL', `"${fingerprint}" is not a key fingerprint (expected SHA256: and 43 base64 characters).`);
    }
    await this.serialize(async () => {
      const kept = (await this.read()).filter((line) => line.entry?.host !== host).map((line) => line.raw);
      await this.write([...kept, `${host} ${fingerprint}`]);
    });
  }

  /** Drop every entry for `hostPort`; false when there was none. */
  async forget(hostPort: string): Promise<boolean> {
    const host = normalizeHost(hostPort);
    return this.serialize(async () => {
      const lines = await this.read();
      const kept = lines.filter((line) => line.entry?.host !== host);
      if (kept.length === lines.length) return false;
      await this.write(kept.map((line) => line.raw));
      return true;
    });
  }

  async list(): Promise<ReadonlyArray<{ host: string; fingerprint: string }>> {
    return (await this.read()).flatMap((line) => (line.entry ? [{ ...line.entry }] : []));
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.writing.then(task, task);
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async read(): Promise<Line[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FerryError('EIO', `Cannot read the known hosts file ${this.file} (${(err as Error).message}).`);
    }
    const raws = text.split(/\r?\n/);
    if (raws[raws.length - 1] === '') raws.pop(); // the final newline ends a line, it does not start one
    return raws.map((raw) => {
      const content = raw.replace(/#.*/, '').trim();
      const [host, fingerprint, ...rest] = content.split(/\s+/);
      // Lines this version does not understand are kept as they are, but never matched.
      const valid = host !== undefined && host !== '' && fingerprint !== undefined && rest.length === 0 && FINGERPRINT.test(fingerprint);
      return { raw, entry: valid ? { host: host.toLowerCase(), fingerprint } : undefined };
    });
  }

  private async write(lines: readonly string[]): Promise<void> {
    const text = lines.length === 0 ? '' : lines.join('\n') + '\n';
    try {
      await writeFileAtomic(this.file, text, { createDir: true });
    } catch (err) {
      throw new FerryError('EIO', `Cannot write the known hosts file ${this.file} (${(err as Error).message}).`);
    }
  }
}

/**
 * The error for a server whose key differs from the pinned one. It must stop the
 * connection: the person decides whether the change is legitimate, not the program.
 */
export function hostKeyChangedError(hostPort: string, expected: string, actual: string): FerryError {
  return new FerryError(
    'EHOSTKEY',
    `The key of ${hostPort} has changed: it was ${expected} and is now ${actual}. ` +
      'Someone may be intercepting the connection (a man-in-the-middle attack), so Ferry did not connect. ' +
      `If the server's key was really changed (ask its administrator), run \`ferry known-hosts forget ${hostPort}\` and connect again.`,
    { host: hostPort, expected, actual },
  );
}

/** Where Ferry keeps its settings and known hosts, following each platform's convention. */
export function defaultConfigDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (env['FERRY_CONFIG_DIR']) return env['FERRY_CONFIG_DIR'];
  if (platform === 'win32') {
    return path.win32.join(env['APPDATA'] || path.win32.join(home, 'AppData', 'Roaming'), 'Ferry');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Ferry');
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env['XDG_CONFIG_HOME'];
  return path.posix.join(xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.config'), 'ferry');
}

/** 'Files.Example.COM:7022' and 'files.example.com:7022' are the same host. */
function normalizeHost(hostPort: string): string {
  const host = hostPort.trim().toLowerCase();
  if (host === '' || /[\s#]/.test(host)) {
    throw new FerryError('EINVAL', `"${hostPort}" is not a HOST:PORT (it must be non-empty, without spaces or '#').`);
  }
  return host;
}
