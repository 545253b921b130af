import { describe, expect, it, vi } from 'vitest';
import { createConsoleStore, exitLine } from '../../renderer/src/state/console-store.js';
import { FakeApi, fail, ok, settle } from './fake-api.js';

const plain = (s: string): string => s.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');

function setup() {
  const api = new FakeApi();
  const onExit = vi.fn();
  const store = createConsoleStore(api, { onExit });
  const out: string[] = [];
  store.getState().attach({ write: (d) => out.push(d), clear: () => out.splice(0) });
  api.handle('history:add', () => ok(undefined));
  return { api, store, out, onExit, text: () => plain(out.join('')) };
}

describe('console store', () => {
  it('runs a command, streams output with stderr in red, and ends with [exit N]', async () => {
    const { api, store, out, text, onExit } = setup();
    api.handle('exec:run', () => ok('e1'));
    store.getState().setInput('ls -l');
    await store.getState().run('alice@h:/$');
    expect(store.getState().running).toMatchObject({ command: 'ls -l', execId: 'e1' });
    expect(store.getState().input).toBe('');
    api.emit('exec:output', { execId: 'e1', stream: 'stdout', data: 'a.txt\n' });
    api.emit('exec:output', { execId: 'e1', stream: 'stderr', data: 'oops' });
    api.emit('exec:exit', { execId: 'e1', code: 2, signal: null, cwd: '/' });
    expect(text()).toBe('alice@h:/$ ls -l\na.txt\noops\n[exit 2]\n');
    expect(out.some((chunk) => chunk.startsWith('\x1b[31m') && chunk.includes('oops'))).toBe(true);
    expect(store.getState().running).toBeNull();
    expect(onExit).toHaveBeenCalledWith('/');
    expect(api.made('history:add')[0]!.args).toEqual(['ls -l']);
  });

  it('handles an exit that arrives before exec:run answers', async () => {
    const { api, store, text } = setup();
    api.handle('exec:run', async () => {
      api.emit('exec:output', { execId: 'e2', stream: 'stdout', data: 'fast' });
      api.emit('exec:exit', { execId: 'e2', code: 0, signal: null, cwd: '/tmp' });
      return ok('e2');
    });
    store.getState().setInput('true');
    await store.getState().run('$');
    expect(store.getState().running).toBeNull();
    expect(text()).toBe('$ true\nfast\n[exit 0]\n');
  });

  it('Ctrl+C cancels the running command and prints [cancelled]', async () => {
    const { api, store, text } = setup();
    api.handle('exec:run', () => ok('e3'));
    api.handle('exec:cancel', () => ok(undefined));
    store.getState().setInput('sleep 100');
    await store.getState().run('$');
    await store.getState().cancel();
    expect(api.made('exec:cancel')[0]!.args).toEqual(['e3']);
    api.emit('exec:exit', { execId: 'e3', code: null, signal: 'SIGTERM', cwd: '/' });
    expect(text()).toMatch(/\[cancelled\]\n$/);
  });

  it('prints errors as [error CODE: message]', async () => {
    const { api, store, text } = setup();
    api.handle('exec:run', () => fail('EPERM', 'This account is not allowed to do that.'));
    store.getState().setInput('ls');
    await store.getState().run('$');
    expect(text()).toMatch(/\[error EPERM: This account is not allowed to do that\.\]\n$/);
    expect(store.getState().running).toBeNull();
    expect(exitLine({ execId: 'x', code: null, signal: null, cwd: '/', error: { code: 'ETIMEDOUT', message: 'Timed out.' } }, false)).toBe(
      '[error ETIMEDOUT: Timed out.]',
    );
  });

  it('walks the engine’s history with ↑/↓ and adds new commands to it', async () => {
    const { api, store } = setup();
    api.handle('history:get', () => ok(['ls', 'pwd']));
    api.handle('exec:run', () => ok('e4'));
    await store.getState().loadHistory();
    store.getState().setInput('dra');
    store.getState().historyUp();
    expect(store.getState().input).toBe('pwd');
    store.getState().historyUp();
    expect(store.getState().input).toBe('ls');
    store.getState().historyDown();
    store.getState().historyDown();
    expect(store.getState().input).toBe('dra');
    store.getState().setInput('whoami');
    await store.getState().run('$');
    expect(store.getState().history).toEqual(['ls', 'pwd', 'whoami']);
  });

  it('replays buffered output to a terminal that attaches later', async () => {
    const { api, store } = setup();
    api.emit('exec:output', { execId: 'z', stream: 'stdout', data: 'earlier\n' });
    await settle();
    const late: string[] = [];
    store.getState().attach({ write: (d) => late.push(d), clear: () => undefined });
    expect(late.join('')).toBe('earlier\n');
  });
});
