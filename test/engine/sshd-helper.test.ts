/**
 * Proves test/helpers/sshd.ts with the system's OpenSSH client: each login method the SFTP
 * tests rely on works where it should and is refused where it should not.
 */
import { spawn } from 'node:child_process';
import { access, chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';

const root = process.getuid?.() === 0;

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    // A new session: no controlling terminal, so nothing can prompt on one.
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A child that exits without reading its input must not fail the run.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

let sshd: TestSshd;
let knownHosts: string;
/** A no-agent environment: only what each test passes explicitly can authenticate. */
const baseEnv: NodeJS.ProcessEnv = { ...process.env, SSH_AUTH_SOCK: undefined, SSH_ASKPASS: undefined, DISPLAY: undefined };

/** knownHostsLine names `port`; the same key serves the other two ports. */
function knownHostsFor(line: string): string {
  return [sshd.port, sshd.noExecPort, sshd.kbdPort].map((p) => line.replace(`]:${sshd.port} `, `]:${p} `) + '\n').join('');
}

/** ssh's options for this server: its key pinned, nothing from the user's own config. */
function options(file = knownHosts, batch = true): string[] {
  return [
    '-F', '/dev/null',
    '-o', `UserKnownHostsFile=${file}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `BatchMode=${batch ? 'yes' : 'no'}`,
    '-o', 'ConnectTimeout=10',
  ];
}

function ssh(port: number, extra: readonly string[], command: string, env: NodeJS.ProcessEnv = baseEnv): Promise<Ran> {
  return run('ssh', [...options(), '-p', String(port), ...extra, `${sshd.user}@${sshd.host}`, command], { env });
}

/** An SSH_ASKPASS program that answers every prompt with `answer` (and notes the prompts). */
async function askpass(name: string, answer: string): Promise<{ env: NodeJS.ProcessEnv; prompts: string }> {
  const file = path.join(sshd.clientHome, name);
  const prompts = `${file}.prompts`;
  await writeFile(file, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${prompts}'\nprintf '%s\\n' '${answer}'\n`);
  await chmod(file, 0o755);
  // FORCE: OpenSSH asks through the program even without a terminal (since 8.4).
  return { env: { ...baseEnv, SSH_ASKPASS: file, SSH_ASKPASS_REQUIRE: 'force' }, prompts };
}

beforeAll(async () => {
  sshd = await startTestSshd();
  knownHosts = path.join(sshd.clientHome, 'known_hosts_pinned');
  await writeFile(knownHosts, knownHostsFor(sshd.knownHostsLine));
});

afterAll(async () => {
  await sshd?.stop();
});

describe('the test sshd', () => {
  it('describes itself: three distinct ports, a fingerprint and a known_hosts line for the host key', async () => {
    expect(new Set([sshd.port, sshd.noExecPort, sshd.kbdPort]).size).toBe(3);
    expect(sshd.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(sshd.knownHostsLine).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 AAAA\\S+$`));
    expect(path.isAbsolute(sshd.home)).toBe(true);
    expect(await readdir(path.join(sshd.clientHome, '.ssh'))).toEqual([]);
    // What the server really presents, fetched independently of the helper.
    const scan = await run('ssh-keyscan', ['-t', 'ed25519', '-p', String(sshd.port), sshd.host]);
    const printed = await run('ssh-keygen', ['-l', '-f', '-'], { input: scan.stdout });
    expect(printed.stdout).toContain(sshd.fingerprint);
  });

  it('logs in with keyFile and runs a command; files it makes in home belong to the account', async () => {
    const before = sshd.authRequests();
    const made = path.join(sshd.home, 'made-over-ssh');
    const result = await ssh(sshd.port, ['-o', 'IdentitiesOnly=yes', '-i', sshd.keyFile], `echo hi && touch '${made}'`);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hi\n');
    await vi.waitFor(() => expect(sshd.authRequests()).toBeGreaterThan(before));
    const owner = root ? Number((await run('id', ['-u', sshd.user])).stdout.trim()) : process.getuid!();
    expect((await stat(made)).uid).toBe(owner);
    expect((await stat(sshd.home)).uid).toBe(owner);
  });

  it('logs in with the agent key only while the agent is offered', async () => {
    // IdentitiesOnly=yes would hide every agent key that no -i names.
    const agentArgs = ['-o', 'IdentitiesOnly=no', '-o', `IdentityAgent=${sshd.agentSocket}`];
    const withAgent = await ssh(sshd.port, agentArgs, 'echo hi', { ...baseEnv, SSH_AUTH_SOCK: sshd.agentSocket });
    expect(withAgent.stdout).toBe('hi\n');
    // The same client without the agent has no key the server takes.
    const without = await ssh(sshd.port, ['-o', 'IdentitiesOnly=no', '-o', 'IdentityAgent=none'], 'echo hi');
    expect(without.stdout).toBe('');
    expect(without.stderr).toMatch(/Permission denied/);
    const listed = await run('ssh-add', ['-l'], { env: { ...baseEnv, SSH_AUTH_SOCK: sshd.agentSocket } });
    expect(listed.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('accepts the encrypted key with its passphrase, and the key really is encrypted', async () => {
    expect((await run('ssh-keygen', ['-y', '-P', '', '-f', sshd.encryptedKeyFile])).code).not.toBe(0);
    expect((await run('ssh-keygen', ['-y', '-P', sshd.passphrase, '-f', sshd.encryptedKeyFile])).code).toBe(0);
    const { env, prompts } = await askpass('askpass-passphrase', sshd.passphrase);
    const args = ['-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-i', sshd.encryptedKeyFile];
    const result = await run('ssh', [...options(knownHosts, false), '-p', String(sshd.port), ...args, `${sshd.user}@${sshd.host}`, 'echo hi'], { env });
    expect(result.stdout).toBe('hi\n');
    expect(await readFile(prompts, 'utf8')).toMatch(/passphrase/i);
  });

  it('runs no command on noExecPort, while sftp works there', async () => {
    const refused = await ssh(sshd.noExecPort, ['-o', 'IdentitiesOnly=yes', '-i', sshd.keyFile], 'echo hi');
    expect(refused.stdout).not.toMatch(/^hi$/m);
    expect(refused.code).not.toBe(0);
    // Logged in, then refused the command (not a failed login): sshd says so on the channel.
    expect(refused.stdout).toBe('This service allows sftp connections only.\n');
    const marker = path.join(sshd.home, 'listed-by-sftp');
    await writeFile(marker, 'x');
    const sftp = await run(
      'sftp',
      [...options(), '-o', 'IdentitiesOnly=yes', '-i', sshd.keyFile, '-P', String(sshd.noExecPort), '-b', '-', `${sshd.user}@${sshd.host}`],
      { env: baseEnv, input: `ls -1 ${sshd.home}\n` },
    );
    expect(sftp.code).toBe(0);
    expect(sftp.stdout).toContain('listed-by-sftp');
  });

  it('gives the account a password when root, and none otherwise', async () => {
    if (!root) {
      expect(sshd.password).toBeNull();
      expect(sshd.user).toBe(os.userInfo().username);
      return;
    }
    expect(sshd.user).toMatch(/^ferry-t[a-z0-9]{6}$/);
    expect(sshd.password).toMatch(/^.{12,}$/);
    // "P": a usable password is set.
    expect((await run('passwd', ['-S', sshd.user])).stdout.split(' ')[1]).toBe('P');
  });

  it('checks password and keyboard-interactive logins through PAM when root', async () => {
    if (!root) {
      // No password exists to try: the non-root sshd runs without PAM.
      expect(sshd.password).toBeNull();
      return;
    }
    const good = await askpass('askpass-good', sshd.password!);
    const methodOnly = (method: string): string[] => [
      '-o', 'PubkeyAuthentication=no', '-o', `PreferredAuthentications=${method}`, '-o', 'NumberOfPasswordPrompts=1',
    ];
    const password = await run('ssh', [...options(knownHosts, false), '-p', String(sshd.port), ...methodOnly('password'), `${sshd.user}@${sshd.host}`, 'echo pw'], { env: good.env });
    expect(password.stdout).toBe('pw\n');
    const kbd = await run('ssh', [...options(knownHosts, false), '-p', String(sshd.port), ...methodOnly('keyboard-interactive'), `${sshd.user}@${sshd.host}`, 'echo kbd'], { env: good.env });
    expect(kbd.stdout).toBe('kbd\n');

    // kbdPort: keyboard-interactive works, the password method and keys are not offered.
    const onKbd = (extra: string[], batch: boolean): Promise<Ran> =>
      run('ssh', [...options(knownHosts, batch), '-p', String(sshd.kbdPort), ...extra, `${sshd.user}@${sshd.host}`, 'echo on-kbd-port'], { env: good.env });
    expect((await onKbd(methodOnly('keyboard-interactive'), false)).stdout).toBe('on-kbd-port\n');
    const pw = await onKbd(methodOnly('password'), false);
    expect(pw.stdout).toBe('');
    expect(pw.stderr).toMatch(/Permission denied \(keyboard-interactive\)/);
    const key = await onKbd(['-o', 'IdentitiesOnly=yes', '-i', sshd.keyFile], true);
    expect(key.stdout).toBe('');

    // A wrong answer is refused (PAM really checks it).
    const bad = await askpass('askpass-bad', 'not-the-password');
    const wrong = await run('ssh', [...options(knownHosts, false), '-p', String(sshd.kbdPort), ...methodOnly('keyboard-interactive'), `${sshd.user}@${sshd.host}`, 'echo no'], { env: bad.env });
    expect(wrong.stdout).toBe('');
    expect(wrong.code).not.toBe(0);
  });

  it('changes its host key: the old known_hosts line fails verification, the new one works', async () => {
    const oldFingerprint = sshd.fingerprint;
    const oldLine = sshd.knownHostsLine;
    const newFingerprint = await sshd.changeHostKey();
    expect(newFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(newFingerprint).not.toBe(oldFingerprint);
    expect(sshd.fingerprint).toBe(newFingerprint);
    expect(sshd.knownHostsLine).not.toBe(oldLine);

    const key = ['-o', 'IdentitiesOnly=yes', '-i', sshd.keyFile];
    const stale = await ssh(sshd.port, key, 'echo hi');
    expect(stale.stdout).toBe('');
    expect(stale.stderr).toMatch(/Host key verification failed/);

    const fresh = path.join(sshd.clientHome, 'known_hosts_new');
    await writeFile(fresh, knownHostsFor(sshd.knownHostsLine));
    const after = await run('ssh', [...options(fresh), '-p', String(sshd.port), ...key, `${sshd.user}@${sshd.host}`, 'echo hi'], { env: baseEnv });
    expect(after.stdout).toBe('hi\n');
    expect(sshd.log()).toContain(`Server listening on 127.0.0.1 port ${sshd.kbdPort}`);
  });

  it('stop() ends sshd, removes the account and every folder it made', async () => {
    const made = [sshd.home, sshd.clientHome, path.dirname(sshd.keyFile)];
    await sshd.stop();
    const connects = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: sshd.host, port: sshd.port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    expect(connects).toBe(false);
    for (const dir of made) await expect(access(dir)).rejects.toThrow();
    if (root) expect((await run('getent', ['passwd', sshd.user])).code).not.toBe(0);
    await sshd.stop(); // twice is harmless (afterAll calls it again)
  });
});
