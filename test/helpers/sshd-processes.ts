/**
 * The test sshd's processes: each child runs under timeout(1) in its own process group and
 * is killed with its descendants; a watchdog shell cleans up when the test process dies
 * without calling stop() (vitest ends its workers with SIGTERM, so no 'exit' hook runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type net from 'node:net';

/** Every child stops by itself after 15 minutes, even if nothing else ends it. */
const LIFETIME = ['-k', '5', '900'];

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface ProcessRow {
  readonly pid: number;
  readonly ppid: number;
  /** Real uid. */
  readonly uid: number;
}

/** Every process's pid, parent and real uid, from /proc (empty when there is none). */
function processTable(): ProcessRow[] {
  const rows: ProcessRow[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return rows;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      rows.push({ pid: Number(entry), ppid, uid });
    } catch {
      // it ended while we looked
    }
  }
  return rows;
}

/** Pids of the processes a uid runs (the throwaway account's sessions). */
export function processesOf(uid: number): number[] {
  return processTable().filter((row) => row.uid === uid).map((row) => row.pid);
}

/** Pids below `root` (its children, theirs…). */
function descendants(root: number): number[] {
  const table = processTable();
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const row of table) {
      if (row.ppid === parent) {
        found.push(row.pid);
        queue.push(row.pid);
      }
    }
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Running: a zombie counts as gone (an orphan waits for pid 1, which may reap slowly). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc: kill(0) is all we know
  }
}

/**
 * A child under timeout(1), leader of its own process group. sshd's connection processes
 * start sessions of their own, so they are found by walking /proc, not by the group.
 */
export class Supervised {
  private readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      if (!this.running) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** It, its descendants and `extra`: TERM first, KILL whatever is left after `graceMs`. */
  async kill(extra: readonly number[] = [], graceMs = 5000): Promise<void> {
    const group = this.child.pid;
    const pids = group === undefined ? [...extra] : [...descendants(group), ...extra];
    if (group !== undefined && this.running) signal(-group, 'SIGTERM');
    for (const pid of pids) signal(pid, 'SIGTERM');
    const until = Date.now() + graceMs;
    while (Date.now() < until && (this.running || pids.some(alive))) await sleep(25);
    if (group !== undefined && this.running) signal(-group, 'SIGKILL');
    for (const pid of pids) if (alive(pid)) signal(pid, 'SIGKILL');
    await this.exited;
  }
}

/** Start `cmd args…` under timeout(1); its stderr goes to `onStderr`. */
export function supervise(cmd: string, args: readonly string[], onStderr: (text: string) => void): Supervised {
  const child = spawn('timeout', [...LIFETIME, cmd, ...args], {
    // Its own process group: one signal reaches timeout(1) and what it runs.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', onStderr);
  child.on('error', (err) => onStderr(`${cmd}: ${err.message}\n`));
  // A test that forgets stop() must still be able to exit; the watchdog cleans up then.
  child.unref();
  (child.stderr as net.Socket).unref();
  return new Supervised(child);
}

/**
 * Reads "$1/groups" at the end, so the process groups listed there when the test process
 * died are the ones ended. $2 is the account's home, $3 the account ('' for none).
 */
const WATCHDOG = `
cat >/dev/null 2>&1
groups=$(cat "$1/groups" 2>/dev/null)
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
sleep 1
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
if [ -n "$3" ]; then userdel -f "$3" 2>/dev/null || { sleep 1; userdel -f "$3"; }; fi
rm -rf -- "$1" "$2"
`;

export interface Watchdog {
  /** Record the process groups to end (rewritten whenever they change). */
  groups(pids: readonly number[]): Promise<void>;
  /** stop() did the cleanup: end the watchdog without it acting. */
  dismiss(): Promise<void>;
}

/**
 * A shell whose stdin is a pipe from this process: it reads until EOF, which comes however
 * this process ends (stop() forgotten, SIGTERM, SIGKILL, a crash), then ends the listed
 * process groups, deletes the account and removes both folders.
 */
export function startWatchdog(dir: string, home: string, account: string | null): Watchdog {
  const child = spawn('sh', ['-c', WATCHDOG, 'ferry-sshd-watchdog', dir, home, account ?? ''], {
    detached: true, // not in our group: whatever signal ends us must not end it
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.on('error', () => undefined); // no sh: there is simply no watchdog
  child.stdin!.on('error', () => undefined);
  child.unref();
  (child.stdin as net.Socket).unref();
  const supervised = new Supervised(child);
  return {
    groups: (pids) => writeFile(`${dir}/groups`, pids.map((p) => `${p}\n`).join('')),
    dismiss: () => supervised.kill([], 0),
  };
}
