/**
 * Over an emulated long link (bench/link-proxy.ts): a folder of small files and a big file
 * each way, Ferry against scp, sftp and rsync, each tool through proxies of its own in
 * front of the same ferryd and sshd as the loopback rows. Every folder also moves through
 * a proxy with no delay at the same rate, in the same run: the difference, divided by the
 * round-trip time, is the number of round trips the tool waits for one after another.
 */
import { link, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PEER_LINK_FILES, emptyDir, type Bench, type Options, type RowSpec, type Task } from '../core.js';
import { FERRY, REPO, type BenchServer } from '../ferryd.js';
import { LinkProxy, linkLabel, type LinkShape } from '../link-proxy.js';
import { MB, dirBytes, fmt, runOk } from '../measure.js';
import type { SshPeer } from '../sshd.js';
import { checkFile, mbps, sizeLabel, timeoutFor } from './big-file.js';
import { FOLDER_HOW, FOLDER_TOOLS, countFiles, ferryArgs, moveFolder, type FolderTool } from './folder.js';

/** The links measured. */
export const LINKS: readonly LinkShape[] = [
  { rttMs: 40, mbit: 200 },
  { rttMs: 100, mbit: 1000 },
];

/**
 * --quick (the harness test): one short link, so that every kind of link row and target is
 * exercised in seconds (scp and sftp pay several round trips per file and per login).
 */
const QUICK_LINKS: readonly LinkShape[] = [{ rttMs: 10, mbit: 200 }];

/** Ferry's target: a folder over the link costs at most this many round trips more than without it. */
export const FERRY_LINK_ROUND_TRIPS = 6;

type Direction = 'up' | 'down';
const DIRECTIONS: readonly Direction[] = ['up', 'down'];

export function benchLinks(opts: Options): readonly LinkShape[] {
  return opts.quick ? QUICK_LINKS : LINKS;
}

export function isLinkRow(id: string): boolean {
  return id.startsWith('link-');
}

/** The link's payload rate in MB/s (10^6 bytes). */
export function linkMBps(l: LinkShape): number {
  return l.mbit / 8;
}

const key = (l: LinkShape): string => `link-${l.rttMs}ms`;
export const folderRow = (l: LinkShape, tool: FolderTool, dir: Direction): string => `${key(l)}-folder-${tool}-${dir}`;
export const flatRow = (l: LinkShape, tool: FolderTool, dir: Direction): string => `${key(l)}-flat-folder-${tool}-${dir}`;
export const roundTripsRow = (l: LinkShape, tool: FolderTool, dir: Direction): string => `${key(l)}-rtts-${tool}-${dir}`;
export const bigRow = (l: LinkShape, tool: FolderTool, dir: Direction): string => `${key(l)}-big-${tool}-${dir}`;
export const bigNetRow = (l: LinkShape, tool: FolderTool, dir: Direction): string => `${key(l)}-big-net-${tool}-${dir}`;
const connectRow = (l: LinkShape, who: 'ferry' | 'ssh'): string => `${key(l)}-connect-${who}`;

/** scp and sftp: a few round trips per file, so a folder over a link takes them minutes. */
const roundTripsPerFile = (tool: FolderTool): boolean => tool === 'scp' || tool === 'sftp';

const what = (dir: Direction): string => (dir === 'up' ? 'upload' : 'download');
const BIG_HOW: Record<FolderTool, string> = { ferry: 'Ferry (ferry put/get, TLS)', scp: 'scp', sftp: 'sftp put / get', rsync: 'rsync -a over ssh' };
const CONNECT_HOW = { ferry: '`ferry ls /` (saved login)', ssh: '`ssh … true`' };

export function linkRows(opts: Options): RowSpec[] {
  const rows: RowSpec[] = [];
  const pairs = FOLDER_TOOLS.flatMap((tool) => DIRECTIONS.map((dir) => [tool, dir] as const));
  for (const l of benchLinks(opts)) {
    const over = `over ${linkLabel(l)}`;
    const group = `${over}: folder of ${opts.linkFiles} × ${opts.smallFileBytes / 1024} KiB`;
    // scp and sftp move the first PEER_LINK_FILES: files/s, as for the others.
    const fewer = (tool: FolderTool): string => (roundTripsPerFile(tool) ? ` (its first ${Math.min(PEER_LINK_FILES, opts.linkFiles)} files)` : '');
    for (const [tool, dir] of pairs) {
      rows.push({ id: folderRow(l, tool, dir), group, label: `${FOLDER_HOW[tool]}, ${what(dir)}${fewer(tool)}`, unit: 'files/s', better: 'higher' });
    }
    for (const [tool, dir] of pairs) {
      const label = `same, without the link (0 ms, ${l.mbit} Mbit/s): ${FOLDER_HOW[tool]}, ${what(dir)}${fewer(tool)}`;
      rows.push({ id: flatRow(l, tool, dir), group, label, unit: 'files/s', better: 'higher' });
    }
    for (const [tool, dir] of pairs) {
      const label = `round trips paid: (time over the link − without) ÷ ${l.rttMs} ms, ${tool} ${what(dir)}`;
      rows.push({ id: roundTripsRow(l, tool, dir), group, label, unit: 'round trips', better: 'lower' });
    }
    const bigGroup = `${over}: ${sizeLabel(opts.linkMiB)} file (the link carries ${fmt(linkMBps(l))} MB/s)`;
    for (const [tool, dir] of pairs) {
      rows.push({ id: bigRow(l, tool, dir), group: bigGroup, label: `${BIG_HOW[tool]}, ${what(dir)}: size ÷ wall time`, unit: 'MB/s', better: 'higher' });
    }
    for (const [tool, dir] of pairs) {
      const label = `${BIG_HOW[tool]}, ${what(dir)}: excluding connection set-up`;
      rows.push({ id: bigNetRow(l, tool, dir), group: bigGroup, label, unit: 'MB/s', better: 'higher' });
    }
    for (const who of ['ferry', 'ssh'] as const) {
      const label = `cold connect over the link: ${CONNECT_HOW[who]}, a fresh process`;
      rows.push({ id: connectRow(l, who), group: bigGroup, label, unit: 'ms', better: 'lower' });
    }
  }
  return rows;
}

/** "↑ 2.31 MB ↓ 0.12 MB on the wire, 3 connections": what a run moved through its proxy. */
function wire(proxy: LinkProxy, before: { up: number; down: number; conns: number }): string {
  const conns = proxy.connections - before.conns;
  return `on the wire ↑ ${fmt((proxy.bytesUp - before.up) / MB)} MB ↓ ${fmt((proxy.bytesDown - before.down) / MB)} MB, ${conns} connection${conns === 1 ? '' : 's'}`;
}

const snapshot = (p: LinkProxy): { up: number; down: number; conns: number } => ({ up: p.bytesUp, down: p.bytesDown, conns: p.connections });

/** What the link tasks share: the proxies (one per link, tool and delay), the link data on the ferryd, the cold connects of a run. */
class LinkRig {
  private readonly proxies = new Map<string, Promise<LinkProxy>>();
  private ferryData: Promise<void> | undefined;
  private readonly connects = new Map<string, Promise<number>>();

  constructor(private readonly b: Bench) {}

  /** The Ferry server with the link data under /link (hard links, no copies). */
  async ferry(): Promise<BenchServer> {
    const server = await this.b.tls();
    this.ferryData ??= (async () => {
      const data = await this.b.linkData();
      const dir = path.join(server.home, 'link');
      await mkdir(path.join(dir, 'small'), { recursive: true });
      await link(data.big, path.join(dir, path.basename(data.big)));
      for (let i = 0; i < data.smallCount; i++) {
        const name = `f${String(i).padStart(5, '0')}.bin`;
        await link(path.join(data.small, name), path.join(dir, 'small', name));
      }
    })();
    await this.ferryData;
    return server;
  }

  /** A cold connect's time (ms), measured once per `id` (link, tool and run). */
  connect(id: string, measure: () => Promise<number>): Promise<number> {
    let made = this.connects.get(id);
    if (!made) this.connects.set(id, (made = measure()));
    return made;
  }

  /** What the tool talks to (the ferryd, or the sshd peer), or why its rows are skipped. */
  async endpoint(tool: FolderTool): Promise<{ server?: BenchServer; peer?: SshPeer } | string> {
    if (tool === 'ferry') return { server: await this.ferry() };
    const ssh = await this.b.ssh();
    if (typeof ssh === 'string') return ssh;
    if (tool === 'rsync' && !ssh.tools.rsync) return 'rsync is not installed';
    return { peer: ssh };
  }

  /**
   * The tool's own proxy over link `l` (flat: the same rate, no delay). Ferry logs in once
   * through each new proxy, untimed: the CLI records the key it sees on that port and saves
   * the login, so that every timed run uses a saved login as the loopback rows do.
   */
  proxy(l: LinkShape, tool: FolderTool, flat: boolean, target: BenchServer | SshPeer): Promise<LinkProxy> {
    const id = `${key(l)}/${tool}/${flat ? 'flat' : 'link'}`;
    let made = this.proxies.get(id);
    if (!made) {
      made = (async () => {
        const proxy = await LinkProxy.start(target.port, flat ? { rttMs: 0, mbit: l.mbit } : l);
        this.b.onCleanup(() => proxy.close());
        if (tool === 'ferry') {
          const server = target as BenchServer;
          await runOk(process.execPath, [FERRY, ...ferryArgs(server, proxy.port), 'login'], { env: server.cliEnv, cwd: REPO, timeoutMs: 60_000 });
        }
        return proxy;
      })();
      this.proxies.set(id, made);
    }
    return made;
  }
}

function folderTask(b: Bench, rig: LinkRig, l: LinkShape, tool: FolderTool, dir: Direction): Task {
  const rows = { link: folderRow(l, tool, dir), flat: flatRow(l, tool, dir), trips: roundTripsRow(l, tool, dir) };
  let server: BenchServer | undefined;
  let peer: SshPeer | undefined;
  let local: string;
  let proxies: { link: LinkProxy; flat: LinkProxy };
  return {
    rows: Object.values(rows),
    async prepare() {
      const end = await rig.endpoint(tool);
      if (typeof end === 'string') return end;
      ({ server, peer } = end);
      proxies = { link: await rig.proxy(l, tool, false, (server ?? peer)!), flat: await rig.proxy(l, tool, true, (server ?? peer)!) };
      local = await b.scratch(rows.link);
      return undefined;
    },
    async run(run, rec) {
      // scp and sftp wait for round trips on every file: minutes per run over a long link,
      // and files/s that hardly varies. They move fewer files, in the first run only.
      if (run > 1 && roundTripsPerFile(tool)) return;
      const all = await b.linkData();
      const data = roundTripsPerFile(tool) ? { small: all.few, smallCount: all.fewCount } : all;
      // Uploads land in <server side>/small, downloads in <local>/small.
      const arrived = dir === 'up' && server ? path.join(server.home, 'small') : path.join(local, 'small');
      const ms = { link: 0, flat: 0 };
      // Without the link first, then over it: side by side, in the same run.
      for (const over of ['flat', 'link'] as const) {
        await emptyDir(local);
        if (server) await emptyDir(path.join(server.home, 'small'));
        await b.sync();
        await b.warm(data.small);
        const proxy = proxies[over];
        const before = snapshot(proxy);
        // scp and sftp wait for a few round trips per file: give them time over a long link.
        const timeoutMs = 120_000 + data.smallCount * 20 * l.rttMs;
        ms[over] = await moveFolder(
          {
            tool,
            direction: dir,
            server,
            peer,
            port: proxy.port,
            source: data.small,
            ferrySource: '/link/small',
            arrived,
            batch: path.join(b.dir, `${rows[over]}.batch`),
            count: data.smallCount,
          },
          timeoutMs,
        );
        const count = await countFiles(arrived);
        if (count !== data.smallCount) throw new Error(`${rows[over]}: ${count} files arrived, expected ${data.smallCount}`);
        rec.record(rows[over], data.smallCount / (ms[over] / 1000), { ms: ms[over], note: wire(proxy, before) });
      }
      const note = `${fmt(ms.link / 1000)} s over the link − ${fmt(ms.flat / 1000)} s without`;
      rec.record(rows.trips, (ms.link - ms.flat) / l.rttMs, { note });
      await emptyDir(local);
      if (server) await emptyDir(path.join(server.home, 'small'));
    },
  };
}

function bigTask(b: Bench, rig: LinkRig, l: LinkShape, tool: FolderTool, dir: Direction): Task {
  const rows = { raw: bigRow(l, tool, dir), net: bigNetRow(l, tool, dir), connect: connectRow(l, tool === 'ferry' ? 'ferry' : 'ssh') };
  let server: BenchServer | undefined;
  let peer: SshPeer | undefined;
  let local: string;
  let proxy: LinkProxy;
  return {
    rows: Object.values(rows),
    async prepare() {
      const end = await rig.endpoint(tool);
      if (typeof end === 'string') return end;
      ({ server, peer } = end);
      proxy = await rig.proxy(l, tool, false, (server ?? peer)!);
      local = await b.scratch(rows.raw);
      return undefined;
    },
    async run(run, rec) {
      const data = await b.linkData();
      const name = path.basename(data.big);
      const upDir = server ? path.join(server.home, 'up') : local;
      const dest = dir === 'up' ? path.join(upDir, name) : path.join(local, name);
      // The tool's own cold connect over the same link, in this run (once for both directions).
      const connectMs = await rig.connect(`${rows.connect}/${tool}/${run}`, async () =>
        server
          ? (await runOk(process.execPath, [FERRY, ...ferryArgs(server, proxy.port), 'ls', '/'], { env: server.cliEnv, cwd: REPO, timeoutMs: 60_000 })).ms
          : (await runOk(peer!.tools.ssh, [...peer!.sshArgs([], proxy.port), 'true'], { timeoutMs: 60_000 })).ms,
      );
      rec.record(rows.connect, connectMs);
      await emptyDir(upDir);
      await emptyDir(local);
      await b.sync();
      await b.warm(data.big);
      const timeoutMs = timeoutFor(data.bigSize);
      const progress =
        dir === 'up' && server ? async () => (await dirBytes(server!.partials)) + (await dirBytes(upDir)) : () => dirBytes(local);
      let ms: number;
      if (server) {
        const args = dir === 'up' ? ['put', data.big, '/up'] : ['get', `/link/${name}`, local];
        ms = (await runOk(process.execPath, [FERRY, ...ferryArgs(server, proxy.port), ...args], { env: server.cliEnv, cwd: REPO, timeoutMs, progress })).ms;
      } else {
        const p = peer!;
        const [from, to] = dir === 'up' ? [data.big, `127.0.0.1:${dest}`] : [`127.0.0.1:${data.big}`, dest];
        if (tool === 'scp') {
          ms = (await runOk(p.tools.scp, [...p.scpArgs(undefined, proxy.port), from, to], { timeoutMs, progress })).ms;
        } else if (tool === 'sftp') {
          const batch = path.join(b.dir, `${rows.raw}.batch`);
          await writeFile(batch, dir === 'up' ? `put ${data.big} ${dest}\n` : `get ${data.big} ${dest}\n`);
          ms = (await runOk(p.tools.sftp, p.sftpArgs(batch, undefined, proxy.port), { timeoutMs, progress })).ms;
        } else {
          ms = (await runOk(p.tools.rsync!, ['-a', '-e', p.rsyncShell(proxy.port), from, to], { timeoutMs, progress })).ms;
        }
      }
      await checkFile(dest, data.bigSize, run === 1 ? data.bigSha : null, rows.raw);
      rec.record(rows.raw, mbps(data.bigSize, ms), { ms, note: `${fmt(mbps(data.bigSize, ms) / linkMBps(l))}× the link` });
      // Two wall times of fresh processes: on a small file the difference is mostly noise.
      const netMs = Math.max(1, ms - connectMs);
      const net = mbps(data.bigSize, netMs);
      const how = server ? CONNECT_HOW.ferry : CONNECT_HOW.ssh;
      const tooSmall = netMs < ms / 10 ? '; too small a file to tell: set-up was most of the time' : '';
      rec.record(rows.net, net, {
        ms: netMs,
        note: `${fmt(net / linkMBps(l))}× the link; wall time minus ${how} through the same proxy in this run (${fmt(connectMs)} ms)${tooSmall}`,
      });
      await emptyDir(upDir);
      await emptyDir(local);
    },
  };
}

export function linkTasks(b: Bench): Task[] {
  const rig = new LinkRig(b);
  return benchLinks(b.opts).flatMap((l) => [
    ...FOLDER_TOOLS.flatMap((tool) => DIRECTIONS.map((dir) => folderTask(b, rig, l, tool, dir))),
    ...FOLDER_TOOLS.flatMap((tool) => DIRECTIONS.map((dir) => bigTask(b, rig, l, tool, dir))),
  ]);
}
