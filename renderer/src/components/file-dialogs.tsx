/** Delete, rename and new-folder dialogs for remote files. */
import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { formatError } from '../logic/format.js';
import { baseName, displayPath, invalidName } from '../logic/remote-path.js';
import type { DialogState } from '../state/ui-store.js';
import { useStores, useTree, useUi } from '../state/stores-context.js';
import { Modal } from './modal.js';
import { SyncDialog } from './sync-dialog.js';
import { SettingsDialog } from './settings-dialog.js';
import { PermissionsDialog } from './permissions-dialog.js';

export function Dialogs() {
  const dialog = useUi((s) => s.dialog);
  if (!dialog) return null;
  switch (dialog.kind) {
    case 'delete':
      return <DeleteDialog dialog={dialog} />;
    case 'rename':
      return <RenameDialog dialog={dialog} />;
    case 'mkdir':
      return <NewFolderDialog dialog={dialog} />;
    case 'settings':
      return <SettingsDialog />;
    case 'sync':
      return <SyncDialog dialog={dialog} />;
    case 'chmod':
      return <PermissionsDialog dialog={dialog} />;
  }
}

const SHOWN = 12;

function DeleteDialog({ dialog }: { readonly dialog: Extract<DialogState, { kind: 'delete' }> }) {
  const { tree, ui } = useStores();
  const { t } = useTranslation(['tree', 'common']);
  const rows = useTree((s) => s.rows);
  const rowIndex = useTree((s) => s.rowIndex);
  const [busy, setBusy] = useState(false);
  const close = () => ui.getState().closeDialog();
  const { paths } = dialog;
  const folders = paths.filter((p) => rows[rowIndex.get(p) ?? -1]?.isDir).length;
  const title = paths.length === 1 ? t('dialog.deleteOne', { name: baseName(paths[0]!) }) : t('dialog.deleteMany', { count: paths.length });
  return (
    <Modal title={title} tone="danger" onCancel={close} describedBy="delete-text">
      <p id="delete-text">
        {folders > 0 ? t(folders === 1 && paths.length === 1 ? 'dialog.folderDeleted' : 'dialog.foldersDeleted') : ''}
        {t('dialog.noUndo')}
      </p>
      <ul className="delete-list selectable" aria-label={t('dialog.willBeDeleted')}>
        {paths.slice(0, SHOWN).map((p) => (
          <li key={p}>{p}</li>
        ))}
        {paths.length > SHOWN && <li className="muted">{t('dialog.andMore', { count: paths.length - SHOWN })}</li>}
      </ul>
      <div className="button-row end">
        <button type="button" className="button" onClick={close}>
          {t('common:button.cancel')}
        </button>
        <button
          type="button"
          className="button danger"
          data-autofocus
          disabled={busy}
          onClick={() => {
            setBusy(true);
            close();
            void tree.getState().remove(paths);
          }}
        >
          {t('dialog.delete')}
        </button>
      </div>
    </Modal>
  );
}

function NameDialog(props: {
  readonly title: string;
  readonly label: string;
  readonly initial: string;
  readonly submitLabel: string;
  readonly onSubmit: (name: string) => Promise<boolean>;
  readonly selectStem?: boolean;
}) {
  const { ui, tree } = useStores();
  const { t } = useTranslation('common');
  const [name, setName] = useState(props.initial);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const selectedOnce = useRef(false);
  const close = () => ui.getState().closeDialog();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const why = invalidName(name);
    if (why) return setProblem(why);
    setBusy(true);
    const ok = await props.onSubmit(name);
    setBusy(false);
    if (ok) return close();
    // Shown here, where the person is typing (the pane's banner is behind the dialog).
    const notice = tree.getState().notice;
    if (notice) {
      setProblem(formatError(notice.error));
      tree.getState().dismissNotice();
    }
  };
  const error = problem;
  return (
    <Modal title={props.title} onCancel={close}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <div className="field">
          <label htmlFor="name-dialog-input">{props.label}</label>
          <input
            id="name-dialog-input"
            type="text"
            data-autofocus
            value={name}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'name-dialog-error' : undefined}
            onChange={(e) => {
              setName(e.target.value);
              setProblem(null);
            }}
            onFocus={(e) => {
              // When the dialog opens, select the name without its extension, as file
              // managers do. Later focus (after an error, or a click) leaves the text alone.
              if (selectedOnce.current) return;
              selectedOnce.current = true;
              const dot = e.target.value.lastIndexOf('.');
              if (props.selectStem && dot > 0) e.target.setSelectionRange(0, dot);
              else e.target.select();
            }}
          />
        </div>
        {error && (
          <p id="name-dialog-error" className="form-error selectable" role="alert">
            {error}
          </p>
        )}
        <div className="button-row end">
          <button type="button" className="button" onClick={close}>
            {t('button.cancel')}
          </button>
          <button type="submit" className="button primary" disabled={busy}>
            {props.submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function RenameDialog({ dialog }: { readonly dialog: Extract<DialogState, { kind: 'rename' }> }) {
  const { tree } = useStores();
  const { t } = useTranslation('tree');
  const name = baseName(dialog.path);
  return (
    <NameDialog
      title={t('dialog.renameTitle', { name })}
      label={t('dialog.newName')}
      initial={name}
      submitLabel={t('dialog.rename')}
      selectStem
      onSubmit={(newName) => tree.getState().rename(dialog.path, newName)}
    />
  );
}

function NewFolderDialog({ dialog }: { readonly dialog: Extract<DialogState, { kind: 'mkdir' }> }) {
  const { tree } = useStores();
  const { t } = useTranslation('tree');
  const home = useTree((s) => s.home);
  return (
    <NameDialog
      title={t('dialog.newFolderTitle', { folder: displayPath(dialog.parent, home) })}
      label={t('dialog.folderName')}
      initial=""
      submitLabel={t('dialog.create')}

      onSubmit={(name) => tree.getState().mkdir(dialog.parent, name)}
    />
  );
}
