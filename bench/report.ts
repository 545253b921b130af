/**
 * From the recorded runs to the report: per-row median/min/max, the derived rows (the
 * fastest peer), the targets with their ratios (PASS/MISS), and the table as Markdown
 * (printed, and written between the bench markers of docs/BENCHMARKS.md).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Options, RowSpec } from './core.js';
import { linkLabel, type LinkShape } from './link-proxy.js';
import { fmt, formatSeconds, median } from './measure.js';
import { FERRY_LINK_ROUND_TRIPS, benchLinks, bigNetRow, folderRow, linkMBps, roundTripsRow } from './rows/link.js';

export interface RowResult {
  readonly spec: RowSpec;
  /** One value per successful run. */
  values: number[];
  /** Wall time behind each value (transfers), in ms. */
  ms: number[];
  /** CPU seconds behind each value, both ends (the big-file transfers). */
  cpu: number[];
  notes: string[];
  errors: string[];
  skipped: string | undefined;
}

export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function stats(r: RowResult | undefined): Stats | undefined {
  if (!r || r.values.length === 0) return undefined;
  return { median: median(r.values), min: Math.min(...r.values), max: Math.max(...r.values) };
}

// ---- derived rows -----------------------------------------------------------------------------

/**
 * peer-best-up/down: the scp or sftp row (any cipher) with the best median. The CPU rows
 * (`cpu-X`): what the transfer of row X cost in CPU seconds (both ends); and the most
 * Ferry's CPU cost allows on this machine's `cores` (size ÷ (CPU ÷ cores)): a transfer
 * cannot be faster than that however well its work is spread over the cores.
 */
export function derive(results: Map<string, RowResult>, cores: number): void {
  for (const dir of ['up', 'down']) {
    const best = results.get(`peer-best-${dir}`);
    if (!best) continue;
    const candidates = [...results.values()].filter((r) => /^(scp|sftp)-/.test(r.spec.id) && r.spec.id.includes(`-${dir}-`) && r.values.length > 0);
    if (candidates.length === 0) {
      const reason = [...results.values()].find((r) => /^(scp|sftp)-/.test(r.spec.id) && r.skipped)?.skipped;
      best.skipped = reason ?? 'no scp/sftp row was measured';
      continue;
    }
    const winner = candidates.reduce((a, b) => (median(b.values) > median(a.values) ? b : a));
    best.values = [...winner.values];
    best.ms = [...winner.ms];
    best.cpu = [...winner.cpu];
    best.notes = [`= ${winner.spec.id}${winner.notes.at(-1) ? ` (${winner.notes.at(-1)})` : ''}`];
  }
  for (const row of results.values()) {
    const id = row.spec.id;
    if (!row.spec.derived || !id.startsWith('cpu-') || id.startsWith('cpu-bound-')) continue;
    const from = id.slice('cpu-'.length);
    const source = results.get(from);
    row.values = (source?.cpu ?? []).filter(Number.isFinite);
    if (row.values.length === 0) row.skipped = source?.skipped ?? `no CPU time was measured for ${from}`;
    else row.notes = [...(source?.notes.at(-1) ? [`${from}: ${source.notes.at(-1)}`] : [])];
  }
  for (const dir of ['up', 'down']) {
    const bound = results.get(`cpu-bound-tls-${dir}`);
    const ferry = results.get(`ferry-tls-${dir}`);
    if (!bound) continue;
    const runs = ferry ? ferry.values.map((v, i) => ({ mb: (v * (ferry.ms[i] ?? NaN)) / 1000, cpu: ferry.cpu[i] ?? NaN })) : [];
    bound.values = runs.filter((r) => Number.isFinite(r.mb) && r.cpu > 0).map((r) => r.mb / (r.cpu / cores));
    if (bound.values.length === 0) bound.skipped = `no CPU time was measured for ferry-tls-${dir}`;
    else bound.notes = [`${cores} cores`];
  }
}

// ---- targets ---------------------------------------------------------------------------------

export interface TargetResult {
  readonly row: string;
  readonly text: string;
  /** e.g. "0.82× of peer-best-up" */
  readonly ratio: string;
  readonly verdict: 'PASS' | 'MISS' | 'n/a';
  readonly detail: string;
}

type Get = (id: string) => Stats | undefined;

interface Target {
  readonly row: string;
  readonly text: string;
  evaluate(get: Get, opts: Options): { ratio: number; need: string; pass: boolean; detail: string } | string;
}

/** a relative to b (or to a fixed value), higher is better: pass when a/b ≥ factor (or > factor when strict). */
function atLeast(row: string, ref: string | number, factor: number, text: string, strict = false): Target {
  return {
    row,
    text,
    evaluate(get) {
      const a = get(row);
      const b = typeof ref === 'number' ? { median: ref, min: ref, max: ref } : get(ref);
      if (!a || !b) return `no value for ${!a ? row : String(ref)}`;
      const ratio = a.median / b.median;
      return {
        ratio,
        need: `${strict ? '>' : '≥'} ${factor}`,
        pass: strict ? ratio > factor : ratio >= factor,
        detail: `${fmt(a.median)} vs ${typeof ref === 'number' ? 'limit' : ref} ${fmt(b.median)}`,
      };
    },
  };
}

/**
 * Over the emulated links: folders ≥ 2× rsync, at most a few round trips more than without
 * the link, and big files at ≥ 0.9× the link's rate once the tool's own connection set-up
 * is taken off (the wall time includes a cold connect that a long transfer pays once).
 */
function linkTargets(links: readonly LinkShape[]): Target[] {
  return links.flatMap((l) =>
    (['up', 'down'] as const).flatMap((dir) => {
      const over = `over ${linkLabel(l)}`;
      const what = dir === 'up' ? 'upload' : 'download';
      return [
        atLeast(folderRow(l, 'ferry', dir), folderRow(l, 'rsync', dir), 2, `${over}: folder ${what} ≥ 2× rsync -a`),
        atMost(roundTripsRow(l, 'ferry', dir), FERRY_LINK_ROUND_TRIPS, 1, `${over}: folder ${what} costs ≤ ${FERRY_LINK_ROUND_TRIPS} round trips more than without the link`, false),
        atLeast(bigNetRow(l, 'ferry', dir), linkMBps(l), 0.9, `${over}: big-file ${what} ≥ 0.9× the link rate (excl. connection set-up)`),
      ];
    }),
  );
}

/** a relative to b (or to a fixed limit), lower is better: pass when a/b < factor (≤ when !strict). */
function atMost(row: string, ref: string | number, factor: number, text: string, strict: boolean, use: 'median' | 'max' = 'median'): Target {
  return {
    row,
    text,
    evaluate(get) {
      const a = get(row);
      const b = typeof ref === 'number' ? { median: ref, min: ref, max: ref } : get(ref);
      if (!a || !b) return `no value for ${!a ? row : String(ref)}`;
      const value = a[use];
      const base = typeof ref === 'number' ? ref : b[use];
      const ratio = value / base;
      return {
        ratio,
        need: `${strict ? '<' : '≤'} ${factor}`,
        pass: strict ? ratio < factor : ratio <= factor,
        detail: `${use === 'max' ? 'worst run ' : ''}${fmt(value)} vs ${typeof ref === 'number' ? 'limit' : ref} ${fmt(base)}`,
      };
    },
  };
}

/** How much bigger the peak at the big size may be than at the mid size to count as "similar". */
export const RSS_SIMILAR = 1.25;
export const RSS_LIMIT_MB = 150;

const TARGETS: readonly Target[] = [
  atLeast('ferry-tls-up', 'peer-best-up', 0.9, 'TLS upload (XXH3-128 check) ≥ 0.9× the fastest scp/sftp upload (any cipher)'),
  atLeast('ferry-tls-down', 'peer-best-down', 0.9, 'TLS download (XXH3-128 check) ≥ 0.9× the fastest scp/sftp download (any cipher)'),
  atMost('cpu-ferry-tls-up', 'cpu-peer-best-up', 1.25, 'CPU per upload, both ends, ≤ 1.25× the fastest peer (scp/sftp + sshd)', false),
  atMost('cpu-ferry-tls-down', 'cpu-peer-best-down', 1.25, 'CPU per download, both ends, ≤ 1.25× the fastest peer (scp/sftp + sshd)', false),
  atLeast('ferry-plain-up', 'raw-net', 1, '--plain upload ≥ raw Node pipe'),
  atLeast('ferry-plain-down', 'raw-net', 1, '--plain download ≥ raw Node pipe'),
  atLeast('folder-ferry-up', 'folder-scp-up', 3, 'folder upload ≥ 3× scp -r'),
  atLeast('folder-ferry-up', 'folder-rsync-up', 1.5, 'folder upload ≥ 1.5× rsync -a'),
  atLeast('folder-ferry-down', 'folder-scp-down', 3, 'folder download ≥ 3× scp -r'),
  atLeast('folder-ferry-down', 'folder-rsync-down', 1.5, 'folder download ≥ 1.5× rsync -a'),
  atLeast('sftp-ferry-up', 'sftp-openssh-up', 0.9, 'over SFTP: big-file upload ≥ 0.9× OpenSSH sftp (same sshd and cipher)'),
  atLeast('sftp-ferry-down', 'sftp-openssh-down', 0.9, 'over SFTP: big-file download ≥ 0.9× OpenSSH sftp (same sshd and cipher)'),
  atLeast('sftp-folder-ferry-up', 'sftp-folder-openssh-up', 2, 'over SFTP: folder upload ≥ 2× sftp put -r'),
  atLeast('sftp-folder-ferry-down', 'sftp-folder-openssh-down', 2, 'over SFTP: folder download ≥ 2× sftp get -r'),
  // The same targets for the size check only: not the product's targets, what the SHA-256 check costs of them.
  atLeast('sftp-ferry-size-up', 'sftp-openssh-up', 0.9, 'for comparison, size check only: big-file upload ≥ 0.9× sftp'),
  atLeast('sftp-ferry-size-down', 'sftp-openssh-down', 0.9, 'for comparison, size check only: big-file download ≥ 0.9× sftp'),
  atLeast('sftp-folder-ferry-size-up', 'sftp-folder-openssh-up', 2, 'for comparison, size check only: folder upload ≥ 2× sftp put -r'),
  atLeast('sftp-folder-ferry-size-down', 'sftp-folder-openssh-down', 2, 'for comparison, size check only: folder download ≥ 2× sftp get -r'),
  atMost('sync-ferry-up', 'sync-rsync-up', 1, 'sync up of a big tree with 10 changes < rsync -a (same run)', true),
  atMost('sync-ferry-down', 'sync-rsync-down', 1, 'sync down of a big tree with 10 changes < rsync -a (same run)', true),
  atMost('exec-ferry', 'exec-ssh-cm', 1, 'exec `true` ≤ ssh ControlMaster', false),
  atMost('cold-ferry-ls', 'cold-ssh', 1, 'cold connect+login+list < fresh ssh', true),
  atMost('cold-engine-keys', 50, 1, 'cold login with cached keys < 50 ms', true),
  atMost('rss-ferryd-big', RSS_LIMIT_MB, 1, `ferryd peak RSS < ${RSS_LIMIT_MB} MB`, true, 'max'),
  atMost('rss-ferry-big', RSS_LIMIT_MB, 1, `ferry peak RSS < ${RSS_LIMIT_MB} MB`, true, 'max'),
  atMost('rss-ferryd-mid', RSS_LIMIT_MB, 1, `ferryd peak RSS < ${RSS_LIMIT_MB} MB`, true, 'max'),
  atMost('rss-ferry-mid', RSS_LIMIT_MB, 1, `ferry peak RSS < ${RSS_LIMIT_MB} MB`, true, 'max'),
  atMost('rss-ferryd-big', 'rss-ferryd-mid', RSS_SIMILAR, `ferryd: big-file peak similar to mid-file peak (≤ ${RSS_SIMILAR}×)`, false, 'max'),
  atMost('rss-ferry-big', 'rss-ferry-mid', RSS_SIMILAR, `ferry: big-file peak similar to mid-file peak (≤ ${RSS_SIMILAR}×)`, false, 'max'),
  atMost('ls-busy', 'ls-idle', 5, '`ls` during upload < 5× idle (median)', true),
  atMost('ls-busy-p95', 'ls-idle-p95', 5, '`ls` during upload < 5× idle (p95)', true),
  {
    row: 'conc-ok',
    text: 'all concurrent clients succeed (every run)',
    evaluate(get, opts) {
      const a = get('conc-ok');
      if (!a) return 'no value for conc-ok';
      return { ratio: a.min / opts.clients, need: '= 1', pass: a.min === opts.clients, detail: `worst run ${a.min} of ${opts.clients}` };
    },
  },
];

export function evaluateTargets(results: Map<string, RowResult>, opts: Options): TargetResult[] {
  const get: Get = (id) => stats(results.get(id));
  return [...TARGETS, ...linkTargets(benchLinks(opts))].filter((t) => results.has(t.row)).map((t) => {
    const r = t.evaluate(get, opts);
    if (typeof r === 'string') return { row: t.row, text: t.text, ratio: '—', verdict: 'n/a', detail: r };
    return { row: t.row, text: t.text, ratio: `${r.ratio.toFixed(2)}× (need ${r.need})`, verdict: r.pass ? 'PASS' : 'MISS', detail: r.detail };
  });
}

// ---- rendering ------------------------------------------------------------------------------

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table with padded columns (readable in a terminal as it is). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((r) => r.map(cell));
  const widths = header.map((_, i) => Math.min(80, Math.max(3, ...all.map((r) => r[i]!.length))));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(all[0]!), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...all.slice(1).map(line)].join('\n');
}

/** Transfer rows that include a process start and login, and the row that measures that start alone. */
const START_OF: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(ferry-|folder-ferry-)/, 'cold-ferry-ls-saved'],
  [/^sftp-(folder-)?ferry-/, 'sftp-cold-ferry'],
  [/^sftp-(folder-)?openssh-/, 'sftp-cold-openssh'],
];

function extraNotes(r: RowResult, results: Map<string, RowResult>): string[] {
  const notes: string[] = [];
  // The CLI rows include process start and login: show what the transfer alone achieved.
  const startRow = START_OF.find(([re]) => re.test(r.spec.id))?.[1];
  const login = startRow ? stats(results.get(startRow)) : undefined;
  if (login && r.values.length > 0 && r.ms.length > 0) {
    const ms = median(r.ms);
    const value = median(r.values);
    if (ms > login.median) notes.push(`excl. start+login (${fmt(login.median)} ms): ${fmt((value * ms) / (ms - login.median))} ${r.spec.unit}`);
  }
  return notes;
}

export function resultsTable(results: Map<string, RowResult>, targets: readonly TargetResult[]): string {
  const rows: string[][] = [];
  let group = '';
  for (const r of results.values()) {
    if (r.spec.group !== group) {
      group = r.spec.group;
      rows.push(['', `**${group}**`, '', '', '', '', '', '', '']);
    }
    const s = stats(r);
    const t = targets.filter((x) => x.row === r.spec.id).map((x) => `${x.verdict} ${x.ratio}`);
    const failed = r.errors.length > 0 ? `${r.errors.length} of ${r.errors.length + r.values.length} runs failed: ${r.errors[0]}` : '';
    if (!s) {
      const why = r.skipped ? `skipped: ${r.skipped}` : `error: ${r.errors[0] ?? 'no value recorded'}`;
      rows.push([r.spec.id, r.spec.label, why, '', '', r.spec.unit, '', t.join('; '), '']);
      continue;
    }
    const notes = [...(r.notes.at(-1) ? [r.notes.at(-1)!] : []), ...extraNotes(r, results), ...(failed ? [failed] : [])];
    const time = r.ms.length > 0 ? formatSeconds(median(r.ms)) : '';
    rows.push([r.spec.id, r.spec.label, fmt(s.median), fmt(s.min), fmt(s.max), r.spec.unit, time, t.join('; '), notes.join('; ')]);
  }
  return markdownTable(['id', 'row', 'median', 'min', 'max', 'unit', 'time', 'target', 'notes'], rows);
}

export function targetsTable(targets: readonly TargetResult[]): string {
  return markdownTable(
    ['target', 'row', 'ratio', 'result', 'values (median unless said)'],
    targets.map((t) => [t.text, t.row, t.ratio, t.verdict, t.detail]),
  );
}

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}

export const BEGIN = '<!-- bench:begin -->';
export const END = '<!-- bench:end -->';

const HOW_MEASURED = `How the rows are measured (all on 127.0.0.1, one machine, one run of \`npm run bench\`):

- Every row is the median of the runs (min and max beside it); runs go round-robin over
  all rows, so slow drift of the machine spreads over every row alike. Throughput is in
  MB/s of 10^6 bytes, memory in MB of 10^6 bytes. Before each transfer, untimed: old
  copies are deleted, dirty pages flushed (\`sync\`), and the source read once so that it
  is in the page cache (a VM may drop cached files within a minute): rows measure CPU,
  memory and the network stack, not the disk. Writing the arrived copy into new memory is
  part of every row, Ferry's and the peers' alike.
- **Ferry** rows spawn the \`ferry\` CLI against a real \`ferryd\` child process: what a user
  sees, including Node start, TLS, the login and, for uploads, the server's SHA-256
  check and fsync before it acknowledges. The CLI uses a saved login (\`ferry login\`, run
  once at set-up, as scp, sftp and rsync here use an ssh key): SCRAM keys, no PBKDF2 per
  command. \`cold-ferry-ls\` is a fresh process that logs in with the password (PBKDF2
  600k) and \`cold-ferry-ls-saved\` one with the saved login: that start + login overhead
  on its own; the notes show the throughput without it. Results are checked (size every
  run, SHA-256 on the first run, outside the timing).
- **Ceilings**: \`raw-net\`/\`raw-tls\` pipe the file from the bench process to a second
  Node process (createReadStream → socket → createWriteStream: no framing, no hash, no
  fsync; TLS 1.3 with a throwaway certificate); \`sha256\` hashes it in Node in 1 MiB reads.
- **Peers**: a throwaway sshd on a free loopback port (temporary host and user keys, the
  current user, an empty HOME for its sessions: the shell sshd starts for every channel
  would otherwise read the bench user's ~/.bashrc, which can take a second); scp, sftp (\`-b\` batch) and rsync run with \`-F /dev/null\` and the
  default cipher, aes128-gcm and chacha20-poly1305 (a slot equal to the default is not
  run twice). \`peer-best-*\` is the fastest of them.
- **Over SFTP** (\`sftp-*\`): Ferry's SFTP client against OpenSSH's \`sftp\` on the same
  throwaway sshd, in the same run. ssh2 (Ferry's SSH client, default algorithms) picks the
  cipher; \`sftp\` is run with \`-c\` that cipher (the notes name it). Ferry is the CLI,
  \`ferry --protocol sftp … put/get\`, with a HOME of its own (no ~/.ssh/config) and no agent,
  process start and SSH login included, as for \`sftp -b\`; \`sftp-cold-*\` is that start +
  login + a listing alone. \`sftp-ferry-*\` is Ferry as it runs by default: each file is
  checked with the server's SHA-256 (\`sha256sum\` over an exec channel).
  \`sftp-ferry-size-*\` logs in with a second key of the account that may only speak SFTP
  (a forced command, as SFTP-only accounts are set up): Ferry then checks sizes only, and
  the difference is what the hash costs. The small-file folder moves as one folder
  (\`put -r\`/\`get -r\`).
- **CPU time**: user + system seconds of every thread of both ends of a big transfer:
  the client's from the bench's account of its reaped children (exact; scp's and sftp's
  include their ssh), the server's from \`/proc/PID/stat\` before and after (sshd's
  per-connection processes counted once they ended). \`cpu-bound-tls-*\` divides the
  file by Ferry's CPU seconds per core: no spreading of that work over this machine's
  cores can make the transfer faster than that.
- **Round trips**: exec is \`session.exec('true')\` in-process on an open session vs
  \`ssh true\` over an open ControlMaster (process start included); cold rows are a fresh
  \`ferry ls\` process (password, or a saved login), a fresh in-process engine connect +
  login (password, or SCRAM keys cached from an earlier login) + list, and a fresh
  \`ssh true\`.
- **Memory**: ferryd's VmHWM is reset (\`/proc/PID/clear_refs\`) before each transfer and
  read while it runs; the CLI's VmHWM/VmRSS is polled every 50 ms. Targets use the worst run.
- **Responsiveness**: engine \`list('/')\` on a second, separately logged-in session,
  back to back, idle and then while \`ferry put\` uploads the big file (from its first
  bytes on the server until the CLI exits).
- **Concurrent clients**: in-process engine sessions started together, each logging in
  with the password (PBKDF2 in this one process), listing, and downloading 1 MiB through
  the transfer queue.
- **Over an emulated link** (\`link-*\`): each tool through proxies of its own in the bench
  process (delay and rate per direction, see the prose above the results for what they
  do not emulate) in front of the same ferryd and sshd. \`link-*-flat-*\` is the same
  folder move through a proxy with no delay at the same rate, in the same run;
  \`link-*-rtts-*\` is (time over the link − time without) ÷ RTT. Notes give the bytes each
  direction carried and the connections opened. Big files: \`big-*\` is size ÷ wall time,
  \`big-net-*\` the same with the wall time less that tool's cold connect over the same
  proxy in the same run (\`link-*-connect-*\`).`;

export function markdownBlock(o: {
  machine: MachineInfo;
  opts: Options;
  facts: readonly string[];
  table: string;
  targets: string;
  seconds: number;
}): string {
  const m = o.machine;
  const options = `--size-mib ${o.opts.sizeMiB} --files ${o.opts.files} --link-files ${o.opts.linkFiles} --link-mib ${o.opts.linkMiB} --runs ${o.opts.runs}${o.opts.quick ? ' --quick' : ''}${o.opts.only ? ` --only ${o.opts.only.source}` : ''}`;
  return [
    BEGIN,
    '<!-- Generated by `npm run bench` (bench/run.ts): edits between these markers are overwritten. -->',
    '',
    '## Results',
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB RAM, ${m.kernel}`,
    `- Node ${m.node}; run ${m.date}; options \`${options}\`; the whole bench took ${Math.round(o.seconds)} s`,
    ...o.facts.map((f) => `- ${f}`),
    '',
    o.table,
    '',
    '### Targets',
    '',
    o.targets,
    '',
    HOW_MEASURED,
    END,
  ].join('\n');
}

const SKELETON = (block: string): string => `# Benchmarks

\`npm run bench\` measures Ferry against its own ceilings and against scp, sftp and rsync,
and Ferry's SFTP client against OpenSSH's sftp, side by side in one run on loopback, and
rewrites the part of this file between the bench markers. Options: \`--size-mib N\` (big file, default 1024), \`--files N\` (small-file
folder, default 2000), \`--runs N\` (default 3), \`--only REGEX\` (row ids), \`--quick\`
(tiny sizes, for the test), \`--out FILE\` (default docs/BENCHMARKS.md), \`--no-install\`
(never apt-get the ssh peers), \`--no-peers\` (skip them), \`--json FILE\` (results as JSON too),
\`--label TEXT\` (what code was measured; by default the git commit), \`--link-files N\` and
\`--link-mib N\` (the folder and the file moved over the emulated links).

${block}

## Findings

_To be filled in by whoever tunes the engine from these numbers: where the time goes,
what was changed, and what the numbers were before and after._
`;

/** Replace the bench block in `file` (or create the file), keeping everything else. */
export async function writeMarkdown(file: string, block: string): Promise<void> {
  let existing: string | undefined;
  try {
    existing = await readFile(file, 'utf8');
  } catch {
    existing = undefined;
  }
  let text: string;
  if (existing === undefined) {
    text = SKELETON(block);
  } else {
    const begin = existing.indexOf(BEGIN);
    const end = existing.indexOf(END);
    if (begin >= 0 && end > begin) {
      text = existing.slice(0, begin) + block + existing.slice(end + END.length);
    } else {
      // No markers yet: keep the file as it is and put the results before its Findings.
      const findings = existing.search(/^## Findings/m);
      text = findings >= 0 ? `${existing.slice(0, findings)}${block}\n\n${existing.slice(findings)}` : `${existing.trimEnd()}\n\n${block}\n`;
    }
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}
