/**
 * Ferry over SFTP against OpenSSH's sftp: the same throwaway sshd, the same cipher (the one
 * ssh2 negotiates; sftp is told `-c` it), the same run. The big file and the small-file
 * folder each way, Ferry through `ferry --protocol sftp` (process start and SSH login
 * included, as for sftp), with its default check (the server's SHA-256) and with the size
 * check an SFTP-only key gets; and what a fresh process costs before any transfer.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { emptyDir, type Bench, type Options, type RowSpec, type Task } from '../core.js';
import type { FerrySftp, SftpKey } from '../ferry-sftp.js';
import { FERRY, REPO } from '../ferryd.js';
import { ServerCpu, dirBytes, dirCount, fmt, median, now, percentile, runOk, type ProcResult } from '../measure.js';
import { checkFile, cpuOf, mbps, sizeLabel, timeoutFor } from './big-file.js';

/** Who moves the bytes: Ferry with the account's key (SHA-256), Ferry with the SFTP-only key (size), OpenSSH's sftp. */
type Who = 'ferry' | 'ferry-size' | 'openssh';
const WHO: readonly Who[] = ['ferry', 'openssh', 'ferry-size'];
const KEY: Record<Exclude<Who, 'openssh'>, SftpKey> = { ferry: 'full', 'ferry-size': 'sftp-only' };
type Direction = 'up' | 'down';
const DIRECTIONS: readonly Direction[] = ['up', 'down'];

function what(direction: Direction): string {
  return direction === 'up' ? 'upload' : 'download';
}

function label(who: Who, direction: Direction, folder: boolean): string {
  const verb = direction === 'up' ? 'put' : 'get';
  if (who === 'openssh') return `OpenSSH sftp ${what(direction)} (batch \`${verb}${folder ? ' -r' : ''}\`, \`-c\` the cipher ssh2 negotiates)`;
  if (who === 'ferry') return `Ferry over SFTP ${what(direction)}, server SHA-256 check: the default (ferry --protocol sftp ${verb})`;
  return `Ferry over SFTP ${what(direction)}, size check only (SFTP-only key: no sha256sum)`;
}

function sftpRowId(who: Who, direction: Direction, folder = false): string {
  return `sftp-${folder ? 'folder-' : ''}${who}-${direction}`;
}

export function sftpRows(opts: Options): RowSpec[] {
  const big = sizeLabel(opts.sizeMiB);
  const bigGroup = `over SFTP: ${big} file, Ferry vs OpenSSH sftp (same sshd, same cipher)`;
  const cpuGroup = `CPU time of the ${big} SFTP transfers (user + system, both ends)`;
  const folderGroup = `over SFTP: folder of ${opts.files} × ${opts.smallFileBytes / 1024} KiB, Ferry vs OpenSSH sftp`;
  const startGroup = 'over SFTP: a fresh process, before any transfer';
  const rows: RowSpec[] = [];
  for (const direction of DIRECTIONS) {
    for (const who of WHO) rows.push({ id: sftpRowId(who, direction), group: bigGroup, label: label(who, direction, false), unit: 'MB/s', better: 'higher' });
  }
  for (const direction of DIRECTIONS) {
    for (const who of WHO) {
      const ends = who === 'openssh' ? 'sftp + ssh + sshd' : 'ferry + sshd';
      const check = who === 'ferry' ? ', SHA-256' : who === 'ferry-size' ? ', size check' : '';
      rows.push({
        id: `cpu-${sftpRowId(who, direction)}`,
        group: cpuGroup,
        label: `${who === 'openssh' ? 'OpenSSH sftp' : 'Ferry over SFTP'}${check} ${what(direction)}: ${ends}`,
        unit: 's',
        better: 'lower',
        derived: true,
      });
    }
  }
  for (const direction of DIRECTIONS) {
    for (const who of WHO) rows.push({ id: sftpRowId(who, direction, true), group: folderGroup, label: label(who, direction, true), unit: 'files/s', better: 'higher' });
  }
  rows.push(
    { id: 'sftp-cold-ferry', group: startGroup, label: 'fresh `ferry --protocol sftp ls` process: start + SSH login + SFTP + hash probe + list', unit: 'ms', better: 'lower' },
    { id: 'sftp-cold-openssh', group: startGroup, label: 'fresh `sftp -b` process: start + SSH login + SFTP + `ls`', unit: 'ms', better: 'lower' },
  );
  return rows;
}

async function ready(b: Bench): Promise<FerrySftp> {
  const sftp = await b.sftp();
  if (typeof sftp === 'string') throw new Error(sftp);
  return sftp;
}

interface Move {
  readonly command: 'put' | 'get';
  readonly from: string;
  /** Ferry: the folder to put it in; sftp: the new name (file or folder). */
  readonly to: string;
  readonly recursive: boolean;
  /** sftp's command file. */
  readonly batch: string;
}

type Limits = { readonly timeoutMs: number; readonly progress: () => Promise<number>; readonly stallMs?: number };

/** One transfer by `who`, timed from process start to exit. */
async function transfer(sftp: FerrySftp, who: Who, move: Move, limits: Limits): Promise<ProcResult> {
  if (who === 'openssh') {
    await writeFile(move.batch, `${move.command}${move.recursive ? ' -r' : ''} ${move.from} ${move.to}\n`);
    return runOk(sftp.peer.tools.sftp, sftp.peer.sftpArgs(move.batch, sftp.cipher), limits);
  }
  return runOk(process.execPath, [FERRY, ...sftp.cliArgs(KEY[who]), move.command, move.from, move.to], { ...limits, env: sftp.cliEnv, cwd: REPO });
}

function checkNote(sftp: FerrySftp, who: Who): string {
  return who === 'openssh' ? '' : `; check ${sftp.checks[KEY[who]]}`;
}

/** The big file one way. Uploads land in a folder the sshd writes to, downloads in one the client writes to. */
function bigTask(b: Bench, who: Who, direction: Direction): Task {
  const row = sftpRowId(who, direction);
  let dir: string;
  return {
    rows: [row],
    async prepare() {
      const sftp = await b.sftp();
      if (typeof sftp === 'string') return sftp;
      dir = await b.scratch(row);
      return undefined;
    },
    async run(run, rec) {
      const sftp = await ready(b);
      const data = await b.data();
      const dest = path.join(dir, path.basename(data.big));
      await emptyDir(dir);
      await b.sync();
      await b.warm(data.big);
      const serverCpu = sftp.peer.pid === null ? null : await ServerCpu.start(sftp.peer.pid);
      const move: Move = {
        command: direction === 'up' ? 'put' : 'get',
        from: data.big,
        to: who === 'openssh' ? dest : dir,
        recursive: false,
        batch: path.join(b.dir, `${row}.batch`),
      };
      const result = await transfer(sftp, who, move, { timeoutMs: timeoutFor(data.bigSize), progress: () => dirBytes(dir) });
      const there = (await serverCpu?.settle()) ?? NaN;
      await checkFile(dest, data.bigSize, run === 1 ? data.bigSha : null, row);
      const spent = cpuOf(who === 'openssh' ? 'sftp' : 'ferry', result.cpu, 'sshd', there);
      rec.record(row, mbps(data.bigSize, result.ms), { ms: result.ms, cpu: spent.cpu, note: `${sftp.cipher}${checkNote(sftp, who)}; ${spent.note}` });
      await emptyDir(dir);
    },
  };
}

async function countFiles(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.bin')).length;
}

/** The small-file folder one way, as one folder (put -r / get -r; ferry put/get of the folder). */
function folderTask(b: Bench, who: Who, direction: Direction): Task {
  const row = sftpRowId(who, direction, true);
  let dir: string;
  return {
    rows: [row],
    async prepare() {
      const sftp = await b.sftp();
      if (typeof sftp === 'string') return sftp;
      dir = await b.scratch(row);
      return undefined;
    },
    async run(_run, rec) {
      const sftp = await ready(b);
      const data = await b.data();
      const arrived = path.join(dir, path.basename(data.small));
      // sftp creates the target folder itself; Ferry is given the folder to put it in.
      await emptyDir(dir);
      await b.sync();
      await b.warm(data.small);
      const serverCpu = sftp.peer.pid === null ? null : await ServerCpu.start(sftp.peer.pid);
      const move: Move = {
        command: direction === 'up' ? 'put' : 'get',
        from: data.small,
        to: who === 'openssh' ? arrived : dir,
        recursive: true,
        batch: path.join(b.dir, `${row}.batch`),
      };
      // A transfer that makes no progress for 10 s is killed (no tool pauses that long between two 4 KiB files).
      const result = await transfer(sftp, who, move, { timeoutMs: 120_000 + data.smallCount * 50, progress: () => dirCount(arrived), stallMs: 10_000 });
      const there = (await serverCpu?.settle()) ?? NaN;
      const count = await countFiles(arrived);
      if (count !== data.smallCount) throw new Error(`${row}: ${count} files arrived, expected ${data.smallCount}`);
      const spent = cpuOf(who === 'openssh' ? 'sftp' : 'ferry', result.cpu, 'sshd', there);
      rec.record(row, data.smallCount / (result.ms / 1000), { ms: result.ms, cpu: spent.cpu, note: `${sftp.cipher}${checkNote(sftp, who)}; ${spent.note}` });
      await emptyDir(dir);
    },
  };
}

/** A fresh process that logs in and lists a folder, `coldCount` times; the run's value is the median. */
function coldTask(b: Bench, who: 'ferry' | 'openssh'): Task {
  const row = who === 'ferry' ? 'sftp-cold-ferry' : 'sftp-cold-openssh';
  return {
    rows: [row],
    prepare: async () => {
      const sftp = await b.sftp();
      return typeof sftp === 'string' ? sftp : undefined;
    },
    async run(_run, rec) {
      const sftp = await ready(b);
      const folder = b.dir;
      const batch = path.join(b.dir, `${row}.batch`);
      await writeFile(batch, `ls ${folder}\n`);
      const samples: number[] = [];
      for (let i = 0; i < b.opts.coldCount; i++) {
        const started = now();
        if (who === 'ferry') await runOk(process.execPath, [FERRY, ...sftp.cliArgs('full'), 'ls', folder], { env: sftp.cliEnv, cwd: REPO, timeoutMs: 60_000 });
        else await runOk(sftp.peer.tools.sftp, sftp.peer.sftpArgs(batch, sftp.cipher), { timeoutMs: 60_000 });
        samples.push(now() - started);
      }
      rec.record(row, median(samples), { note: `p95 ${fmt(percentile(samples, 95))} ms, n=${samples.length}` });
    },
  };
}

export function sftpTasks(b: Bench): Task[] {
  return [
    ...DIRECTIONS.flatMap((direction) => WHO.map((who) => bigTask(b, who, direction))),
    ...DIRECTIONS.flatMap((direction) => WHO.map((who) => folderTask(b, who, direction))),
    coldTask(b, 'ferry'),
    coldTask(b, 'openssh'),
  ];
}

