/**
 * The contract's runtime checks (shared/common/contract.ts) for connections: the protocol
 * defaults to Ferry's (old callers and profiles), each protocol's options are refused for
 * the other, key files are absolute, and secrets are bounded.
 */
import { describe, expect, it } from 'vitest';
import { CALLS, ConnectInput, ProfileInput } from '../../shared/common/contract.js';

const base = { host: 'files.example', port: 22, user: 'alice' };
const issues = (result: { success: boolean; error?: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } }): string[] =>
  result.success ? [] : result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

describe('the connection contract', () => {
  it('reads a connect or a profile without a protocol as Ferry’s', () => {
    expect(ConnectInput.parse({ ...base, password: 'pw' })).toEqual({ ...base, password: 'pw', protocol: 'ferry' });
    expect(ProfileInput.parse({ ...base, name: 'Old' })).toEqual({ ...base, name: 'Old', protocol: 'ferry' });
    expect(CALLS['session:connect'].parse([{ ...base, protocol: 'sftp', agent: true }])).toEqual([{ ...base, protocol: 'sftp', agent: true }]);
  });

  it('takes SFTP’s key file, agent and passphrase', () => {
    const input = { ...base, protocol: 'sftp', identityFile: '/home/alice/.ssh/id_ed25519', agent: false, passphrase: 'correct horse' };
    expect(ConnectInput.parse(input)).toEqual(input);
    expect(ConnectInput.parse({ ...input, identityFile: '~/.ssh/id_work' }).identityFile).toBe('~/.ssh/id_work');
    expect(ConnectInput.parse({ ...input, identityFile: 'C:\\Users\\alice\\.ssh\\id_rsa' }).identityFile).toBe('C:\\Users\\alice\\.ssh\\id_rsa');
  });

  it('refuses one protocol’s options for the other, not silently dropping them', () => {
    expect(issues(ConnectInput.safeParse({ ...base, protocol: 'sftp', plain: true }))).toEqual([expect.stringMatching(/^plain: SSH is always encrypted/)]);
    expect(issues(ConnectInput.safeParse({ ...base, identityFile: '/k', passphrase: 'p' }))).toEqual([
      'identityFile: identityFile is for SFTP only',
      'passphrase: passphrase is for SFTP only',
    ]);
    expect(issues(ProfileInput.safeParse({ ...base, name: 'x', protocol: 'ferry', agent: false }))).toEqual(['agent: agent is for SFTP only']);
    expect(ProfileInput.safeParse({ ...base, name: 'x', protocol: 'sftp', insecurePlainOnNetwork: true }).success).toBe(false);
  });

  it('refuses relative key files, unknown protocols and unbounded secrets', () => {
    const sftp = { ...base, protocol: 'sftp' };
    expect(issues(ConnectInput.safeParse({ ...sftp, identityFile: 'id_rsa' }))).toEqual([expect.stringMatching(/^identityFile: the key file must be an absolute path/)]);
    expect(ConnectInput.safeParse({ ...sftp, identityFile: '/k\0' }).success).toBe(false);
    expect(ConnectInput.safeParse({ ...sftp, identityFile: '' }).success).toBe(false);
    expect(ConnectInput.safeParse({ ...base, protocol: 'scp' }).success).toBe(false);
    expect(ConnectInput.safeParse({ ...sftp, passphrase: 'x'.repeat(1025) }).success).toBe(false);
    expect(ConnectInput.safeParse({ ...sftp, passphrase: 'x'.repeat(1024) }).success).toBe(true);
    expect(ConnectInput.safeParse({ ...sftp, agent: 'yes' }).success).toBe(false);
  });
});
