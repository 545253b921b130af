/**
 * The bench's shared pieces: options, rows, tasks, and the context that holds what the
 * rows share (test data, the ferryd servers, the sshd peer, Ferry's SFTP set-up for that
 * sshd), each made once on first use so that `--only` starts only what the selected rows need.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setUpFerrySftp, type FerrySftp } from './ferry-sftp.js';
import { startFerryd, type BenchServer } from './ferryd.js';
import { MiB, runTimed } from './measure.js';
import { ensureSshTools, startSshd, type SshPeer } from './sshd.js';

export interface Options {
  /** The big file, in MiB (default 1024). */
  readonly sizeMiB: number;
  /** The small-file folder's file count (default 2000). */
  readonly files: number;
  readonly runs: number;
  readonly quick: boolean;
  readonly out: string;
  readonly only: RegExp | null;
  /** Allow apt-get install of the ssh peers (default on; --no-install turns it off). */
  readonly install: boolean;
  /** Measure the ssh peers at all (--no-peers skips their rows, saying so). */
  readonly peers: boolean;
  /** Also write the results as JSON here. */
  readonly json: string | null;
  /** What code was measured, for the report (default: from git). */
  readonly label: string | null;
  /** Per-row repetition counts (smaller with --quick). */
  readonly execCount: number;
  readonly coldCount: number;
  readonly clients: number;
  readonly smallFileBytes: number;
  /** The link rows' folder: this many small files (default 500). */
  readonly linkFiles: number;
  /** The link rows' big file, in MiB (default 256). */
  readonly linkMiB: number;
}

export type Unit = 'MB/s' | 'files/s' | 'ms' | 'MB' | 'ok' | 's' | 'round trips';

export interface RowSpec {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly unit: Unit;
  readonly better: 'higher' | 'lower';
  /** Several values recorded for the row in one run (e.g. peak RSS of four transfers): keep the max. */
  readonly perRun?: 'max' | 'last';
  /** Derived from other rows when the report is made, not measured. */
  readonly derived?: boolean;
}

export interface Recorder {
  /**
   * One run's value for a row; `ms` is the wall time behind it, `note` shows beside it,
   * `cpu` is the CPU seconds both ends spent on it (user + system, every thread).
   */
  record(row: string, value: number, extra?: { ms?: number; note?: string; cpu?: number }): void;
}

export interface Task {
  /** The rows this task measures (they run when --only matches any of them). */
  readonly rows: readonly string[];
  /** Once, before the first run: a string is a reason to skip every row of the task. */
  prepare?(): Promise<string | undefined>;
  run(run: number, rec: Recorder): Promise<void>;
}

export interface TestData {
  readonly big: string;
  readonly bigSize: number;
  readonly bigSha: string;
  readonly mid: string;
  readonly midSize: number;
  readonly midSha: string;
  /** A folder of `files` small files. */
  readonly small: string;
  readonly smallCount: number;
}

/** The link rows' own test data (their sizes differ from the loopback rows'). */
export interface LinkData {
  readonly big: string;
  readonly bigSize: number;
  readonly bigSha: string;
  /** A folder named `small` of `linkFiles` small files. */
  readonly small: string;
  readonly smallCount: number;
  /**
   * The first PEER_LINK_FILES of them (hard links), in a folder also named `small`: what
   * scp and sftp move over a link, where each file costs them round trips.
   */
  readonly few: string;
  readonly fewCount: number;
}

/** Files scp and sftp move over an emulated link (a few round trips each: minutes for hundreds). */
export const PEER_LINK_FILES = 100;

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= make());
}

/** Write `size` random bytes to `file` (8 MiB at a time), hashing them on the way. */
async function randomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    const buf = Buffer.allocUnsafe(Math.min(size, 8 * MiB) || 1);
    for (let done = 0; done < size; ) {
      const n = Math.min(buf.length, size - done);
      randomFillSync(buf, 0, n);
      hash.update(buf.subarray(0, n));
      await handle.write(buf, 0, n);
      done += n;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** `count` files of `bytes` random bytes each (f00000.bin, …) in a new folder. */
async function smallFiles(dir: string, count: number, bytes: number): Promise<void> {
  await mkdir(dir);
  const buf = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < count; i++) {
    randomFillSync(buf);
    const handle = await open(path.join(dir, `f${String(i).padStart(5, '0')}.bin`), 'w');
    await handle.write(buf);
    await handle.close();
  }
}

export class Bench {
  readonly started = Date.now();
  private readonly cleanups: Array<() => Promise<void>> = [];
  private scratchCount = 0;
  /** Informational lines collected for the report (versions, cipher names, …). */
  readonly facts: string[] = [];

  /** 1-minute load average at the start and the highest seen during the run. */
  readonly load = { start: 0, max: 0 };
  private loadTimer: NodeJS.Timeout | undefined;

  /** Sample the load average: other work on the machine skews every row, so say so. */
  watchLoad(): void {
    const read = (): number => {
      try {
        return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
      } catch {
        return NaN;
      }
    };
    this.load.start = read();
    this.load.max = this.load.start;
    this.loadTimer = setInterval(() => (this.load.max = Math.max(this.load.max, read())), 5000);
    this.loadTimer.unref();
    this.onCleanup(async () => clearInterval(this.loadTimer));
  }

  constructor(
    readonly opts: Options,
    /** Temp root under os.tmpdir(), removed at the end. */
    readonly dir: string,
    /** Absolute time (ms) when every server we start stops by itself. */
    readonly deadline: number,
    readonly log: (line: string) => void,
  ) {}

  onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn().catch((err: Error) => this.log(`cleanup: ${err.message}`));
  }

  /** A fresh, empty folder under the temp root. */
  async scratch(name: string): Promise<string> {
    const dir = path.join(this.dir, `${name}-${++this.scratchCount}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Flush dirty pages so one run's writes are not paid for by the next run. Untimed. */
  async sync(): Promise<void> {
    await runTimed('sync', [], { timeoutMs: 120_000 }).catch(() => undefined);
  }

  /**
   * Read a file (or every file of a folder) so that it is in the page cache: untimed, before
   * each transfer, so that every row reads its source from memory. On the VMs measured here
   * the page cache does not keep a file long (a cached 1 GiB file was gone within a minute
   * of idleness), and a source read from the disk made a row's runs swing by 2×.
   */
  async warm(target: string): Promise<void> {
    const info = await stat(target);
    if (info.isDirectory()) {
      for (const name of await readdir(target)) await this.warm(path.join(target, name));
      return;
    }
    if (!info.isFile()) return;
    const handle = await open(target, 'r');
    try {
      const buf = Buffer.allocUnsafe(Math.min(info.size, 4 * MiB) || 1);
      while ((await handle.read(buf, 0, buf.length, null)).bytesRead > 0);
    } finally {
      await handle.close();
    }
  }

  readonly data = once(async (): Promise<TestData> => {
    const dataDir = path.join(this.dir, 'data');
    await mkdir(dataDir, { recursive: true });
    const bigSize = this.opts.sizeMiB * MiB;
    // The mid-size file (256 MiB by default) tells whether memory grows with file size.
    const midSize = Math.max(1, Math.round(this.opts.sizeMiB / 4)) * MiB;
    this.log(`data: writing ${this.opts.sizeMiB} MiB + ${midSize / MiB} MiB of random bytes and ${this.opts.files} small files`);
    const big = path.join(dataDir, 'big.bin');
    const mid = path.join(dataDir, 'mid.bin');
    const bigSha = await randomFile(big, bigSize);
    const midSha = await randomFile(mid, midSize);
    const small = path.join(dataDir, 'small');
    await smallFiles(small, this.opts.files, this.opts.smallFileBytes);
    await this.sync();
    return { big, bigSize, bigSha, mid, midSize, midSha, small, smallCount: this.opts.files };
  });

  readonly linkData = once(async (): Promise<LinkData> => {
    const dir = path.join(this.dir, 'link-data');
    await mkdir(dir, { recursive: true });
    this.log(`link data: writing ${this.opts.linkMiB} MiB of random bytes and ${this.opts.linkFiles} small files`);
    const big = path.join(dir, 'link.bin');
    const bigSize = this.opts.linkMiB * MiB;
    const bigSha = await randomFile(big, bigSize);
    const small = path.join(dir, 'small');
    await smallFiles(small, this.opts.linkFiles, this.opts.smallFileBytes);
    const fewCount = Math.min(PEER_LINK_FILES, this.opts.linkFiles);
    const few = path.join(dir, 'few', 'small');
    await mkdir(few, { recursive: true });
    for (let i = 0; i < fewCount; i++) {
      const name = `f${String(i).padStart(5, '0')}.bin`;
      await link(path.join(small, name), path.join(few, name));
    }
    await this.sync();
    return { big, bigSize, bigSha, small, smallCount: this.opts.linkFiles, few, fewCount };
  });

  /**
   * A ferryd of its own (a fresh auth throttle, no shared state): stop it when done; it
   * is also stopped at cleanup, and by its watchdog.
   */
  async ownServer(name: string, plain = false): Promise<BenchServer> {
    const server = await startFerryd({ dir: await this.scratch(name), plain, deadline: this.deadline });
    this.onCleanup(() => server.stop());
    return server;
  }

  private async server(plain: boolean): Promise<BenchServer> {
    const server = await this.ownServer(plain ? 'ferryd-plain' : 'ferryd-tls', plain);
    // Downloads read the test data where the server can see it: hard links, no copies.
    const data = await this.data();
    const src = path.join(server.home, 'src');
    await mkdir(path.join(src, 'small'), { recursive: true });
    await link(data.big, path.join(src, path.basename(data.big)));
    await link(data.mid, path.join(src, path.basename(data.mid)));
    for (let i = 0; i < data.smallCount; i++) {
      const name = `f${String(i).padStart(5, '0')}.bin`;
      await link(path.join(data.small, name), path.join(src, 'small', name));
    }
    this.log(`ferryd${plain ? ' --plain' : ''} pid ${server.pid} on 127.0.0.1:${server.port}`);
    return server;
  }

  readonly tls = once(() => this.server(false));
  readonly plain = once(() => this.server(true));

  /** The sshd peer, or why its rows are skipped. */
  readonly ssh = once(async (): Promise<SshPeer | string> => {
    if (!this.opts.peers) return 'peers turned off (--no-peers)';
    const tools = await ensureSshTools(this.opts.install, this.log);
    if (typeof tools === 'string') return tools;
    try {
      const peer = await startSshd(tools, path.join(this.dir, 'sshd'), this.deadline);
      this.onCleanup(() => peer.stop());
      this.facts.push(`Peers: ${tools.version}; sshd on 127.0.0.1:${peer.port}; default cipher ${peer.defaultCipher}`);
      this.log(`sshd on 127.0.0.1:${peer.port} (${tools.version}, default cipher ${peer.defaultCipher})`);
      return peer;
    } catch (err) {
      return `sshd could not be started: ${(err as Error).message}`;
    }
  });

  /** Ferry over SFTP to the sshd peer (its cipher, and each key's check), or why its rows are skipped. */
  readonly sftp = once(async (): Promise<FerrySftp | string> => {
    const peer = await this.ssh();
    if (typeof peer === 'string') return peer;
    const sftp = await setUpFerrySftp(peer, path.join(this.dir, 'ferry-sftp'));
    this.facts.push(
      `Over SFTP: ssh2 (Ferry's SSH client, its default algorithms) negotiates ${sftp.cipher} with this sshd, and OpenSSH's sftp is run with \`-c ${sftp.cipher}\`; ` +
        `Ferry's check: ${sftp.checks.full} with the account's key, ${sftp.checks['sftp-only']} with its SFTP-only key`,
    );
    this.log(`over SFTP: ssh2 negotiates ${sftp.cipher}; checks: ${sftp.checks.full} (full key), ${sftp.checks['sftp-only']} (SFTP-only key)`);
    return sftp;
  });
}

/** Remove everything inside a folder, keeping the folder. Untimed housekeeping. */
export async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
