/**
 * The built-in text editor (CodeMirror 6) of edit in place: the file's name and its state
 * as the engine reports it, Ctrl+S (⌘S) saves, a conflict offers its three answers, and
 * "download theirs" shows the server's version beside ours. Closing with text not yet
 * saved asks first; a save the server does not have yet stays in Edited files.
 */
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EditChoice, EditView as Edit } from '../../../shared/common/edit-model.js';
import type { ErrorInfo } from '../../../shared/common/errors.js';
import { editStateText, saveRowText } from '../logic/edit-text.js';
import { i18n } from '../i18n/i18n.js';
import { formatError } from '../logic/format.js';
import { useEdits, useStores } from '../state/stores-context.js';
import type { CodeEditor } from './code-editor.js';
import { Modal } from './modal.js';

export function EditorDialog() {
  const edit = useEdits((s) => s.edits.find((e) => e.id === s.editorId));
  if (!edit) return null;
  return <Editor key={edit.id} edit={edit} />;
}

const CONFLICT_CHOICES: readonly EditChoice[] = ['overwrite', 'copy', 'compare'];

function Editor({ edit }: { readonly edit: Edit }) {
  const { edits } = useStores();
  const { t } = useTranslation(['edit', 'common']);
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<CodeEditor | null>(null);
  /** The text the engine last took (what Ctrl+S wrote), to tell unsaved typing. */
  const written = useRef('');
  const [dirty, setDirty] = useState(false);
  const [loadError, setLoadError] = useState<ErrorInfo | null>(null);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [asking, setAsking] = useState(false);
  const [theirs, setTheirs] = useState<string | null>(null);
  const save = useRef<() => void>(() => undefined);

  save.current = () => {
    const cm = view.current;
    if (!cm) return;
    const text = cm.text();
    void edits
      .getState()
      .write(edit.id, text)
      .then((err) => {
        setError(err);
        if (err) return;
        written.current = text;
        setDirty(cm.text() !== text);
      });
  };

  useEffect(() => {
    let cm: CodeEditor | null = null;
    let cancelled = false;
    void Promise.all([edits.getState().read(edit.id, 'mine'), import('./code-editor.js')]).then(([r, { createCodeEditor }]) => {
      if (cancelled || !host.current) return;
      if (!r.ok) return setLoadError(r.error);
      written.current = r.text;
      cm = createCodeEditor(host.current, r.text, {
        label: i18n.t('edit:textOf', { name: edit.name }),
        onSave: () => save.current(),
        onChange: (text) => setDirty(text !== written.current),
      });
      view.current = cm;
      cm.focus();
    });
    return () => {
      cancelled = true;
      cm?.destroy();
      view.current = null;
    };
  }, [edits, edit.id, edit.name]);

  const state = edit.state;
  const compareCopy = state.kind === 'conflict' ? state.theirsCopy : undefined;
  useEffect(() => {
    if (compareCopy === undefined) return setTheirs(null);
    void edits
      .getState()
      .read(edit.id, 'theirs')
      .then((r) => (r.ok ? setTheirs(r.text) : setError(r.error)));
  }, [edits, edit.id, compareCopy]);

  const last = edit.saves.at(-1);
  const status = dirty ? t('unsaved') : state.kind === 'saved' && last?.outcome.kind === 'saved' ? saveRowText(last) : editStateText(state);

  const close = (discard: boolean): void => {
    if (dirty && !discard) return setAsking(true);
    const s = edits.getState();
    // A save the server does not have yet keeps the edit (in Edited files); otherwise it ends.
    if (state.kind === 'saved') void s.close(edit.id, false);
    else s.hideEditor();
  };

  return (
    <Modal title={t('title', { name: edit.name })} onCancel={() => close(false)} className="editor-dialog" describedBy="editor-status">
      <p className="editor-path muted small selectable mono">
        {edit.target}:{edit.remotePath}
      </p>
      <p id="editor-status" className={`editor-status state-${dirty ? 'dirty' : state.kind}`} role="status" aria-live="polite">
        {status}
      </p>
      {loadError ? (
        <p className="form-error" role="alert">
          {t('cannotShow', { error: formatError(loadError) })}
        </p>
      ) : (
        <div className={`editor-panes${theirs !== null ? ' comparing' : ''}`}>
          <div ref={host} className="editor-host" />
          {theirs !== null && (
            <section className="editor-theirs" aria-label={t('theirs')}>
              <h3 className="small">{t('theirs')}</h3>
              <pre className="selectable mono">{theirs}</pre>
            </section>
          )}
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {formatError(error)}
        </p>
      )}
      {state.kind === 'conflict' && (
        <div className="button-row" role="group" aria-label={t('resolve')}>
          {CONFLICT_CHOICES.map((c) => (
            <button key={c} type="button" className="button" onClick={() => void edits.getState().resolve(edit.id, c).then(setError)}>
              {t(`conflict.${c}`)}
            </button>
          ))}
        </div>
      )}
      {state.kind === 'failed' && (
        <div className="button-row">
          <button type="button" className="button" onClick={() => void edits.getState().retry(edit.id).then(setError)}>
            {t('retrySave')}
          </button>
        </div>
      )}
      {asking ? (
        <div className="button-row end" role="group" aria-label={t('unsavedGroup')}>
          <span className="muted">{t('closeUnsaved')}</span>
          <button type="button" className="button danger" onClick={() => close(true)}>
            {t('discardChanges')}
          </button>
          <button type="button" className="button" onClick={() => setAsking(false)}>
            {t('keepEditing')}
          </button>
        </div>
      ) : (
        <div className="button-row end">
          <button type="button" className="button primary" onClick={() => save.current()} disabled={loadError !== null}>
            {t('common:button.save')}
          </button>
          <button type="button" className="button" onClick={() => close(false)}>
            {t('common:button.close')}
          </button>

        </div>
      )}
    </Modal>
  );
}
