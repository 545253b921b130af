/**
 * `npm run bench` (node dist/bench/run.js): Ferry against its ceilings and its peers, side
 * by side in one run on 127.0.0.1. Prints the table and writes it to docs/BENCHMARKS.md
 * (between the bench markers, keeping the rest of the file).
 *
 *   --size-mib N   big file in MiB (default 1024)     --files N   small files (default 2000)
 *   --runs N       runs per row (default 3)            --quick     tiny sizes (for the test)
 *   --out FILE     markdown to write                   --only RE   rows whose id matches
 *   --no-install   never apt-get the ssh peers         --json FILE results as JSON too
 *   --no-peers     skip scp/sftp/rsync/ssh rows (they say so)
 *   --label TEXT   what code was measured (default: the git commit and whether it was clean)
 *   --link-files N small files of the link rows (default 500)
 *   --link-mib N   big file of the link rows in MiB (default 256)
 *
 * Measurement only: a missed target is reported, not an error (exit 0). The exit code is
 * 1 only when the harness itself failed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Bench, type Options, type RowSpec, type Task } from './core.js';
import { REPO } from './ferryd.js';
import { fmt, runTimed } from './measure.js';
import { derive, evaluateTargets, machineInfo, markdownBlock, resultsTable, targetsTable, writeMarkdown, type RowResult } from './report.js';
import { bigFileRows, bigFileTasks, memoryRows } from './rows/big-file.js';
import { concurrentRows, concurrentTasks } from './rows/concurrent.js';
import { folderRows, folderTasks } from './rows/folder.js';
import { latencyRows, latencyTasks } from './rows/latency.js';
import { isLinkRow, linkRows, linkTasks } from './rows/link.js';
import { responsiveRows, responsiveTasks } from './rows/responsive.js';
import { sftpRows, sftpTasks } from './rows/sftp.js';
import { syncRows, syncTasks } from './rows/sync.js';

const USAGE = `Usage: npm run bench -- [--size-mib N] [--files N] [--runs N] [--quick] [--out FILE]
                        [--only REGEX] [--no-install] [--no-peers] [--json FILE] [--label TEXT]
                        [--link-files N] [--link-mib N]`;

function positiveInt(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not "${text}"`);
  return n;
}

export function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'size-mib': { type: 'string' },
      files: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean' },
      out: { type: 'string' },
      only: { type: 'string' },
      'no-install': { type: 'boolean' },
      'no-peers': { type: 'boolean' },
      json: { type: 'string' },
      label: { type: 'string' },
      'link-files': { type: 'string' },
      'link-mib': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick ?? false;
  return {
    sizeMiB: positiveInt(values['size-mib'], '--size-mib', quick ? 8 : 1024),
    files: positiveInt(values.files, '--files', quick ? 40 : 2000),
    runs: positiveInt(values.runs, '--runs', 3),
    quick,
    out: values.out ? path.resolve(values.out) : path.join(REPO, 'docs/BENCHMARKS.md'),
    only: values.only ? new RegExp(values.only) : null,
    install: !(values['no-install'] ?? false),
    peers: !(values['no-peers'] ?? false),
    json: values.json ? path.resolve(values.json) : null,
    label: values.label ?? null,
    execCount: quick ? 10 : 50,
    coldCount: quick ? 2 : 5,
    clients: quick ? 8 : 100,
    smallFileBytes: 4096,
    linkFiles: positiveInt(values['link-files'], '--link-files', quick ? 10 : 500),
    linkMiB: positiveInt(values['link-mib'], '--link-mib', quick ? 4 : 256),
  };
}

/** Which code was measured: the commit, and whether the working tree differed from it (read-only git). */
async function sourceState(): Promise<string> {
  const git = async (args: string[]): Promise<string> => (await runTimed('git', args, { cwd: REPO, timeoutMs: 10_000 })).stdout.trim();
  try {
    const head = await git(['rev-parse', '--short', 'HEAD']);
    const changed = (await git(['status', '--porcelain', '--untracked-files=no'])).split('\n').filter(Boolean).length;
    return head ? `Code: commit ${head}${changed ? ` with ${changed} uncommitted changed files` : ''} (built dist/)` : 'Code: not a git checkout';
  } catch {
    return 'Code: git not available';
  }
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-'));

  const catalog: RowSpec[] = [
    ...bigFileRows(opts),
    ...folderRows(opts),
    ...sftpRows(opts),
    ...syncRows(opts),
    ...latencyRows(opts),
    ...memoryRows(opts),
    ...responsiveRows(opts),
    ...concurrentRows(opts),
    ...linkRows(opts),
  ];
  const shown = catalog.filter((r) => !opts.only || opts.only.test(r.id));
  if (shown.length === 0) throw new Error(`--only ${opts.only?.source}: no row id matches`);
  // Every server started here stops by itself at this time, even if the bench is killed;
  // scp and sftp pay round trips per file over the emulated links, so those rows get longer.
  const linkMinutes = shown.some((r) => isLinkRow(r.id)) ? (opts.quick ? 5 : 30 * opts.runs) : 0;
  const deadline = started + ((opts.quick ? 10 : 40) + linkMinutes) * 60_000;
  const bench = new Bench(opts, dir, deadline, log);
  bench.watchLoad();
  if (bench.load.start > 0.5) log(`the machine is busy (load ${bench.load.start}): other work will skew the numbers`);
  const results = new Map<string, RowResult>(shown.map((spec) => [spec.id, { spec, values: [], ms: [], cpu: [], notes: [], errors: [], skipped: undefined }]));
  const allTasks: Task[] = [
    ...bigFileTasks(bench),
    ...folderTasks(bench),
    ...sftpTasks(bench),
    ...syncTasks(bench),
    ...latencyTasks(bench),
    ...responsiveTasks(bench),
    ...concurrentTasks(bench),
    ...linkTasks(bench),
  ];
  const tasks = allTasks.filter((t) => t.rows.some((id) => results.has(id)));

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping after the current row, then cleaning up`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const prepared = new Map<Task, string | undefined | Error>();
  try {
    for (let run = 1; run <= opts.runs && !interrupted; run++) {
      const pending = new Map<string, { value: number; ms?: number; note?: string; cpu?: number }>();
      for (const task of tasks) {
        if (interrupted) break;
        if (!prepared.has(task)) {
          try {
            prepared.set(task, task.prepare ? await task.prepare() : undefined);
          } catch (err) {
            prepared.set(task, err as Error);
          }
        }
        const state = prepared.get(task);
        const mine = task.rows.filter((id) => results.has(id));
        if (typeof state === 'string') {
          for (const id of mine) results.get(id)!.skipped ??= state;
          if (run === 1) log(`${mine.join(', ')}: skipped: ${state}`);
          continue;
        }
        if (state instanceof Error) {
          for (const id of mine) if (run === 1) results.get(id)!.errors.push(`setup: ${state.message}`);
          if (run === 1) log(`${mine.join(', ')}: setup failed: ${state.message}`);
          continue;
        }
        try {
          await task.run(run, {
            record(row, value, extra = {}) {
              const spec = results.get(row)?.spec;
              if (!spec) return; // a row not selected by --only
              log(`[run ${run}/${opts.runs}] ${row}: ${fmt(value)} ${spec.unit}${extra.ms !== undefined ? ` (${fmt(extra.ms / 1000)} s)` : ''}${extra.note ? ` ${extra.note}` : ''}`);
              const prev = pending.get(row);
              if (prev && spec.perRun === 'max' && prev.value >= value) return;
              pending.set(row, { value, ...extra });
            },
          });
        } catch (err) {
          const message = (err as Error).message.split('\n')[0]!.slice(0, 300);
          for (const id of mine) results.get(id)!.errors.push(message);
          log(`[run ${run}/${opts.runs}] ${mine[0]}: failed: ${message}`);
        }
      }
      // A row's values of one run: several values for a row in one run (peak memory over
      // several transfers) are combined as the row says (max), then kept as that run's value.
      for (const [row, v] of pending) {
        const r = results.get(row)!;
        r.values.push(v.value);
        if (v.ms !== undefined) r.ms.push(v.ms);
        if (v.cpu !== undefined) r.cpu.push(v.cpu);
        if (v.note) r.notes.push(v.note);
      }
    }
  } finally {
    await bench.cleanup();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  derive(results, os.cpus().length);
  const targets = evaluateTargets(results, opts);
  const table = resultsTable(results, targets);
  const targetTable = targetsTable(targets);
  const seconds = (Date.now() - started) / 1000;
  bench.facts.push(opts.label ? `Code: ${opts.label}` : await sourceState());
  bench.facts.push(
    `Load average (1 min) at the start ${bench.load.start.toFixed(2)}, highest during the run ${bench.load.max.toFixed(2)} ` +
      `(the bench itself keeps about 1–2 of the ${os.cpus().length} cores busy; more means other work shared the machine)`,
  );
  const machine = machineInfo();
  process.stdout.write(`\n${table}\n\n${targetTable}\n\nbench: ${Math.round(seconds)} s in all\n`);
  await writeMarkdown(opts.out, markdownBlock({ machine, opts, facts: bench.facts, table, targets: targetTable, seconds }));
  log(`wrote ${opts.out}`);
  if (opts.json) {
    const rows = [...results.values()].map((r) => ({ id: r.spec.id, label: r.spec.label, unit: r.spec.unit, values: r.values, ms: r.ms, notes: r.notes, errors: r.errors, skipped: r.skipped ?? null }));
    await writeFile(opts.json, `${JSON.stringify({ machine, seconds, rows, targets }, null, 2)}\n`);
  }
  return interrupted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
