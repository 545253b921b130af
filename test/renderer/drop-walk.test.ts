import { describe, expect, it } from 'vitest';
import { pickedPaths, walkEntries, type EntryLike } from '../../renderer/src/logic/drop-walk.js';

interface FakeFile {
  readonly name: string;
  readonly size: number;
}

const fileEntry = (name: string, size = 1): EntryLike<FakeFile> => ({
  isFile: true,
  isDirectory: false,
  name,
  file: (ok) => setTimeout(() => ok({ name, size }), 0),
});

const brokenFile = (name: string): EntryLike<FakeFile> => ({
  isFile: true,
  isDirectory: false,
  name,
  file: (_ok, err) => setTimeout(() => err?.(new Error('gone')), 0),
});

/** Hands out children in batches of `batch`, like Chromium (100 at a time), then []. */
const dirEntry = (name: string, children: Array<EntryLike<FakeFile>>, batch = 2): EntryLike<FakeFile> => ({
  isFile: false,
  isDirectory: true,
  name,
  createReader: () => {
    let at = 0;
    return {
      readEntries: (ok) =>
        setTimeout(() => {
          const next = children.slice(at, at + batch);
          at += next.length;
          ok(next);
        }, 0),
    };
  },
});

describe('walking a drop', () => {
  it('reads folders to the end, batch after batch, with paths inside the drop', async () => {
    const drop = [
      fileEntry('top.txt', 3),
      dirEntry('photos', [fileEntry('a.jpg'), fileEntry('b.jpg'), fileEntry('c.jpg'), dirEntry('2024', [fileEntry('d.jpg'), dirEntry('empty', [])])]),
    ];
    const result = await walkEntries(drop);
    expect(result.relativePaths).toEqual(['top.txt', 'photos/a.jpg', 'photos/b.jpg', 'photos/c.jpg', 'photos/2024/d.jpg']);
    expect(result.files.map((f) => f.name)).toEqual(['top.txt', 'a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']);
    expect(result.files[0]!.size).toBe(3);
    // Every folder, the empty one too (so it is created on the server).
    expect(result.folders).toEqual(['photos', 'photos/2024', 'photos/2024/empty']);
    expect(result.unreadable).toEqual([]);
  });

  it('reports what could not be read and keeps the rest', async () => {
    const result = await walkEntries([dirEntry('d', [brokenFile('x'), fileEntry('y')])]);
    expect(result.relativePaths).toEqual(['d/y']);
    expect(result.unreadable).toEqual(['d/x']);
  });

  it('takes picker paths from webkitRelativePath, else the name', () => {
    expect(pickedPaths([{ name: 'a', size: 1, webkitRelativePath: 'dir/sub/a' }, { name: 'b', size: 1, webkitRelativePath: '' }])).toEqual(['dir/sub/a', 'b']);
  });
});
