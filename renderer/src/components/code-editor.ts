/**
 * The CodeMirror 6 editor of edit in place, in a module of its own so the page loads it
 * (about 400 kB) only when a file is first edited: editor-dialog.tsx imports it lazily.
 */
import { basicSetup } from 'codemirror';
import { Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';

export interface CodeEditor {
  text(): string;
  focus(): void;
  destroy(): void;
}

export function createCodeEditor(
  parent: HTMLElement,
  doc: string,
  options: { readonly label: string; readonly onSave: () => void; readonly onChange: (text: string) => void },
): CodeEditor {
  const view = new EditorView({
    parent,
    doc,
    extensions: [
      basicSetup,
      // Ctrl+S (⌘S) saves, ahead of any binding of the browser's or CodeMirror's.
      Prec.highest(keymap.of([{ key: 'Mod-s', preventDefault: true, run: () => (options.onSave(), true) }])),
      EditorView.contentAttributes.of({ 'aria-label': options.label }),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) options.onChange(u.state.doc.toString());
      }),
    ],
  });
  return {
    text: () => view.state.doc.toString(),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
