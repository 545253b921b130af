/**
 * The chmod dialog: 3×3 checkboxes (owner, group, others × read, write, execute) and an
 * octal field kept in step with them, "Apply to everything inside" for folders, OK and
 * Cancel. The engine sets the bits (fs:chmod); its errors are shown here, in the dialog.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { octalText, parseOctalMode, permissionText } from '../../../shared/common/permissions.js';
import { formatError } from '../logic/format.js';
import { baseName } from '../logic/remote-path.js';
import { useStores, useTree } from '../state/stores-context.js';
import type { DialogState } from '../state/ui-store.js';
import { Modal } from './modal.js';

const WHO = [
  ['owner', 6],
  ['group', 3],
  ['others', 0],
] as const;
const WHAT = [
  ['read', 4],
  ['write', 2],
  ['execute', 1],
] as const;

export function PermissionsDialog({ dialog }: { readonly dialog: Extract<DialogState, { kind: 'chmod' }> }) {
  const { t } = useTranslation('permissions');
  const { api, ui } = useStores();
  const rows = useTree((s) => s.rows);
  const rowIndex = useTree((s) => s.rowIndex);
  const { paths } = dialog;
  const first = rows[rowIndex.get(paths[0]!) ?? -1];
  const hasFolder = paths.some((p) => rows[rowIndex.get(p) ?? -1]?.isDir);
  const [mode, setMode] = useState(() => (first?.entry.mode ?? 0o644) & 0o777);
  const [octal, setOctal] = useState(() => octalText(mode));
  const [recursive, setRecursive] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const close = () => ui.getState().closeDialog();
  const octalValid = parseOctalMode(octal) !== null && octal.trim().length >= 3;

  const toggle = (bit: number, on: boolean): void => {
    const next = on ? mode | bit : mode & ~bit;
    setMode(next);
    setOctal(octalText(next));
    setProblem(null);
  };
  const typeOctal = (text: string): void => {
    setOctal(text);
    setProblem(null);
    const parsed = parseOctalMode(text);
    if (parsed !== null && text.trim().length >= 3) setMode(parsed);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!octalValid) return setProblem(t('badOctal'));
    setBusy(true);
    for (const path of paths) {
      const r = await api.call('fs:chmod', path, mode, { recursive: recursive && hasFolder });
      if (!r.ok) {
        setBusy(false);
        return setProblem(t('failed', { name: baseName(path), error: formatError(r.error) }));
      }
    }
    close();
  };

  const title = paths.length === 1 ? t('titleOne', { name: baseName(paths[0]!) }) : t('titleMany', { count: paths.length });
  return (
    <Modal title={title} onCancel={close} className="permissions-dialog">
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="permission-grid" role="group" aria-label={t('bitsGroup')}>
          <span aria-hidden="true" />
          {WHAT.map(([what]) => (
            <span key={what} className="permission-head" aria-hidden="true">
              {t(`what.${what}`)}
            </span>
          ))}
          {WHO.map(([who, shift]) => (
            <PermissionRow key={who} who={t(`who.${who}`)}>
              {WHAT.map(([what, bit]) => (
                <span key={what} className="permission-cell">
                  <input
                    type="checkbox"
                    aria-label={t('checkbox', { who: t(`who.${who}`), what: t(`what.${what}`) })}
                    checked={(mode & (bit << shift)) !== 0}
                    onChange={(e) => toggle(bit << shift, e.target.checked)}
                  />
                </span>
              ))}
            </PermissionRow>
          ))}
        </div>
        <div className="field permission-octal">
          <label htmlFor="permissions-octal">{t('octal')}</label>
          <input
            id="permissions-octal"
            type="text"
            inputMode="numeric"
            data-autofocus
            maxLength={4}
            value={octal}
            spellCheck={false}
            autoComplete="off"
            title={t('octalHint')}
            aria-invalid={octalValid ? undefined : true}
            aria-describedby="permissions-symbolic"
            onChange={(e) => typeOctal(e.target.value)}
          />
          <code id="permissions-symbolic" className="permission-symbolic">
            {permissionText(mode)}
          </code>
        </div>
        {hasFolder && (
          <label className="check">
            <input type="checkbox" checked={recursive} onChange={(e) => setRecursive(e.target.checked)} aria-describedby="permissions-recursive-hint" />
            <span>{t('recursive')}</span>
          </label>
        )}
        {hasFolder && (
          <p id="permissions-recursive-hint" className="muted permission-hint">
            {t('recursiveHint')}
          </p>
        )}
        {problem && (
          <p className="form-error selectable" role="alert">
            {problem}
          </p>
        )}
        <div className="button-row end">
          <button type="button" className="button" onClick={close}>
            {t('cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy || !octalValid}>
            {t('ok')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function PermissionRow({ who, children }: { readonly who: string; readonly children: ReactNode }) {
  return (
    <>
      <span className="permission-who">{who}</span>
      {children}
    </>
  );
}
