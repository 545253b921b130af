/**
 * Names and messages come from the server, which is not trusted: printed as they are,
 * control characters (escape sequences, C1 controls such as CSI) could rewrite the
 * terminal. They are shown escaped instead (`\x1b`).
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
