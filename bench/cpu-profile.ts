/**
 * Where the CPU of a big transfer goes (`node dist/bench/cpu-profile.js`): `ferry put/get`
 * of one file against a real ferryd, both processes' CPU split by thread (main thread,
 * its GC pauses, V8's helper threads, libuv's pool) and into user and system time.
 *
 *   --size-mib N    the file (default 1024)          --runs N    per case (default 3)
 *   --cases LIST    of tls-up,tls-down,plain-up,plain-down (default all)
 *   --repo DIR      a build to measure (repeatable: runs alternate between them, A/B)
 *   --prof          also V8 CPU profiles of both main threads: the top functions
 *   --perf          also `perf record` of both processes (every thread, native code: TLS,
 *                   the kernel): the top symbols of each (needs perf; slows the run)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { randomFillSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { emptyDir } from './core.js';
import { startFerryd, REPO, type BenchServer } from './ferryd.js';
import { median, runOk, MiB } from './measure.js';
import type { ProbeReport } from './cpu-probe.js';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-probe.js');

interface Split {
  total: number;
  mainUser: number;
  mainSystem: number;
  gc: number;
  helpers: number;
  pool: number;
  other: number;
}

interface Sample {
  wall: number;
  ferry: Split;
  ferryd: Split;
}

/**
 * Threads by the order Node starts them (their ids grow): the main thread; at start-up
 * V8's 4 platform workers (concurrent GC marking and sweeping, compiler jobs), the delayed
 * task scheduler and the debug signal watcher; then on first use libuv's thread pool
 * (file reads and writes, 4 threads, UV_THREADPOOL_SIZE); then worker threads. The
 * module loader uses the pool before any code of ours runs, so the start-up set alone
 * cannot tell them apart.
 */
const HELPERS = 6;
const POOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/** CPU seconds between two reports of one process (`before` null: from its start). */
function split(after: ProbeReport, before: ProbeReport | null): Split {
  const prev = new Map((before?.threads ?? []).map((t) => [t.tid, t]));
  const s: Split = {
    total: (after.userUs + after.systemUs - (before ? before.userUs + before.systemUs : 0)) / 1e6,
    mainUser: 0,
    mainSystem: 0,
    gc: (after.gcMs - (before?.gcMs ?? 0)) / 1000,
    helpers: 0,
    pool: 0,
    other: 0,
  };
  after.threads.forEach((t, rank) => {
    const p = prev.get(t.tid);
    const user = t.user - (p?.user ?? 0);
    const system = t.system - (p?.system ?? 0);
    if (t.tid === after.pid) {
      s.mainUser += user;
      s.mainSystem += system;
    } else if (rank <= HELPERS) s.helpers += user + system;
    else if (rank <= HELPERS + POOL) s.pool += user + system;
    else s.other += user + system;
  });
  return s;
}

async function waitFor(file: string): Promise<ProbeReport> {
  for (let i = 0; i < 500; i++) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text !== null) return JSON.parse(text) as ProbeReport;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no CPU report in ${file}`);
}

/** Ask a running process for its report (SIGUSR2). */
async function snapshot(probeDir: string, pid: number): Promise<ProbeReport> {
  const file = path.join(probeDir, `${pid}.json`);
  await rm(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  return waitFor(file);
}

async function makeFile(file: string, bytes: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = Buffer.alloc(MiB);
  for (let done = 0; done < bytes; done += chunk.length) {
    randomFillSync(chunk);
    if (!out.write(Buffer.from(chunk.subarray(0, Math.min(chunk.length, bytes - done))))) {
      await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function sh(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve) => spawn(cmd, args, { stdio: 'ignore' }).on('exit', () => resolve()));
}

/** Self time per function of a .cpuprofile, ms, the biggest first. */
async function topFunctions(file: string, count: number): Promise<Array<[string, number]>> {
  const prof = JSON.parse(await readFile(file, 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
    samples: number[];
    timeDeltas: number[];
  };
  const name = new Map(prof.nodes.map((n) => [n.id, `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url)}`.trim()]));
  const self = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    const key = name.get(id) ?? '?';
    self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

const f = (n: number): string => n.toFixed(2);

/** The top native symbols of one process in a perf recording. */
function perfTop(file: string, pid: number): Promise<string> {
  const args = ['report', '-i', file, '--pid', String(pid), '--no-children', '--percentage', 'relative', '--sort', 'dso,sym', '-g', 'none', '--stdio'];
  return new Promise((resolve) =>
    execFile('perf', args, { maxBuffer: 64 * 1024 * 1024 }, (_err, stdout) =>
      resolve(
        stdout
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.startsWith('#'))
          .slice(0, 25)
          .join('\n') + '\n',
      ),
    ),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string', default: '1024' },
      runs: { type: 'string', default: '3' },
      cases: { type: 'string', default: 'tls-up,tls-down,plain-up,plain-down' },
      repo: { type: 'string', multiple: true },
      prof: { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
    },
  });
  const size = Number(values['size-mib']) * MiB;
  const runs = Number(values.runs);
  const cases = values.cases!.split(',');
  const repos = values.repo?.map((r) => path.resolve(r)) ?? [REPO];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-cpu-'));
  const probeDir = path.join(dir, 'probe');
  const profDir = path.join(dir, 'prof');
  await mkdir(probeDir);
  await mkdir(profDir);
  process.env.FERRY_CPU_PROBE = probeDir;
  if (values.prof) process.env.FERRY_CPU_PROF = profDir;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS ?? '', `--import=${PROBE}`, ]
    .join(' ')
    .trim();
  const deadline = Date.now() + 60 * 60_000;
  const servers = new Map<string, BenchServer>();
  const samples = new Map<string, Sample[]>();
  const profiles: string[] = [];
  try {
    const source = path.join(dir, 'big');
    await makeFile(source, size);
    for (const [i, repo] of repos.entries()) {
      for (const plain of [false, true]) {
        if (!cases.some((c) => c.startsWith(plain ? 'plain' : 'tls'))) continue;
        const server = await startFerryd({ dir: path.join(dir, `s${i}-${plain ? 'plain' : 'tls'}`), plain, deadline, repo });
        servers.set(`${i}-${plain}`, server);
        await mkdir(path.join(server.home, 'src'), { recursive: true });
        await mkdir(path.join(server.home, 'up'), { recursive: true });
        await link(source, path.join(server.home, 'src', 'big'));
      }
    }
    const local = path.join(dir, 'local');
    await mkdir(local);
    for (let run = 1; run <= runs; run++) {
      for (const c of cases) {
        // Every other run in the reverse order: neither build always runs after the other.
        const order = [...repos.entries()];
        if (run % 2 === 0) order.reverse();
        for (const [i, repo] of order) {
          const plain = c.startsWith('plain');
          const up = c.endsWith('up');
          const server = servers.get(`${i}-${plain}`)!;
          await emptyDir(path.join(server.home, 'up'));
          await emptyDir(local);
          await sh('sync', []);
          await sh('sh', ['-c', `cat "${source}" > /dev/null`]);
          const before = await snapshot(probeDir, server.pid);
          const args = up ? ['put', source, '/up'] : ['get', '/src/big', local];
          const key = `${c} ${repos.length > 1 ? `[${i}] ` : ''}`;
          let pid = 0;
          let perfFile = '';
          let recorder: ChildProcess | undefined;
          const result = await runOk(process.execPath, [path.join(repo, 'bin/ferry.js'), ...server.cliArgs(), ...args], {
            env: server.cliEnv,
            cwd: REPO,
            timeoutMs: 600_000,
            onSpawn: (child) => {
              pid = child.pid ?? 0;
              if (values.perf) {
                perfFile = path.join(dir, `perf-${run}-${c}-${i}.data`);
                recorder = spawn('perf', ['record', '-q', '-F', '499', '-o', perfFile, '-p', `${server.pid},${pid}`], { stdio: 'ignore' });
              }
            },
          });
          if (recorder) {
            const done = new Promise((r) => recorder!.once('exit', r));
            recorder.kill('SIGINT');
            await done;
            for (const [who, p] of [['ferry', pid], ['ferryd', server.pid]] as const) {
              profiles.push(`\n${key}run ${run}, ${who}, perf (all threads, % of this process's samples):\n`);
              profiles.push(await perfTop(perfFile, p));
            }
          }
          const client = await waitFor(path.join(probeDir, `${pid}.json`));
          const after = await snapshot(probeDir, server.pid);
          const target = up ? path.join(server.home, 'up', 'big') : path.join(local, 'big');
          if ((await stat(target)).size !== size) throw new Error(`${c}: ${target} has the wrong size`);
          // Gone before the next transfer, whichever build it is: each starts with the same page cache.
          await emptyDir(path.join(server.home, 'up'));
          await emptyDir(local);
          const list = samples.get(key) ?? [];
          list.push({ wall: result.ms / 1000, ferry: split(client, null), ferryd: split(after, before) });
          samples.set(key, list);
          if (values.prof) {
            for (const [who, p] of [['ferry', pid], ['ferryd', server.pid]] as const) {
              const files = (await readdir(profDir)).filter((n) => n.startsWith(`${p}-`));
              const newest = files.sort((x, y) => Number(y.split(/[-.]/)[1]) - Number(x.split(/[-.]/)[1]))[0];
              if (!newest) continue;
              profiles.push(`\n${key}run ${run}, ${who} main thread, self time:\n`);
              for (const [fn, ms] of await topFunctions(path.join(profDir, newest), 16)) profiles.push(`  ${ms.toFixed(0).padStart(6)} ms  ${fn}\n`);
            }
          }
          const kinds = (r: ProbeReport, b: ProbeReport | null): string =>
            Object.entries(r.gcKinds)
              .map(([k, ms]) => `${k} ${(ms - (b?.gcKinds[k] ?? 0)).toFixed(0)} ms`)
              .join(', ');
          process.stderr.write(`run ${run} ${key}: ${f(result.ms / 1000)} s; GC ferry ${kinds(client, null)}; ferryd ${kinds(after, before)}; heap ferry ${(client.heapUsed / 1e6).toFixed(0)} MB, ferryd ${(after.heapUsed / 1e6).toFixed(0)} MB\n`);
        }
      }
    }
    for (const [i, repo] of repos.entries()) process.stdout.write(`[${i}] ${repo}\n`);
    process.stdout.write(
      `\n${runs} run(s) of ${values['size-mib']} MiB, CPU seconds, median per column.\n` +
        `main = main thread (user/system, GC = its GC pauses, within user); helpers = V8's platform threads (concurrent GC, compiler);\n` +
        `pool = libuv's thread pool (file reads and writes); other = worker threads.\n\n` +
        `| case | wall | both | ferry | main usr/sys | GC | helpers | pool | other | ferryd | main usr/sys | GC | helpers | pool | other |\n` +
        `|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n`,
    );
    for (const [key, list] of samples) {
      const m = (get: (s: Sample) => number): string => f(median(list.map(get)));
      const row = (side: 'ferry' | 'ferryd'): string =>
        [m((s) => s[side].total), `${m((s) => s[side].mainUser)}/${m((s) => s[side].mainSystem)}`, m((s) => s[side].gc), m((s) => s[side].helpers), m((s) => s[side].pool), m((s) => s[side].other)].join(' | ');
      process.stdout.write(`| ${key.trim()} | ${m((s) => s.wall)} | ${m((s) => s.ferry.total + s.ferryd.total)} | ${row('ferry')} | ${row('ferryd')} |\n`);
    }
    process.stdout.write(profiles.join(''));
  } finally {
    for (const s of servers.values()) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
