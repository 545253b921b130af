/**
 * docs/PROTOCOL.md is normative: its Python client is extracted and run against a real
 * ferryd, so the document cannot drift from the code.
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

describe('the Python client in docs/PROTOCOL.md', () => {
  let server: Ferryd;
  let work: string;
  const content = randomBytes(3 * 1024 * 1024 + 17);

  beforeAll(async () => {
    server = await startFerryd({ plain: true, users: [{ name: 'alice', password: 'correct horse' }] });
    const home = path.join(server.root, 'homes', 'alice');
    await mkdir(path.join(home, 'docs'), { recursive: true });
    await writeFile(path.join(home, 'docs', 'report.bin'), content);
    await writeFile(path.join(home, 'docs', 'notes.txt'), 'hello\n');
    work = await tempDir();
    await writeFile(path.join(work, 'ferry_client.py'), await pythonClient());
  });
  afterAll(cleanupAll);

  it('logs in, lists a folder and downloads a file with a hash check', async () => {
    const output = path.join(work, 'report.bin');
    const { stdout } = await execFileP(
      'python3',
      [path.join(work, 'ferry_client.py'), '127.0.0.1', String(server.port), 'alice', '/docs', 'docs/report.bin', output],
      { env: { ...process.env, FERRY_PASSWORD: 'correct horse' }, timeout: 30_000 },
    );
    expect(stdout).toContain('logged in as alice');
    expect(stdout).toMatch(/file\s+6 notes\.txt/);
    expect(stdout).toMatch(new RegExp(`file\\s+${content.length} report\\.bin`));
    expect(stdout).toContain(`downloaded ${content.length} bytes`);
    const got = await readFile(output);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('reports a wrong password as EAUTH', async () => {
    const run = execFileP(
      'python3',
      [path.join(work, 'ferry_client.py'), '127.0.0.1', String(server.port), 'alice', '/', 'x', path.join(work, 'x')],
      { env: { ...process.env, FERRY_PASSWORD: 'wrong' }, timeout: 30_000 },
    );
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('EAUTH') });
  });
});
