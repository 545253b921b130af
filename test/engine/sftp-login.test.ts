/**
 * SFTP logins against a real OpenSSH sshd: every way OpenSSH users log in, ~/.ssh/config,
 * and host keys decided before any credential is sent (the person's ~/.ssh/known_hosts
 * first, then Ferry's own pinning).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { FerryError, toFerryError } from '../../shared/common/errors.js';
import { SftpRemote, type SftpOptions } from '../../engine/sftp/sftp-remote.js';
import { startTestSshd, type TestSshd } from '../helpers/sshd.js';
import { cleanupAll, tempDir } from '../helpers/harness.js';

let sshd: TestSshd;
/** A client home per test: ~/.ssh/config and known_hosts written there never leak between tests. */
let home: string;

beforeAll(async () => {
  sshd = await startTestSshd();
}, 60_000);

afterAll(async () => {
  await sshd?.stop();
  await cleanupAll();
});

async function freshHome(): Promise<string> {
  home = await tempDir('ferry-sftp-home-');
  await mkdir(path.join(home, '.ssh'), { recursive: true });
  return home;
}

/** Options that never touch the machine's real ~/.ssh nor its agent; `seen` records host-key questions. */
function options(extra: Partial<SftpOptions> = {}, seen: string[] = []): SftpOptions {
  return {
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    home,
    agent: false,
    identityFile: sshd.keyFile,
    verifyHostKey: (fingerprint) => void seen.push(fingerprint),
    ...extra,
  };
}

async function connectOk(extra: Partial<SftpOptions>): Promise<SftpRemote> {
  const remote = await SftpRemote.connect(options(extra));
  expect(remote.user.name).toBe(sshd.user);
  expect((await remote.list(sshd.home)).path).toBe(sshd.home);
  return remote;
}

async function settledAuthRequests(): Promise<number> {
  // sshd's monitor writes the line a moment after the client hears back.
  await new Promise((r) => setTimeout(r, 300));
  return sshd.authRequests();
}

describe('SFTP login', () => {
  beforeAll(freshHome);

  it('by key file, and the first-use question gets the SHA256 fingerprint before any credential', async () => {
    const seen: string[] = [];
    const before = await settledAuthRequests();
    let requestsAtQuestion = -1;
    (await SftpRemote.connect(options({}, seen))).close();
    expect(seen).toEqual([sshd.fingerprint]);
    // Asked again, but this time the question is answered "no": nothing may have been sent.
    const refused = await SftpRemote.connect(
      options({
        verifyHostKey: async () => {
          requestsAtQuestion = sshd.authRequests();
          throw new FerryError('EHOSTKEY', 'not trusted');
        },
      }),
    ).catch((e: unknown) => toFerryError(e));
    expect(refused).toBeInstanceOf(FerryError);
    expect((refused as FerryError).code).toBe('EHOSTKEY');
    expect(requestsAtQuestion).toBeGreaterThanOrEqual(before);
    expect(await settledAuthRequests()).toBe(requestsAtQuestion);
  });

  it('by ssh-agent only (no key file)', async () => {
    const remote = await connectOk({ agent: sshd.agentSocket, identityFile: undefined });
    remote.close();
  });

  it('by an encrypted key: with its passphrase, asked for when missing, refused when wrong', async () => {
    (await connectOk({ identityFile: sshd.encryptedKeyFile, passphrase: sshd.passphrase })).close();
    const asked: string[] = [];
    const remote = await connectOk({
      identityFile: sshd.encryptedKeyFile,
      askPassphrase: async (file) => {
        asked.push(file);
        return sshd.passphrase;
      },
    });
    remote.close();
    expect(asked).toEqual([sshd.encryptedKeyFile]);
    const missing = toFerryError(await SftpRemote.connect(options({ identityFile: sshd.encryptedKeyFile })).catch((e: unknown) => e));
    expect(missing.code).toBe('EAUTH');
    expect(missing.details?.passphraseFor).toBe(sshd.encryptedKeyFile);
    const wrong = toFerryError(await SftpRemote.connect(options({ identityFile: sshd.encryptedKeyFile, passphrase: 'not it' })).catch((e: unknown) => e));
    expect(wrong.code).toBe('EAUTH');
    expect(wrong.message).toMatch(/passphrase/);
  });

  it('by password, and by keyboard-interactive where that is all the server offers', async () => {
    expect(sshd.password, 'the SFTP tests run as root in CI, where the test account has a password').not.toBeNull();
    (await connectOk({ identityFile: undefined, password: sshd.password! })).close();
    (await connectOk({ identityFile: undefined, port: sshd.kbdPort, password: sshd.password! })).close();
    const wrong = toFerryError(await SftpRemote.connect(options({ identityFile: undefined, password: 'wrong' })).catch((e: unknown) => e));
    expect(wrong.code).toBe('EAUTH');
    expect(wrong.message).toContain('password');
  });

  it('honours ~/.ssh/config: a Host alias with HostName, Port, User and IdentityFile', async () => {
    await freshHome();
    await writeFile(
      path.join(home, '.ssh', 'config'),
      `Host ferry-alias\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User ${sshd.user}\n  IdentityFile ${sshd.keyFile}\n\nHost *\n  User nobody-else\n`,
    );
    const remote = await SftpRemote.connect({ host: 'ferry-alias', home, agent: false, verifyHostKey: () => undefined });
    expect(remote.host).toBe(`127.0.0.1:${sshd.port}`);
    expect(remote.user.name).toBe(sshd.user);
    remote.close();
  });
});

describe('SFTP host keys from ~/.ssh/known_hosts', () => {
  it('a key the person already trusts (plain or hashed entry) is not asked about', async () => {
    await freshHome();
    const file = path.join(home, '.ssh', 'known_hosts');
    await writeFile(file, `${sshd.knownHostsLine}\n`);
    const seen: string[] = [];
    (await SftpRemote.connect(options({}, seen))).close();
    expect(seen).toEqual([]);
    // ssh-keygen -H hashes the names, as HashKnownHosts does.
    await promisify(execFile)('ssh-keygen', ['-H', '-f', file]);
    (await SftpRemote.connect(options({}, seen))).close();
    expect(seen).toEqual([]);
  });

  it('a key that differs from the one ~/.ssh/known_hosts records is refused before any credential', async () => {
    await freshHome();
    await writeFile(path.join(home, '.ssh', 'known_hosts'), `${sshd.knownHostsLine}\n`);
    await sshd.changeHostKey();
    const before = await settledAuthRequests();
    const seen: string[] = [];
    const err = toFerryError(await SftpRemote.connect(options({}, seen)).catch((e: unknown) => e));
    expect(err.code).toBe('EHOSTKEY');
    expect(err.message).toContain(sshd.fingerprint);
    expect(seen).toEqual([]);
    expect(await settledAuthRequests()).toBe(before);
  });
});
