/**
 * The console: xterm.js shows the output (ANSI colours; stderr in red), and a separate
 * command line (a textbox named "Command") runs commands on the server with history on
 * ↑/↓ and Ctrl+C to cancel. xterm's DOM renderer and screen-reader mode keep the output
 * in the DOM, readable by assistive technology and selectable. Links in the output open
 * only when Ctrl/⌘+clicked, and only web pages (logic/console-links.ts).
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITheme } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, type KeyboardEvent, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { linkHint, linkToOpen } from '../logic/console-links.js';
import { currentSession } from '../state/session-store.js';
import { useConsole, useSession, useStores, useTree } from '../state/stores-context.js';
import { Icon } from './icons.js';

const LIGHT: ITheme = {
  background: '#fbfbfc',
  foreground: '#1f2328',
  cursor: '#fbfbfc',
  selectionBackground: '#b6d3f5',
  black: '#1f2328',
  red: '#c0262d',
  green: '#1a7f37',
  yellow: '#8a6100',
  blue: '#0b5cad',
  magenta: '#8e3fb3',
  cyan: '#0f7584',
  white: '#6e7781',
  brightBlack: '#57606a',
  brightRed: '#d1242f',
  brightGreen: '#1f883d',
  brightYellow: '#9a6700',
  brightBlue: '#0969da',
  brightMagenta: '#a475f9',
  brightCyan: '#1b7c83',
  brightWhite: '#8c959f',
};

const DARK: ITheme = {
  background: '#15181d',
  foreground: '#d7dce2',
  cursor: '#15181d',
  selectionBackground: '#2f4a6d',
  black: '#484f58',
  red: '#ff7b72',
  green: '#56d364',
  yellow: '#e3b341',
  blue: '#79c0ff',
  magenta: '#d2a8ff',
  cyan: '#56d4dd',
  white: '#b1bac4',
  brightBlack: '#6e7681',
  brightRed: '#ffa198',
  brightGreen: '#7ee787',
  brightYellow: '#f2cc60',
  brightBlue: '#a5d6ff',
  brightMagenta: '#e2c5ff',
  brightCyan: '#b3f0ff',
  brightWhite: '#f0f6fc',
};

function useTerminal(host: RefObject<HTMLDivElement | null>): void {
  const { console: consoleStore } = useStores();
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const dark = window.matchMedia('(prefers-color-scheme: dark)');
    const term = new Terminal({
      convertEol: true,
      disableStdin: true,
      screenReaderMode: true,
      scrollback: 5000,
      cursorBlink: false,
      cursorInactiveStyle: 'none',
      fontFamily: 'ui-monospace, "Cascadia Mono", "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: 13,
      lineHeight: 1.25,
      theme: dark.matches ? DARK : LIGHT,
      // Set explicitly: xterm's default opens an OSC 8 link on a plain click after a
      // confirm(). Output comes from the server, so only web pages open, and only when
      // Ctrl/⌘+clicked (console-links.ts).
      linkHandler: {
        allowNonHttpProtocols: false,
        activate: (event, uri) => {
          const url = linkToOpen(event, uri);
          if (url !== null) window.open(url, '_blank', 'noopener,noreferrer');
        },
        hover: (_event, uri) => {
          el.title = linkHint(uri, /Mac/.test(navigator.platform));
        },
        leave: () => {
          el.removeAttribute('title');
        },
      },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    // Output only: no cursor block in the middle of it.
    term.write('\x1b[?25l');
    const refit = (): void => {
      if (el.clientWidth > 0 && el.clientHeight > 0) {
        try {
          fit.fit();
        } catch {
          // Not laid out yet; the next resize will fit.
        }
      }
    };
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(refit);
    });
    observer.observe(el);
    refit();
    const onScheme = (): void => {
      term.options.theme = dark.matches ? DARK : LIGHT;
    };
    dark.addEventListener('change', onScheme);
    const detach = consoleStore.getState().attach({
      write: (data) => term.write(data),
      clear: () => term.clear(),
    });
    return () => {
      detach();
      dark.removeEventListener('change', onScheme);
      observer.disconnect();
      cancelAnimationFrame(frame);
      term.dispose();
    };
  }, [host, consoleStore]);
}

export function ConsolePane() {
  const { console: consoleStore } = useStores();
  const { t } = useTranslation('console');
  const host = useRef<HTMLDivElement>(null);
  useTerminal(host);
  const cwd = useTree((s) => s.cwd);
  return (
    <section className="console-pane pane" aria-labelledby="console-heading">
      <header className="pane-header">
        <div className="pane-title-row">
          <h2 id="console-heading" className="pane-title">
            {t('title')}
          </h2>
          {cwd !== '' && <span className="muted small mono selectable">{cwd}</span>}
          <span className="toolbar-spacer" />
          <button type="button" className="button small" onClick={() => consoleStore.getState().clearOutput()}>
            {t('clear')}
          </button>
        </div>
      </header>
      <div className="terminal-host" ref={host} />
      <CommandLine />
    </section>
  );
}

function CommandLine() {
  const { console: consoleStore } = useStores();
  const { t } = useTranslation('console');
  const session = useSession(currentSession);
  const reconnecting = useSession((s) => s.connection.state === 'reconnecting');
  const cwd = useTree((s) => s.cwd);
  const input = useConsole((s) => s.input);
  const running = useConsole((s) => s.running);
  const mayExec = session?.user.exec ?? false;
  const disabled = !session || !mayExec;
  // Short, like a shell's: who and where (the server is in the header and status bar).
  const prompt = session ? `${session.user.name}:${cwd || '/'}$` : '$';
  const c = consoleStore.getState();

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    const el = e.currentTarget;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void c.run(prompt);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      c.historyUp();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      c.historyDown();
    } else if ((e.key === 'c' || e.key === 'C') && e.ctrlKey && !e.shiftKey && !e.altKey) {
      // Ctrl+C cancels a running command, unless text is selected (then it copies).
      if (running && el.selectionStart === el.selectionEnd) {
        e.preventDefault();
        void c.cancel();
      }
    }
  };

  return (
    <div className="command-area">
      <div className={`command-line${disabled ? ' is-disabled' : ''}`}>
        <span className="prompt mono" aria-hidden="true">
          {prompt}
        </span>
        <label htmlFor="command-input" className="visually-hidden">
          {t('command')}
        </label>
        <input
          id="command-input"
          className="command-input mono"
          value={input}
          disabled={disabled}
          spellCheck={false}
          autoComplete="off"
          autoCapitalize="off"
          placeholder={!session ? (reconnecting ? t('placeholderReconnecting') : t('placeholderConnect')) : !mayExec ? t('placeholderDenied') : running ? t('placeholderRunning') : t('placeholder')}
          aria-describedby={session && !mayExec ? 'exec-denied' : undefined}
          onChange={(e) => c.setInput(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {running ? (
          <button type="button" className="button small danger-outline" onClick={() => void c.cancel()} disabled={running.cancelling}>
            <Icon name="stop" /> {running.cancelling ? t('cancelling') : t('cancel')}
          </button>
        ) : (
          <button type="button" className="button small" disabled={disabled || input.trim() === ''} onClick={() => void c.run(prompt)}>
            {t('run')}
          </button>
        )}
      </div>
      {session && !mayExec && (
        <p id="exec-denied" className="exec-denied">
          {t('denied')}

        </p>
      )}
    </div>
  );
}
