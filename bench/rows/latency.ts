/**
 * Round trips: a command (`true`) on an open session against ssh over an open
 * ControlMaster connection, and a cold start (connect + login + first listing) against a
 * fresh ssh. Each run's value is the median of its samples (its p95 is shown beside it).
 */
import type { Bench, Options, Recorder, RowSpec, Task } from '../core.js';
import type { RemoteSession } from '../../engine/wire/session.js';
import type { ScramClientKeys } from '../../shared/node/scram.js';
import { FERRY, REPO, type BenchServer } from '../ferryd.js';
import { fmt, median, now, percentile, runOk } from '../measure.js';
import type { SshPeer } from '../sshd.js';

export function latencyRows(opts: Options): RowSpec[] {
  const group = 'round trips';
  return [
    { id: 'exec-ferry', group, label: `Ferry exec \`true\` on an open session (engine, median of ${opts.execCount})`, unit: 'ms', better: 'lower' },
    { id: 'exec-ssh-cm', group, label: `ssh \`true\` over an open ControlMaster (process start incl., median of ${opts.execCount})`, unit: 'ms', better: 'lower' },
    { id: 'cold-ferry-ls', group, label: `fresh \`ferry ls\` process: start + TLS + login (PBKDF2 600k) + list`, unit: 'ms', better: 'lower' },
    { id: 'cold-ferry-ls-saved', group, label: 'fresh `ferry ls` process with a saved login (`ferry login`: no PBKDF2)', unit: 'ms', better: 'lower' },
    { id: 'cold-engine-password', group, label: 'fresh engine connect + login with the password + list (in-process)', unit: 'ms', better: 'lower' },
    { id: 'cold-engine-keys', group, label: 'fresh engine connect + login with cached SCRAM keys + list (in-process)', unit: 'ms', better: 'lower' },
    { id: 'cold-ssh', group, label: 'fresh `ssh … true` (no ControlMaster)', unit: 'ms', better: 'lower' },
  ];
}

/** Record a run's median of `samples` (ms), with the p95 beside it. */
function recordSamples(rec: Recorder, row: string, samples: number[]): void {
  rec.record(row, median(samples), { note: `p95 ${fmt(percentile(samples, 95))} ms, n=${samples.length}` });
}

async function sshPeer(b: Bench): Promise<SshPeer> {
  const peer = await b.ssh();
  if (typeof peer === 'string') throw new Error(peer);
  return peer;
}

export function latencyTasks(b: Bench): Task[] {
  let server: BenchServer;
  let session: RemoteSession;
  let keys: ScramClientKeys | undefined;
  const ferry = async (): Promise<string | undefined> => {
    server = await b.tls();
    if (!session) {
      session = await server.connect();
      keys = session.keys;
      b.onCleanup(async () => session.close());
    }
    return undefined;
  };
  const n = b.opts.execCount;
  const cold = b.opts.coldCount;
  return [
    {
      rows: ['exec-ferry'],
      prepare: ferry,
      async run(_run, rec) {
        const once = async (): Promise<number> => {
          const started = now();
          const exit = await session.exec('true', () => undefined);
          const ms = now() - started;
          if (exit.code !== 0) throw new Error(`exec true exited ${exit.code}`);
          return ms;
        };
        for (let i = 0; i < 3; i++) await once(); // warm-up, untimed
        const samples: number[] = [];
        for (let i = 0; i < n; i++) samples.push(await once());
        recordSamples(rec, 'exec-ferry', samples);
      },
    },
    {
      rows: ['exec-ssh-cm'],
      async prepare() {
        const peer = await b.ssh();
        return typeof peer === 'string' ? peer : undefined;
      },
      async run(_run, rec) {
        const peer = await sshPeer(b);
        const args = [...peer.controlArgs(), 'true'];
        // Opens the master (or finds it): ControlPersist=60 may have let it go since the last run.
        await runOk(peer.tools.ssh, args, { timeoutMs: 30_000 });
        const samples: number[] = [];
        for (let i = 0; i < n; i++) samples.push((await runOk(peer.tools.ssh, args, { timeoutMs: 30_000 })).ms);
        recordSamples(rec, 'exec-ssh-cm', samples);
      },
    },
    {
      rows: ['cold-ferry-ls', 'cold-ferry-ls-saved'],
      async prepare() {
        // The server's key is already known to both configs (set up with the server).
        await ferry();
        return undefined;
      },
      async run(_run, rec) {
        const ls = async (env: Record<string, string>): Promise<number> => {
          const result = await runOk(process.execPath, [FERRY, ...server.cliArgs(), 'ls', '/'], { env, cwd: REPO, timeoutMs: 60_000 });
          if (!result.stdout.includes('src/')) throw new Error(`ferry ls printed no listing: ${result.stdout.slice(0, 200)}`);
          return result.ms;
        };
        const password: number[] = [];
        const saved: number[] = [];
        for (let i = 0; i < cold; i++) {
          password.push(await ls(server.cliEnvPassword));
          saved.push(await ls(server.cliEnv));
        }
        recordSamples(rec, 'cold-ferry-ls', password);
        recordSamples(rec, 'cold-ferry-ls-saved', saved);
      },
    },
    {
      rows: ['cold-engine-password', 'cold-engine-keys'],
      prepare: ferry,
      async run(_run, rec) {
        if (!keys) throw new Error('the first login returned no SCRAM keys to cache');
        const sample = async (credential: Parameters<BenchServer['connect']>[0]): Promise<number> => {
          const started = now();
          const s = await server.connect(credential);
          try {
            const { entries } = await s.list('/');
            if (entries.length === 0) throw new Error('empty listing');
          } finally {
            s.close();
          }
          return now() - started;
        };
        const withPassword: number[] = [];
        for (let i = 0; i < cold; i++) withPassword.push(await sample(undefined));
        recordSamples(rec, 'cold-engine-password', withPassword);
        const withKeys: number[] = [];
        for (let i = 0; i < cold * 2; i++) withKeys.push(await sample({ keys }));
        recordSamples(rec, 'cold-engine-keys', withKeys);
      },
    },
    {
      rows: ['cold-ssh'],
      async prepare() {
        const peer = await b.ssh();
        return typeof peer === 'string' ? peer : undefined;
      },
      async run(_run, rec) {
        const peer = await sshPeer(b);
        const samples: number[] = [];
        for (let i = 0; i < cold; i++) samples.push((await runOk(peer.tools.ssh, [...peer.sshArgs(), 'true'], { timeoutMs: 30_000 })).ms);
        recordSamples(rec, 'cold-ssh', samples);
      },
    },
  ];
}
