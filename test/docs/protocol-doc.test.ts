/**
 * docs/PROTOCOL.md is normative: its Python client is extracted and run against a real
 * ferryd, over TLS (channel-bound login, pinned key) and over plain TCP, so the document
 * cannot drift from the code.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO, cleanupAll, startFerryd, tempDir, type Ferryd } from '../helpers/harness.js';

const execFileP = promisify(execFile);

async function pythonClient(): Promise<string> {
  const doc = await readFile(path.join(REPO, 'docs/PROTOCOL.md'), 'utf8');
  const match = /<!-- python-client:begin -->\s*```python\n([\s\S]*?)```\s*<!-- python-client:end -->/.exec(doc);
  if (!match) throw new Error('docs/PROTOCOL.md has no python client block');
  return match[1]!;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('the Python client in docs/PROTOCOL.md', () => {
  let tls: Ferryd;
  let plain: Ferryd;
  let work: string;
  const content = randomBytes(3 * 1024 * 1024 + 17);

  async function seed(server: Ferryd): Promise<void> {
    const home = path.join(server.root, 'homes', 'alice');
    await mkdir(path.join(home, 'docs'), { recursive: true });
    await writeFile(path.join(home, 'docs', 'report.bin'), content);
    await writeFile(path.join(home, 'docs', 'notes.txt'), 'hello\n');
  }

  /** Run the client: `pin` is the fingerprint it is given, or "plain". */
  function client(server: Ferryd, pin: string, password: string, output: string) {
    return execFileP(
      'python3',
      [path.join(work, 'ferry_client.py'), '127.0.0.1', String(server.port), pin, 'alice', '/docs', 'docs/report.bin', output],
      { env: { ...process.env, FERRY_PASSWORD: password }, timeout: 30_000 },
    );
  }

  beforeAll(async () => {
    const users = [{ name: 'alice', password: 'correct horse' }];
    [tls, plain] = await Promise.all([startFerryd({ users }), startFerryd({ plain: true, users })]);
    await Promise.all([seed(tls), seed(plain)]);
    work = await tempDir();
    await writeFile(path.join(work, 'ferry_client.py'), await pythonClient());
  });
  afterAll(cleanupAll);

  it('logs in over TLS with a channel-bound login, lists a folder and downloads a file on an attached connection', async () => {
    expect(tls.fingerprint).toMatch(/^SHA256:/);
    const output = path.join(work, 'tls.bin');
    const { stdout } = await client(tls, tls.fingerprint!, 'correct horse', output);
    expect(stdout).toContain('logged in as alice over TLS');
    expect(stdout).toMatch(/file\s+6 notes\.txt/);
    expect(stdout).toMatch(new RegExp(`file\\s+${content.length} report\\.bin`));
    expect(stdout).toContain(`downloaded ${content.length} bytes`);
    expect(sha256(await readFile(output))).toBe(sha256(content));
    // The download ran on a second connection that attached to the login's session.
    expect(tls.log()).toMatch(/auth \S+ user=alice ok/);
    expect(tls.log()).not.toContain('attach refused');
  });

  it('refuses a server whose key does not match the pinned fingerprint, before logging in', async () => {
    const other = `SHA256:${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`;
    const run = client(tls, other, 'correct horse', path.join(work, 'x'));
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining(`EHOSTKEY: the server's key is ${tls.fingerprint}`) });
  });

  it('reports a wrong password over TLS as EAUTH', async () => {
    const run = client(tls, tls.fingerprint!, 'wrong', path.join(work, 'x'));
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('EAUTH') });
  });

  it('logs in over plain TCP (ferryd serve --plain) and downloads the same way', async () => {
    const output = path.join(work, 'plain.bin');
    const { stdout } = await client(plain, 'plain', 'correct horse', output);
    expect(stdout).toContain('logged in as alice over plain TCP');
    expect(stdout).toContain(`downloaded ${content.length} bytes`);
    expect(sha256(await readFile(output))).toBe(sha256(content));
  });
});
