/**
 * The console: a command line with history (kept per profile by the engine), one command
 * at a time, output streamed from 'exec:output' into whatever terminal is attached. The
 * terminal is imperative (xterm.js), so output goes to sinks rather than into React state;
 * a bounded buffer replays it when a terminal attaches late.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Events, FerryApi } from '../../../shared/common/contract.js';
import { i18n } from '../i18n/i18n.js';
import { FRESH_CURSOR, historyStep, pushHistory, type HistoryCursor } from '../logic/history.js';

export interface Running {
  readonly command: string;
  /** null until exec:run answers (output may arrive before that). */
  readonly execId: string | null;
  readonly cancelling: boolean;
}

export interface ConsoleState {
  readonly history: readonly string[];
  readonly cursor: HistoryCursor;
  readonly input: string;
  readonly running: Running | null;

  loadHistory(): Promise<void>;
  setInput(text: string): void;
  historyUp(): void;
  historyDown(): void;
  /** Run what is on the command line; `prompt` is what the terminal shows before it. */
  run(prompt: string): Promise<void>;
  cancel(): Promise<void>;
  /** Write a line of our own (notes, errors) to the terminal. */
  note(text: string): void;
  clearOutput(): void;
  /** A terminal wants the output: it gets what is buffered, then every new chunk. */
  attach(sink: ConsoleSink): () => void;
  reset(): void;
}

export interface ConsoleSink {
  write(data: string): void;
  clear(): void;
}

export type ConsoleStore = StoreApi<ConsoleState>;

export interface ConsoleHooks {
  /** A command finished; `cwd` is where the session is now (a `cd` moves the tree). */
  onExit?(cwd: string): void;
}

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const BOLD_BLUE = '\x1b[1;34m';
const RESET = '\x1b[0m';
/** Output kept for a terminal that attaches later (about 1 MiB of text). */
const BUFFER_CHARS = 1 << 20;

/** The line printed when a command ends: `[exit N]`, `[cancelled]` or `[error CODE: message]`. */
export function exitLine(exit: Events['exec:exit'], cancelRequested: boolean): string {
  if (exit.error?.code === 'ECANCELED' || (cancelRequested && exit.code === null)) return i18n.t('console:line.cancelled');
  if (exit.error) return i18n.t('console:line.error', { code: exit.error.code, message: exit.error.message });
  if (exit.code !== null) return i18n.t('console:line.exit', { code: exit.code });
  return i18n.t('console:line.exit', { code: exit.signal ?? i18n.t('console:line.unknown') });
}

export function createConsoleStore(api: FerryApi, hooks: ConsoleHooks = {}): ConsoleStore {
  const sinks = new Set<ConsoleSink>();
  let buffer: string[] = [];
  let buffered = 0;
  /** Whether the last thing written ended a line (so the exit line starts on its own). */
  let atLineStart = true;
  /** Exits that arrived before exec:run told us the command's id. */
  const earlyExits = new Map<string, Events['exec:exit']>();

  /** `text` is `data` without colour codes, to tell whether a line was ended. */
  const write = (data: string, text: string = data): void => {
    if (data === '') return;
    atLineStart = text.endsWith('\n');
    buffer.push(data);
    buffered += data.length;
    while (buffered > BUFFER_CHARS && buffer.length > 1) buffered -= buffer.shift()!.length;
    for (const sink of sinks) sink.write(data);
  };
  const line = (text: string): void => write(`${atLineStart ? '' : '\n'}${text}\n`);

  const store = createStore<ConsoleState>()((set, get) => ({
    history: [],
    cursor: FRESH_CURSOR,
    input: '',
    running: null,

    async loadHistory() {
      const r = await api.call('history:get');
      if (r.ok) set({ history: r.value, cursor: FRESH_CURSOR });
    },

    setInput(text) {
      set({ input: text });
    },

    historyUp() {
      const { history, cursor, input } = get();
      const step = historyStep(history, cursor, input, 'up');
      set({ cursor: step.cursor, input: step.text });
    },

    historyDown() {
      const { history, cursor, input } = get();
      const step = historyStep(history, cursor, input, 'down');
      set({ cursor: step.cursor, input: step.text });
    },

    async run(prompt) {
      const command = get().input.trim();
      if (command === '' || get().running) return;
      set({ input: '', cursor: FRESH_CURSOR, history: pushHistory(get().history, command), running: { command, execId: null, cancelling: false } });
      line(`${BOLD_BLUE}${prompt}${RESET} ${command}`);
      void api.call('history:add', command);
      const r = await api.call('exec:run', command);
      if (!r.ok) {
        line(`${RED}${i18n.t('console:line.error', { code: r.error.code, message: r.error.message })}${RESET}`);
        set({ running: null });
        return;
      }
      const execId = r.value;
      const early = earlyExits.get(execId);
      earlyExits.delete(execId);
      if (early) {
        set({ running: null });
        return;
      }
      const running = get().running;
      if (running) {
        set({ running: { ...running, execId } });
        // Ctrl+C before we knew the id: cancel now.
        if (running.cancelling) void api.call('exec:cancel', execId);
      }
    },

    async cancel() {
      const running = get().running;
      if (!running) return;
      set({ running: { ...running, cancelling: true } });
      if (running.execId !== null) {
        const r = await api.call('exec:cancel', running.execId);
        if (!r.ok) line(`${RED}${i18n.t('console:line.couldNotCancel', { code: r.error.code, message: r.error.message })}${RESET}`);

      }
    },

    note(text) {
      line(`${DIM}${text}${RESET}`);
    },

    clearOutput() {
      buffer = [];
      buffered = 0;
      atLineStart = true;
      for (const sink of sinks) sink.clear();
    },

    attach(sink) {
      for (const chunk of buffer) sink.write(chunk);
      sinks.add(sink);
      return () => sinks.delete(sink);
    },

    reset() {
      earlyExits.clear();
      set({ running: null, history: [], cursor: FRESH_CURSOR, input: '' });
    },
  }));

  api.on('exec:output', ({ stream, data }) => {
    if (stream === 'stderr') write(`${RED}${data}${RESET}`, data);
    else write(data);
  });

  api.on('exec:exit', (exit) => {
    const running = store.getState().running;
    const cancelRequested = running?.cancelling ?? false;
    const text = exitLine(exit, cancelRequested);
    const ok = exit.code === 0 && !exit.error;
    line(`${ok ? DIM : RED}${text}${RESET}`);
    if (running && running.execId === exit.execId) store.setState({ running: null });
    else if (running && running.execId === null) earlyExits.set(exit.execId, exit);
    hooks.onExit?.(exit.cwd);
  });

  return store;
}
