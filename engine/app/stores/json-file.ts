/**
 * A small JSON file in the config folder (profiles, settings, console history), read fresh
 * on every use and replaced atomically (temporary file, fsync, rename), so a crash never
 * leaves half a file and several front ends in one process (browser tabs, windows) see
 * each other's changes. Updates to one file run one at a time within the process.
 */
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { FerryError } from '../../../shared/common/errors.js';
import { writeFileAtomic } from '../../../shared/node/atomic-file.js';

/** Per-file queues, shared by every JsonFile on the same path in this process. */
const queues = new Map<string, Promise<unknown>>();

export class JsonFile<T> {
  private readonly file: string;

  constructor(
    file: string,
    private readonly schema: z.ZodType<T>,
    private readonly empty: () => T,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.file = path.resolve(file);
  }

  /** The current contents (empty when the file does not exist yet). */
  async read(): Promise<T> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw new FerryError('EIO', `Cannot read ${this.file} (${(err as Error).message}).`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = this.schema.safeParse(parsed);
    if (result.success) return result.data;
    // Keep the damaged file for a person to look at, and start over rather than fail forever.
    const aside = `${this.file}.damaged-${Date.now()}`;
    await rename(this.file, aside).catch(() => undefined);
    this.log(`${path.basename(this.file)} was not valid and was moved to ${aside}`);
    return this.empty();
  }

  /** Read, change and write back, one update at a time per file. */
  update<R>(change: (value: T) => { value: T; result: R } | Promise<{ value: T; result: R }>): Promise<R> {
    const task = async (): Promise<R> => {
      const { value, result } = await change(await this.read());
      await this.write(value);
      return result;
    };
    const previous = queues.get(this.file) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    queues.set(this.file, tail);
    void tail.then(() => {
      if (queues.get(this.file) === tail) queues.delete(this.file);
    });
    return run;
  }

  private async write(value: T): Promise<void> {
    try {
      await writeFileAtomic(this.file, `${JSON.stringify(value, null, 2)}\n`, { createDir: true });
    } catch (err) {
      throw new FerryError('EIO', `Cannot write ${this.file} (${(err as Error).message}).`);
    }
  }
}
