/**
 * The main window's size, position and maximized state, remembered across runs in the
 * app's data folder (window-state.json). A position that is no longer on any screen (a
 * monitor was unplugged) is dropped, so the window never opens out of sight.
 */
import { screen, type BrowserWindow, type Rectangle } from 'electron';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface WindowState {
  readonly x?: number;
  readonly y?: number;
  readonly width: number;
  readonly height: number;
  readonly maximized: boolean;
}

const DEFAULT: WindowState = { width: 1200, height: 800, maximized: false };
const int = (v: unknown, min: number, max: number): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;

function visible(bounds: Rectangle): boolean {
  return screen.getAllDisplays().some(({ workArea: a }) => {
    const overlapX = Math.min(bounds.x + bounds.width, a.x + a.width) - Math.max(bounds.x, a.x);
    const overlapY = Math.min(bounds.y + bounds.height, a.y + a.height) - Math.max(bounds.y, a.y);
    return overlapX >= 100 && overlapY >= 50;
  });
}

export function loadWindowState(dir: string): WindowState {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path.join(dir, 'window-state.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return DEFAULT;
  }
  const width = int(raw['width'], 400, 20_000) ?? DEFAULT.width;
  const height = int(raw['height'], 300, 20_000) ?? DEFAULT.height;
  const x = int(raw['x'], -100_000, 100_000);
  const y = int(raw['y'], -100_000, 100_000);
  const maximized = raw['maximized'] === true;
  if (x !== undefined && y !== undefined && visible({ x, y, width, height })) return { x, y, width, height, maximized };
  return { width, height, maximized };
}

/** Save the window's state whenever it settles after a change, and when it closes. */
export function trackWindowState(window: BrowserWindow, dir: string, log: (line: string) => void): void {
  const file = path.join(dir, 'window-state.json');
  let timer: NodeJS.Timeout | undefined;
  const save = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (window.isDestroyed() || window.isMinimized() || window.isFullScreen()) return;
    const b = window.getNormalBounds();
    const state: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: window.isMaximized() };
    try {
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(state)}\n`);
      renameSync(tmp, file);
    } catch (err) {
      log(`could not save the window's size: ${(err as Error).message}`);
    }
  };
  const later = (): void => {
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  };
  for (const event of ['resize', 'move', 'maximize', 'unmaximize'] as const) window.on(event as 'resize', later);
  window.on('close', save);
}
