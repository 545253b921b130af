import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExec, execEnvironment, type ExecOptions } from '../../server/exec-runner.js';
import { FerryError } from '../../shared/common/errors.js';

let root: string;
beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'ferry-exec-')));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Collected {
  stdout: string;
  stderr: string;
  order: Array<'stdout' | 'stderr'>;
}

function run(command: string, extra: Partial<ExecOptions> = {}) {
  const out: Collected = { stdout: '', stderr: '', order: [] };
  const running = startExec({
    command,
    cwd: root,
    home: root,
    user: 'alice',
    timeoutMs: 20_000,
    outputCap: 1 << 20,
    onOutput: (stream, chunk) => {
      out[stream] += chunk.toString('utf8');
      out.order.push(stream);
    },
    ...extra,
  });
  return { running, out };
}

/** Gone, or a zombie waiting for a reaper that is not ours to wait for. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) Z/.test(stat);
}

async function waitDead(pid: number, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await isAlive(pid))) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

describe('execEnvironment', () => {
  it('is an allowlist', () => {
    const env = execEnvironment('/home/alice', 'alice', { SECRET: 'x', PATH: '/evil', LANG: 'C.UTF-8', HOME: '/root' });
    expect(env).toEqual({
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: '/home/alice',
      USER: 'alice',
      LOGNAME: 'alice',
      SHELL: '/bin/sh',
      TERM: 'xterm-256color',
      FERRY: '1',
      LANG: 'C.UTF-8',
    });
    expect(execEnvironment('/h', 'u', { LC_ALL: 'C' }).LC_ALL).toBe('C');
    expect('LANG' in execEnvironment('/h', 'u', {})).toBe(false);
  });
});

describe('startExec', () => {
  it('delivers stdout and stderr separately', async () => {
    const { running, out } = run('echo out; echo err >&2');
    expect(typeof running.pid).toBe('number');
    expect(await running.done).toEqual({ code: 0, signal: null, reason: 'exit' });
    expect(out.stdout).toBe('out\n');
    expect(out.stderr).toBe('err\n');
  });

  it('propagates the exit code', async () => {
    const { running } = run('exit 3');
    expect(await running.done).toEqual({ code: 3, signal: null, reason: 'exit' });
  });

  it('delivers output in order', async () => {
    const { running, out } = run('seq 1 50000');
    await running.done;
    expect(out.stdout).toBe(Array.from({ length: 50000 }, (_, i) => `${i + 1}\n`).join(''));
  });

  it('hides the server environment and sets HOME, USER and FERRY', async () => {
    process.env['FERRY_TEST_SECRET'] = 'hunter2';
    try {
      const home = join(root, 'home');
      const { running, out } = run('env', { home });
      await running.done;
      expect(out.stdout).not.toContain('FERRY_TEST_SECRET');
      expect(out.stdout).not.toContain('hunter2');
      const lines = out.stdout.split('\n');
      expect(lines).toContain(`HOME=${home}`);
      expect(lines).toContain('USER=alice');
      expect(lines).toContain('FERRY=1');
      expect(lines).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    } finally {
      delete process.env['FERRY_TEST_SECRET'];
    }
  });

  it('runs in the given folder', async () => {
    const { running, out } = run('pwd');
    await running.done;
    expect(out.stdout).toBe(`${root}\n`);
  });

  it('cancel kills the whole process group, grandchildren included', async () => {
    let grandchild = 0;
    let sawPid!: () => void;
    const pidSeen = new Promise<void>((resolve) => (sawPid = resolve));
    const { running } = run('sleep 30 & echo $!; sleep 30', {
      onOutput: (_stream, chunk) => {
        grandchild = Number(chunk.toString().trim());
        sawPid();
      },
    });
    await pidSeen;
    expect(grandchild).toBeGreaterThan(0);
    expect(await isAlive(grandchild)).toBe(true);
    const started = Date.now();
    running.cancel();
    const result = await running.done;
    expect(result).toEqual({ code: null, signal: 'SIGKILL', reason: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await waitDead(grandchild)).toBe(true);
    expect(await waitDead(running.pid!)).toBe(true);
  });

  it('stops at the timeout', async () => {
    const started = Date.now();
    const { running } = run('sleep 30', { timeoutMs: 200 });
    expect(await running.done).toMatchObject({ reason: 'timeout', code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops promptly at the output cap, delivering exactly the cap', async () => {
    const started = Date.now();
    let bytes = 0;
    const { running } = run('yes', {
      outputCap: 100_000,
      onOutput: (_stream, chunk) => {
        bytes += chunk.length;
      },
    });
    expect(await running.done).toMatchObject({ reason: 'output-cap' });
    expect(bytes).toBe(100_000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('pauses the command while onOutput is pending (backpressure)', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let bytes = 0;
    const { running } = run('head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2', {
      outputCap: 10_000_000,
      onOutput: async (_stream, chunk) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        bytes += chunk.length;
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
      },
    });
    expect(await running.done).toEqual({ code: 0, signal: null, reason: 'exit' });
    expect(maxInFlight).toBe(1);
    expect(bytes).toBe(6_000_000);
  });

  it('fails and kills the command when onOutput fails', async () => {
    const { running } = run('yes', {
      onOutput: () => Promise.reject(new FerryError('ECONN', 'client gone')),
    });
    await expect(running.done).rejects.toMatchObject({ code: 'ECONN', message: 'client gone' });
    expect(await waitDead(running.pid!)).toBe(true);
  });

  it('does not wait for background jobs after the shell exits', async () => {
    const started = Date.now();
    const { running, out } = run('sleep 30 & echo started');
    expect(await running.done).toEqual({ code: 0, signal: null, reason: 'exit' });
    expect(out.stdout).toBe('started\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('does not hang on a process that left the group but holds the output open', async () => {
    const started = Date.now();
    const { running, out } = run('setsid sleep 30 & echo $!; sleep 0.3');
    try {
      expect(await running.done).toEqual({ code: 0, signal: null, reason: 'exit' });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      const escaped = Number(out.stdout.trim());
      if (escaped > 0) process.kill(escaped, 'SIGKILL');
    }
  });

  it('reports a missing working folder as ENOENT', async () => {
    const { running } = run('true', { cwd: join(root, 'missing') });
    const err = await running.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('ENOENT');
    expect((err as FerryError).message).toMatch(/working folder does not exist/);
    expect((err as FerryError).message).not.toContain(root);
    running.cancel(); // harmless after a failure
  });
});
