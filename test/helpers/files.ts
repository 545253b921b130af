/**
 * Local files for transfer tests: random content, trees, and hashes to compare both ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A file of `size` random bytes (written in pieces, so large files cost little memory). */
export async function randomFile(file: string, size: number): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'w');
  const hash = createHash('sha256');
  try {
    const piece = 8 * 1024 * 1024;
    for (let done = 0; done < size; ) {
      const chunk = randomBytes(Math.min(piece, size - done));
      hash.update(chunk);
      await handle.write(chunk);
      done += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * Every file and folder under `root`, as relative path → 'dir', 'link -> target' or the
 * file's SHA-256. Two trees are byte-identical when these are equal.
 */
export async function treeDigest(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      if (st.isDirectory()) {
        out[r] = 'dir';
        await walk(abs, r);
      } else if (st.isFile()) {
        out[r] = sha256(await readFile(abs));
      } else {
        out[r] = 'other';
      }
    }
  };
  await walk(root, '');
  return out;
}

/** A small but awkward tree: nested folders, an empty folder, an empty file, spaces, unicode, binary. */
export async function makeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'sub', 'deeper', 'deepest'), { recursive: true });
  await mkdir(path.join(root, 'empty folder'), { recursive: true });
  await writeFile(path.join(root, 'readme.txt'), 'hello tree\n');
  await writeFile(path.join(root, 'empty.bin'), Buffer.alloc(0));
  await writeFile(path.join(root, 'sub', 'naïve café.txt'), 'unicode name\n');
  await writeFile(path.join(root, 'sub', 'with space.dat'), randomBytes(70_000));
  await writeFile(path.join(root, 'sub', 'deeper', 'big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  await writeFile(path.join(root, 'sub', 'deeper', 'deepest', 'leaf'), randomBytes(1));
}

/** Total bytes of the regular files under `dir` (what the server counts against a quota). */
export async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const abs = path.join(dir, name);
    const st = await lstat(abs);
    if (st.isDirectory()) total += await duBytes(abs);
    else if (st.isFile()) total += st.size;
  }
  return total;
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Poll `check` every few ms until it returns a value other than undefined/false (or time out). */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * `count` empty files named `name(i)` in `dir` (made if missing), straight on the disk, a
 * few hundred at a time: how the big-folder tests fill a server's home fast.
 */
export async function emptyFiles(dir: string, count: number, name: (i: number) => string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, count - i) }, (_, k) => open(path.join(dir, name(i + k)), 'w').then((h) => h.close())),
    );
  }
}
