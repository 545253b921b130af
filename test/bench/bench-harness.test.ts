/**
 * The benchmark harness end to end in --quick mode (tiny sizes, one run): every row has a
 * value or says why it was skipped, the targets have ratios, and the Markdown is written
 * to a temp file (never docs/BENCHMARKS.md) with the text outside the markers kept.
 * Nothing here looks at speed: CI machines differ, and the ssh peers may be missing
 * (--no-install: their rows are then skipped, which is allowed).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO, cleanupAll, run, tempDir } from '../helpers/harness.js';

const ROWS = [
  'ferry-tls-up', 'ferry-tls-down', 'ferry-plain-up', 'ferry-plain-down', 'ferry-tls-up-mid', 'ferry-tls-down-mid',
  'raw-net', 'raw-tls', 'sha256',
  ...['scp', 'sftp'].flatMap((tool) => ['up', 'down'].flatMap((dir) => ['default', 'aes128-gcm', 'chacha20'].map((c) => `${tool}-${dir}-${c}`))),
  'peer-best-up', 'peer-best-down',
  ...['up', 'down'].flatMap((dir) => [`cpu-ferry-tls-${dir}`, `cpu-peer-best-${dir}`, `cpu-bound-tls-${dir}`]),
  ...['ferry', 'scp', 'sftp', 'rsync'].flatMap((tool) => [`folder-${tool}-up`, `folder-${tool}-down`]),
  ...['up', 'down'].flatMap((dir) =>
    ['ferry', 'openssh', 'ferry-size'].flatMap((who) => [`sftp-${who}-${dir}`, `cpu-sftp-${who}-${dir}`, `sftp-folder-${who}-${dir}`]),
  ),
  'sftp-cold-ferry', 'sftp-cold-openssh',
  'exec-ferry', 'exec-ssh-cm', 'cold-ferry-ls', 'cold-ferry-ls-saved', 'cold-engine-password', 'cold-engine-keys', 'cold-ssh',
  'rss-ferryd-big', 'rss-ferry-big', 'rss-ferryd-mid', 'rss-ferry-mid',
  'ls-idle', 'ls-idle-p95', 'ls-busy', 'ls-busy-p95',
  'conc-ok', 'conc-total', 'conc-p99',
  // Over the emulated link (--quick measures one short link, 10 ms).
  ...['ferry', 'scp', 'sftp', 'rsync'].flatMap((tool) =>
    ['up', 'down'].flatMap((dir) => ['folder', 'flat-folder', 'rtts', 'big', 'big-net'].map((kind) => `link-10ms-${kind}-${tool}-${dir}`)),
  ),
  'link-10ms-connect-ferry', 'link-10ms-connect-ssh',
];

/** Round trips paid are a difference of two wall times: on a short link, noise may make one negative. */
const SIGNED_ROW = /^link-\d+ms-rtts-/;

/** Rows that need the ssh peers: they may be skipped (with a reason) where sshd is missing. */
const PEER_ROW = /^(scp|sftp|peer-best|cpu-peer-best|cpu-sftp|folder-(scp|sftp|rsync)|exec-ssh|cold-ssh|link-\d+ms-(.+-(scp|sftp|rsync)-(up|down)|connect-ssh)$)/;

/** Markdown table rows as arrays of trimmed cells. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('| ') && !/^\|\s*-+\s*\|/.test(line))
    .map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

afterAll(cleanupAll);

describe('npm run bench --quick', () => {
  it('measures every row, computes the ratios and writes the markdown', async () => {
    const dir = await tempDir('ferry-bench-test-');
    const out = path.join(dir, 'BENCHMARKS.md');
    // An existing file: the text outside the markers (the Findings) must survive a rewrite.
    await writeFile(out, '# Benchmarks\n\n<!-- bench:begin -->\nold numbers\n<!-- bench:end -->\n\n## Findings\n\nKeep this finding.\n');
    const result = await run(path.join(REPO, 'dist/bench/run.js'), ['--quick', '--runs', '1', '--no-install', '--out', out], { timeoutMs: 210_000 });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);

    const rows = tableRows(result.stdout);
    const byId = new Map(rows.filter((r) => ROWS.includes(r[0]!)).map((r) => [r[0]!, r]));
    expect([...byId.keys()].sort()).toEqual([...ROWS].sort());
    const peersSkipped = byId.get('scp-up-default')![2]!.startsWith('skipped: ');
    for (const id of ROWS) {
      const median = byId.get(id)![2]!;
      if (median.startsWith('skipped: ')) {
        expect(median.length, `${id} says why it was skipped`).toBeGreaterThan('skipped: '.length + 3);
        // Only the peers (missing sshd) and a cipher equal to the default may be skipped.
        expect(PEER_ROW.test(id), `${id}: ${median}`).toBe(true);
      } else if (median.startsWith('error: ')) {
        // A transfer that hung is cut short and reported (a finding about the tool measured,
        // not a harness failure); any other error is the harness's own and fails the test.
        expect(median, id).toMatch(/^error: .*stalled: no progress/);
      } else {
        expect(median, `${id} has a number`).toMatch(SIGNED_ROW.test(id) ? /^-?\d+(\.\d+)?$/ : /^\d+(\.\d+)?$/);
      }
    }

    // Targets: every one has a ratio and a verdict; only those against the peers may lack one.
    const targets = rows.filter((r) => r.length === 5 && ['PASS', 'MISS', 'n/a'].includes(r[3]!));
    expect(targets.length).toBeGreaterThanOrEqual(20);
    for (const [text, row, ratio, verdict, detail] of targets) {
      if (verdict === 'n/a') {
        // Without a value on one side there is no ratio: the peers were skipped, that row
        // was (rsync not installed, say), or a transfer stalled (see above).
        const sides = [row!, ...(/no value for (\S+)/.exec(detail!)?.slice(1) ?? [])];
        const explained = sides.some((id) => (peersSkipped && PEER_ROW.test(id)) || /^(skipped|error): /.test(byId.get(id)?.[2] ?? ''));
        expect(explained, `${text}: no ratio`).toBe(true);
      } else {
        expect(ratio, text).toMatch(SIGNED_ROW.test(row!) ? /^-?\d+\.\d+× \(need [≥≤<>=] [\d.]+\)$/ : /^\d+\.\d+× \(need [≥≤<>=] [\d.]+\)$/);
      }
    }
    // The main table carries the verdicts next to the rows too.
    expect(byId.get('ferry-plain-up')![7]).toMatch(/^(PASS|MISS) \d+\.\d+×/);
    // Over the link: every folder row checked its files and says what crossed the wire;
    // Ferry's rows carry their targets (files/s against rsync, round trips, the link rate).
    expect(byId.get('link-10ms-folder-ferry-up')![8]).toMatch(/^on the wire ↑ [\d.]+ MB ↓ [\d.]+ MB, \d+ connections?$/);
    expect(byId.get('link-10ms-rtts-ferry-down')![8]).toMatch(/s over the link − [\d.]+ s without$/);
    expect(byId.get('link-10ms-big-net-ferry-up')![8]).toMatch(/wall time minus `ferry ls \/`/);
    for (const id of ['link-10ms-rtts-ferry-up', 'link-10ms-big-net-ferry-down']) expect(byId.get(id)![7], id).toMatch(/^(PASS|MISS) -?\d+\.\d+×/);
    // Both ends' CPU time is measured (exactly, from /proc), and says how it splits.
    expect(byId.get('ferry-tls-up')![8]).toMatch(/CPU ferry \d+(\.\d+)? s \+ ferryd \d+(\.\d+)? s/);
    expect(Number(byId.get('cpu-ferry-tls-up')![2])).toBeGreaterThan(0);
    // Over SFTP, both sides use the cipher ssh2 negotiated, and each Ferry row says which check it made.
    if (!byId.get('sftp-ferry-up')![2]!.startsWith('skipped: ')) {
      const cipher = /^([\w.@-]+);/.exec(byId.get('sftp-ferry-up')![8]!)?.[1];
      expect(cipher, 'the cipher leads the notes').toMatch(/^(aes|chacha)/);
      for (const dir of ['up', 'down']) {
        expect(byId.get(`sftp-ferry-${dir}`)![8]).toMatch(new RegExp(`^${cipher}; check (sha256|size); CPU ferry [\\d.]+ s \\+ sshd [\\d.]+ s`));
        expect(byId.get(`sftp-ferry-size-${dir}`)![8]).toMatch(new RegExp(`^${cipher}; check size; CPU ferry`));
        expect(byId.get(`sftp-openssh-${dir}`)![8]).toMatch(new RegExp(`^${cipher}; CPU sftp [\\d.]+ s \\+ sshd`));
        expect(byId.get(`sftp-folder-openssh-${dir}`)![8]).toMatch(new RegExp(`^${cipher}; `));
      }
      expect(Number(byId.get('cpu-sftp-ferry-up')![2])).toBeGreaterThan(0);
      expect(byId.get('sftp-ferry-up')![7]).toMatch(/^(PASS|MISS) \d+\.\d+×/);
    }

    const md = await readFile(out, 'utf8');
    expect(md).toContain('Keep this finding.');
    expect(md).not.toContain('old numbers');
    expect(md).toMatch(/<!-- bench:begin -->[\s\S]*## Results[\s\S]*<!-- bench:end -->/);
    expect(md).toMatch(/Machine: .+, \d+ cores/);
    expect(md).toContain(`Node ${process.version}`);
    for (const id of ROWS) expect(md).toContain(`| ${id} `);
    expect(md).toContain('### Targets');
    if (!peersSkipped) expect(md).toMatch(/Over SFTP: ssh2 \(Ferry's SSH client, its default algorithms\) negotiates \S+ with this sshd/);
  }, 240_000);

  it('says why the peer rows are skipped when there is no sshd, and still compares the rest', async () => {
    // What CI sees on a machine without sshd: --no-peers takes the same path as a failed install.
    const dir = await tempDir('ferry-bench-test-');
    const out = path.join(dir, 'BENCHMARKS.md');
    const only = '^(scp-up|peer-best|folder-(ferry|scp|rsync)-up|exec|cold-ssh|cold-engine-keys|sftp-ferry-up|sftp-folder-ferry-up|cpu-sftp-ferry-up)';
    const result = await run(path.join(REPO, 'dist/bench/run.js'), ['--quick', '--runs', '1', '--no-peers', '--only', only, '--out', out], {
      timeoutMs: 120_000,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const rows = new Map(tableRows(result.stdout).filter((r) => r[0] && r.length === 9).map((r) => [r[0]!, r]));
    for (const id of ['scp-up-default', 'scp-up-aes128-gcm', 'peer-best-up', 'peer-best-down', 'folder-scp-up', 'folder-rsync-up', 'exec-ssh-cm', 'cold-ssh', 'sftp-ferry-up', 'sftp-folder-ferry-up', 'cpu-sftp-ferry-up']) {
      expect(rows.get(id)?.[2], id).toBe('skipped: peers turned off (--no-peers)');
    }
    expect(rows.get('folder-ferry-up')?.[2]).toMatch(/^(\d+(\.\d+)?|error: .*stalled: no progress.*)$/);
    expect(rows.get('exec-ferry')?.[2]).toMatch(/^\d+(\.\d+)?$/);
    expect(rows.get('cold-engine-keys')?.[7]).toMatch(/^(PASS|MISS) \d+\.\d+×/);
    expect(rows.get('exec-ferry')?.[7]).toBe('n/a —');
    expect(rows.has('ferry-tls-up')).toBe(false); // --only
    expect(await readFile(out, 'utf8')).toContain('## Findings');
  }, 150_000);
});
