/**
 * The path bar of a pane: breadcrumbs (each folder a button) that turn into a text field
 * on a click in their empty space, Ctrl+L or F6, where a path is typed or pasted. Folder
 * names complete as one types (the ARIA combobox pattern: the parent is listed, matching
 * folders offered in a listbox, ↑/↓ and Tab or Enter take one); Enter goes there, and a
 * path that cannot be opened is said in place.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { formatError } from '../logic/format.js';
import { applyCompletion, completionQuery, matchFolders, resolveTyped } from '../logic/path-input.js';
import { crumbs } from '../logic/remote-path.js';
import { usePane, useTree } from '../state/stores-context.js';

/** How long typing pauses before the parent folder is listed for completion. */
const COMPLETE_DELAY_MS = 120;

export function PathBar({ emptyText }: { readonly emptyText: string }) {
  const { t } = useTranslation('panes');
  const { tree } = usePane();
  const cwd = useTree((s) => s.cwd);
  const home = useTree((s) => s.home);
  const [editing, setEditing] = useState(false);
  const barRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (cwd === '') setEditing(false);
  }, [cwd]);

  useEffect(() => {
    // Ctrl+L or F6 within this pane (the remote pane's also when no pane has the focus).
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (!((e.key === 'l' || e.key === 'L') && (e.ctrlKey || e.metaKey) && !e.altKey) && e.key !== 'F6') return;
      const pane = barRef.current?.closest('[data-pane]');
      if (!pane || cwd === '') return;
      const active = document.activeElement;
      const inPane = active !== null && pane.contains(active);
      const inNoPane = !active || !active.closest('[data-pane]');
      if (!inPane && !(inNoPane && pane.getAttribute('data-pane') === 'remote')) return;
      e.preventDefault();
      setEditing(true);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [cwd]);

  const parts = cwd === '' ? [] : crumbs(cwd, home);
  return (
    <div className="path-bar" ref={barRef}>
      {editing ? (
        <PathField
          onDone={(went) => {
            setEditing(false);
            // Back to the tree, where the keyboard works on the folder just opened.
            if (went) barRef.current?.closest('[data-pane]')?.querySelector<HTMLElement>('[role="tree"]')?.focus();
          }}
        />
      ) : (
        <nav
          className="breadcrumbs"
          aria-label={t('pathBar.breadcrumbs')}
          title={cwd === '' ? undefined : t('pathBar.edit')}
          onClick={(e) => {
            // Empty space (not a crumb) turns the bar into a text field.
            if (cwd !== '' && !(e.target instanceof Element && e.target.closest('button'))) setEditing(true);
          }}
        >
          {cwd === '' ? (
            <span className="muted">{emptyText}</span>
          ) : (
            <ol>
              {parts.map((c, i) => (
                <li key={c.path}>
                  {i === parts.length - 1 ? (
                    <span className="crumb current" aria-current="page">
                      {c.name}
                    </span>
                  ) : (
                    <button type="button" className="crumb" onClick={() => void tree.getState().navigate(c.path)}>
                      {c.name}
                    </button>
                  )}
                </li>
              ))}
            </ol>
          )}
        </nav>
      )}
    </div>
  );
}

function PathField({ onDone }: { readonly onDone: (went: boolean) => void }) {
  const { t } = useTranslation('panes');
  const { tree, source } = usePane();
  const cwd = useTree((s) => s.cwd);
  const home = useTree((s) => s.home);
  const [text, setText] = useState(cwd);
  const [options, setOptions] = useState<readonly string[]>([]);
  const [active, setActive] = useState(-1);
  const [listOpen, setListOpen] = useState(false);
  const [error, setError] = useState<{ path: string; error: ErrorInfo } | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const listings = useRef(new Map<string, readonly string[] | null>());
  const listId = useId();
  const errorId = useId();

  useEffect(() => {
    inputRef.current?.focus();
    inputRef.current?.select();
  }, []);

  useEffect(() => {
    // List the parent of what is typed (once per folder), and offer its matching folders.
    const { parent, prefix } = completionQuery(text, cwd, home);
    let cancelled = false;
    const offer = (names: readonly string[] | null): void => {
      if (cancelled) return;
      const next = names === null ? [] : names.filter((n) => n.toLowerCase().startsWith(prefix.toLowerCase()));
      setOptions(next);
      setActive(-1);
    };
    const known = listings.current.get(parent);
    if (known !== undefined) {
      offer(known);
      return;
    }
    const timer = setTimeout(() => {
      void source.list(parent).then((r) => {
        const names = r.ok ? matchFolders(r.value.entries, '') : null;
        listings.current.set(parent, names);
        offer(names);
      });
    }, COMPLETE_DELAY_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [text, cwd, home, source]);

  const go = async (): Promise<void> => {
    const target = resolveTyped(text, cwd, home);
    setBusy(true);
    const failed = await tree.getState().open(target);
    setBusy(false);
    if (failed) {
      setError({ path: target, error: failed });
      return;
    }
    onDone(true);
  };

  const take = (name: string): void => {
    // The next folder's names replace these once it is listed (Enter then goes, not takes again).
    setOptions([]);
    setActive(-1);
    setText(applyCompletion(text, name));
    setListOpen(true);
    setError(null);
  };

  const shown = listOpen && options.length > 0;
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        if (options.length === 0) return;
        e.preventDefault();
        setListOpen(true);
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((a) => (a < 0 ? (step > 0 ? 0 : options.length - 1) : (a + step + options.length) % options.length));
        return;
      }
      case 'Tab': {
        if (!shown || e.shiftKey) return;
        e.preventDefault();
        take(options[active >= 0 ? active : 0]!);
        return;
      }
      case 'Enter': {
        e.preventDefault();
        if (shown && active >= 0) take(options[active]!);
        else void go();
        return;
      }
      case 'Escape': {
        e.preventDefault();
        e.stopPropagation();
        if (shown) setListOpen(false);
        else onDone(false);
        return;
      }
      default:
        return;
    }
  };

  return (
    <div className="path-field">
      <input
        ref={inputRef}
        type="text"
        role="combobox"
        aria-label={t('pathBar.field')}
        aria-autocomplete="list"
        aria-expanded={shown}
        aria-controls={listId}
        aria-activedescendant={shown && active >= 0 ? `${listId}-${active}` : undefined}
        aria-invalid={error !== null || undefined}
        aria-describedby={error ? errorId : undefined}
        aria-busy={busy || undefined}
        value={text}
        spellCheck={false}
        autoComplete="off"
        title={t('pathBar.hint')}
        onChange={(e) => {
          setText(e.target.value);
          setListOpen(true);
          setError(null);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => onDone(false)}
      />
      <ul id={listId} role="listbox" aria-label={t('pathBar.folders')} className="path-options" hidden={!shown}>
        {options.map((name, i) => (
          <li
            key={name}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? 'is-active' : undefined}
            // Keep the focus in the field (a blur would end the editing).
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => take(name)}
          >
            {name}
          </li>
        ))}
      </ul>
      {error && (
        <p id={errorId} className="path-error selectable" role="alert">
          {t('pathBar.couldNotOpen', { path: error.path })} {formatError(error.error)}
        </p>
      )}
    </div>
  );
}
