/** The engine asks what to do when a file is already there (transfers:conflict). */
import { useState } from 'react';
import type { ConflictDecision } from '../../../shared/common/transfer-model.js';
import { formatBytes, formatDate } from '../logic/format.js';
import { useStores, useTransfers } from '../state/stores-context.js';
import { Modal } from './modal.js';

const CHOICES: ReadonlyArray<{ decision: ConflictDecision; label: string; help: string }> = [
  { decision: 'overwrite', label: 'Overwrite', help: 'Replace what is there.' },
  { decision: 'skip', label: 'Skip', help: 'Leave it; do not transfer this file.' },
  { decision: 'rename', label: 'Rename', help: 'Keep both: the new file gets a numbered name.' },
  { decision: 'resume', label: 'Resume', help: 'Continue a partial copy from where it stopped (checked by SHA-256).' },
];

export function ConflictDialog() {
  const { transfers } = useStores();
  const prompt = useTransfers((s) => s.conflicts[0]);
  const waiting = useTransfers((s) => s.conflicts.length);
  const [applyToAll, setApplyToAll] = useState(false);
  if (!prompt) return null;
  const { transfer, existing } = prompt;
  const where = transfer.direction === 'upload' ? 'on the server' : 'in the download folder';
  const answer = (decision: ConflictDecision) => {
    void transfers.getState().resolveConflict(decision, applyToAll);
    setApplyToAll(false);
  };
  return (
    <Modal key={prompt.conflictId} title={`“${transfer.name}” already exists`} onCancel={() => answer('skip')} describedBy="conflict-text">
      <p id="conflict-text">
        A file with this name is already {where}: <span className="selectable mono small">{transfer.direction === 'upload' ? transfer.remotePath : transfer.localPath}</span>
      </p>
      <dl className="compare">
        <dt>There now</dt>
        <dd>
          {formatBytes(existing.size)}
          {existing.mtime > 0 ? `, modified ${formatDate(existing.mtime)}` : ''}
        </dd>
        <dt>{transfer.direction === 'upload' ? 'Uploading' : 'Downloading'}</dt>
        <dd>{formatBytes(transfer.size)}</dd>
      </dl>
      <div className="choice-list">
        {CHOICES.map((c, i) => (
          <button key={c.decision} type="button" className={`choice${i === 0 ? ' primary' : ''}`} data-autofocus={i === 0 ? true : undefined} onClick={() => answer(c.decision)} aria-label={c.label} aria-describedby={`conflict-help-${c.decision}`}>
            <span className="choice-label">{c.label}</span>
            <span id={`conflict-help-${c.decision}`} className="choice-help">
              {c.help}
            </span>
          </button>
        ))}
      </div>
      <label className="check">
        <input type="checkbox" checked={applyToAll} onChange={(e) => setApplyToAll(e.target.checked)} />
        Apply to all{waiting > 1 ? ` (${waiting - 1} more waiting)` : ' conflicts in this batch'}
      </label>
    </Modal>
  );
}
