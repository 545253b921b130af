/**
 * Tree operations in a real Chromium: filter-as-you-type in the current folder, and moving
 * files and folders by dragging tree rows onto a folder row (or onto the current folder's
 * empty space) with the mouse, checked on the server's disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { cleanupAll, type TestUser } from '../helpers/harness.js';
import { exists, treeDigest } from '../helpers/files.js';
import { checkAfterEach, filterBox, logIn, mouseDrag, screenshot, setupE2E, tree, treeItem, treeNames, type E2E } from './e2e.js';

const hana: TestUser = { name: 'hana', password: 'hana pass phrase' };
let e2e: E2E;
let page: Page;
let home: string;

const FILES: Record<string, string> = {
  'alpha.txt': 'alpha\n',
  'Beta.md': '# beta\n',
  'gamma.txt': 'gamma\n',
  'notes-2024.txt': 'notes\n',
  'report.pdf': '%PDF-1.7 pretend\n',
};

beforeAll(async () => {
  e2e = await setupE2E([hana]);
  home = e2e.home(hana);
  await mkdir(path.join(home, 'archive', 'old'), { recursive: true });
  await mkdir(path.join(home, 'projects', 'site'), { recursive: true });
  await mkdir(path.join(home, 'shelf'), { recursive: true });
  await writeFile(path.join(home, 'archive', 'old', 'letter.txt'), 'dear\n');
  await writeFile(path.join(home, 'projects', 'site', 'index.html'), '<h1>hi</h1>\n');
  for (const [name, body] of Object.entries(FILES)) await writeFile(path.join(home, name), body);
  page = await e2e.openTab();
  await logIn(page, e2e.server, hana);
});
checkAfterEach(() => e2e);
afterAll(cleanupAll);

const ALL = ['archive', 'projects', 'shelf', 'alpha.txt', 'Beta.md', 'gamma.txt', 'notes-2024.txt', 'report.pdf'];
const homeTree = () => page.getByRole('tree', { name: 'Home', exact: true });
const pane = () => page.getByRole('region', { name: 'Remote files' });

async function goHome(): Promise<void> {
  if (await homeTree().isVisible()) return;
  await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('button', { name: 'Home', exact: true }).click();
  await homeTree().waitFor();
}

describe('filter as you type', () => {
  it('narrows the current folder’s rows to the names that match, and clearing restores them', async () => {
    await expect.poll(() => treeNames(page)).toEqual(ALL);
    const filter = filterBox(page);
    expect(await filter.inputValue()).toBe('');

    // Each key narrows at once (case-insensitive, anywhere in the name).
    let typed = '';
    for (const key of ['t', 'x', 't']) {
      await filter.press(key);
      typed += key;
      const expected = ALL.filter((n) => n.toLowerCase().includes(typed));
      await expect.poll(() => treeNames(page)).toEqual(expected);
    }
    expect(await treeNames(page)).toEqual(['alpha.txt', 'gamma.txt', 'notes-2024.txt']);
    // The rows of a filtered list count among themselves.
    expect(await treeItem(page, 'gamma.txt').getAttribute('aria-setsize')).toBe('3');
    expect(await treeItem(page, 'gamma.txt').getAttribute('aria-posinset')).toBe('2');
    await screenshot(page, '30-filter-typed');

    await filter.fill('BETA');
    await expect.poll(() => treeNames(page)).toEqual(['Beta.md']);

    // Nothing matches: no rows, and the pane says so.
    await filter.fill('zzz');
    await expect.poll(() => treeNames(page)).toEqual([]);
    await pane().getByText('Nothing here matches “zzz”.').waitFor();
    await screenshot(page, '31-filter-no-match');

    // Escape clears it: every row is back.
    await filter.press('Escape');
    expect(await filter.inputValue()).toBe('');
    await expect.poll(() => treeNames(page)).toEqual(ALL);
    expect(await pane().getByText('Nothing here matches').count()).toBe(0);

    // Only the current folder's own entries are filtered: what is inside a match stays.
    await filter.fill('arch');
    await expect.poll(() => treeNames(page)).toEqual(['archive']);
    await treeItem(page, 'archive').click();
    await homeTree().press('ArrowRight');
    await expect.poll(() => treeNames(page)).toEqual(['archive', 'old']);
    await homeTree().press('ArrowLeft');
    // Emptying the box by hand restores the rows too.
    await filter.fill('');
    await expect.poll(() => treeNames(page)).toEqual(ALL);

    // A filter belongs to its folder: opening another folder starts unfiltered.
    await filter.fill('proj');
    await expect.poll(() => treeNames(page)).toEqual(['projects']);
    await treeItem(page, 'projects').dblclick();
    await page.getByRole('tree', { name: '/projects', exact: true }).waitFor();
    expect(await filter.inputValue()).toBe('');
    await expect.poll(() => treeNames(page)).toEqual(['site']);
    await goHome();
    await expect.poll(() => treeNames(page)).toEqual(ALL);
  });
});

describe('drag to move', () => {
  it('moves a file dragged onto a folder row into that folder', async () => {
    await goHome();
    await mouseDrag(treeItem(page, 'report.pdf'), treeItem(page, 'archive'), {
      whileOver: async () => {
        // The folder row under the pointer is the target, not the current folder.
        await expect.poll(() => treeItem(page, 'archive').getAttribute('class')).toContain('is-drop-target');
        expect(await pane().getByText(/^Drop to (upload|move) to Home$/).count()).toBe(0);
        await screenshot(page, '32-drag-over-folder');
      },
    });
    await expect.poll(() => treeNames(page)).not.toContain('report.pdf');
    expect(await treeItem(page, 'archive').getAttribute('class')).not.toContain('is-drop-target');
    expect(await readFile(path.join(home, 'archive', 'report.pdf'), 'utf8')).toBe(FILES['report.pdf']);
    expect(await exists(path.join(home, 'report.pdf'))).toBe(false);
    // Shown inside the folder once it is expanded.
    await treeItem(page, 'archive').click();
    await homeTree().press('ArrowRight');
    await treeItem(page, 'report.pdf').waitFor();
    expect(await treeItem(page, 'report.pdf').getAttribute('aria-level')).toBe('2');
    expect(await treeNames(page)).toEqual(['archive', 'old', 'report.pdf', 'projects', 'shelf', 'alpha.txt', 'Beta.md', 'gamma.txt', 'notes-2024.txt']);
  });

  it('moves a multi-selection (files and a folder with its contents) dragged onto a folder row', async () => {
    await goHome();
    const before = await treeDigest(path.join(home, 'projects'));
    await treeItem(page, 'alpha.txt').click();
    await treeItem(page, 'gamma.txt').click({ modifiers: ['Control'] });
    await treeItem(page, 'projects').click({ modifiers: ['Control'] });
    for (const name of ['alpha.txt', 'gamma.txt', 'projects']) expect(await treeItem(page, name).getAttribute('aria-selected')).toBe('true');
    expect(await treeItem(page, 'Beta.md').getAttribute('aria-selected')).toBe('false');

    // Dragging one selected row takes the whole selection; the target is a folder inside another.
    await mouseDrag(treeItem(page, 'gamma.txt'), treeItem(page, 'old'));
    await expect.poll(() => treeNames(page)).toEqual(['archive', 'old', 'report.pdf', 'shelf', 'Beta.md', 'notes-2024.txt']);
    const old = path.join(home, 'archive', 'old');
    expect(await readFile(path.join(old, 'alpha.txt'), 'utf8')).toBe(FILES['alpha.txt']);
    expect(await readFile(path.join(old, 'gamma.txt'), 'utf8')).toBe(FILES['gamma.txt']);
    expect(await treeDigest(path.join(old, 'projects'))).toEqual(before);
    for (const name of ['alpha.txt', 'gamma.txt', 'projects']) expect(await exists(path.join(home, name))).toBe(false);
    // Not-selected rows stayed where they were.
    expect(await readFile(path.join(home, 'Beta.md'), 'utf8')).toBe(FILES['Beta.md']);

    await treeItem(page, 'old').click();
    await homeTree().press('ArrowRight');
    await expect.poll(() => treeNames(page)).toEqual(['archive', 'old', 'projects', 'alpha.txt', 'gamma.txt', 'letter.txt', 'report.pdf', 'shelf', 'Beta.md', 'notes-2024.txt']);
    await screenshot(page, '33-after-moves');
  });

  it('moves a row out of a subfolder onto the current folder’s empty space', async () => {
    await goHome();
    // /archive/old/letter.txt → Home: dropped below the last row, on no folder row.
    const box = await tree(page).boundingBox();
    expect(box).not.toBeNull();
    await mouseDrag(treeItem(page, 'letter.txt'), tree(page), {
      position: { x: box!.width / 2, y: box!.height - 20 },
      whileOver: async () => {
        // A move, so the hint says move (not upload).
        await pane().getByText('Drop to move to Home', { exact: true }).waitFor();
        expect(await pane().getByText('Drop to upload to Home').count()).toBe(0);
        await screenshot(page, '34-drag-over-current-folder');
      },
    });
    await expect.poll(async () => (await treeItem(page, 'letter.txt').getAttribute('aria-level').catch(() => null)) ?? '').toBe('1');
    expect(await readFile(path.join(home, 'letter.txt'), 'utf8')).toBe('dear\n');
    expect(await exists(path.join(home, 'archive', 'old', 'letter.txt'))).toBe(false);
    await pane().getByText('Drop to move to Home').waitFor({ state: 'detached' });
  });

  it('refuses to move a folder into itself or its own subfolder, or a row to where it already is', async () => {
    await goHome();
    const before = await treeDigest(home);
    const rowsBefore = await treeNames(page);
    const archive = treeItem(page, 'archive');
    const old = treeItem(page, 'old');
    // Any "Drop to … to Home" hint (moving or uploading) would mean Home accepts the drop.
    const hint = pane().getByText(/^Drop to (move|upload) to Home$/);
    const box = (await tree(page).boundingBox())!;
    // Chromium sends dragenter when the pointer reaches an element and dragover as it moves on
    // inside it: arrive a little to the left, then move onto the point.
    const over = async (target: { x: number; y: number }) => {
      await page.mouse.move(target.x - 4, target.y, { steps: 3 });
      await page.mouse.move(target.x, target.y, { steps: 2 });
    };
    const middleOf = async (row: typeof archive) => {
      const b = (await row.boundingBox())!;
      return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    };

    const shelf = treeItem(page, 'shelf');
    const emptySpace = { x: box.x + box.width / 2, y: box.y + box.height - 20 };
    // A refusal is seen against a place that accepts: over shelf the drag is live and the row
    // lights up; moving on to `point` takes that away in the same render that would show a
    // highlight or a hint at `point`, if it were accepted.
    const refusedAt = async (point: { x: number; y: number }, row?: typeof archive) => {
      await over(await middleOf(shelf));
      await expect.poll(() => shelf.getAttribute('class')).toContain('is-drop-target');
      await over(point);
      await expect.poll(() => shelf.getAttribute('class')).not.toContain('is-drop-target');
      expect(await hint.count()).toBe(0);
      if (row) expect(await row.getAttribute('class')).not.toContain('is-drop-target');
    };

    // One gesture: archive (a row of Home, with "old" expanded inside it) is picked up, and
    // refused over Home (where it already is), over its own subfolder and over itself.
    await archive.hover();
    await page.mouse.down();
    await refusedAt(emptySpace);
    await refusedAt(await middleOf(treeItem(page, 'Beta.md')));
    await refusedAt(await middleOf(old), old);
    await refusedAt(await middleOf(archive), archive);
    await page.mouse.up();

    // A file dragged within its own folder: letter.txt (now in Home) over Home.
    await treeItem(page, 'letter.txt').hover();
    await page.mouse.down();
    await refusedAt(emptySpace);
    await page.mouse.up();

    // Nothing changed, on the server or on screen, and nothing went wrong.
    await homeTree().press('F5');
    await expect.poll(() => treeNames(page)).toEqual(rowsBefore);
    expect(await treeDigest(home)).toEqual(before);
    expect(await pane().getByRole('alert').count()).toBe(0);
  });
});
