/**
 * A modal dialog on the native <dialog> (showModal): the browser makes the rest of the
 * page inert, keeps focus inside and maps Escape to `onCancel`. Focus goes to the element
 * marked data-autofocus (else the first control) and returns where it was on close.
 */
import { useEffect, useId, useRef, type ReactNode } from 'react';

export interface ModalProps {
  readonly title: string;
  readonly onCancel: () => void;
  readonly children: ReactNode;
  readonly tone?: 'normal' | 'warning' | 'danger';
  readonly className?: string;
  /** Id of the element that describes the dialog (read out when it opens). */
  readonly describedBy?: string;
}

export function Modal({ title, onCancel, children, tone = 'normal', className, describedBy }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const cancel = useRef(onCancel);
  cancel.current = onCancel;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('[data-autofocus]');
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      // Back where the person was (the tree, a button), if it is still there.
      if (previous?.isConnected) queueMicrotask(() => previous.focus());
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className={`modal modal-${tone}${className ? ` ${className}` : ''}`}
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      onCancel={(e) => {
        e.preventDefault();
        cancel.current();
      }}
    >
      <h2 id={titleId} className="modal-title">
        {title}
      </h2>
      {children}
    </dialog>
  );
}
