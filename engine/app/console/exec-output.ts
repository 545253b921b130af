/**
 * Console output as text: one streaming UTF-8 decoder per stream (a character split
 * across chunks stays whole), and chunks gathered for a few ms so a chatty command sends
 * a few dozen events a second, not one per pipe read.
 */
// Node's own decoder: the stream option is what keeps a character split across chunks whole.
import { TextDecoder } from 'node:util';
import type { ExecStream } from '../../../shared/common/messages.js';

const OUTPUT_FLUSH_MS = 25;
const OUTPUT_FLUSH_BYTES = 64 * 1024;

export class ExecOutput {
  private readonly decoders = { stdout: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') };
  private pending: Array<{ stream: ExecStream; data: string }> = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly send: (stream: ExecStream, data: string) => void) {}

  bytes(stream: ExecStream, chunk: Uint8Array): void {
    this.text(stream, this.decoders[stream].decode(chunk, { stream: true }));
  }

  text(stream: ExecStream, data: string): void {
    if (data === '') return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream) last.data += data;
    else this.pending.push({ stream, data });
    this.size += data.length;
    if (this.size >= OUTPUT_FLUSH_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), OUTPUT_FLUSH_MS);
      this.timer.unref?.();
    }
  }

  end(): void {
    for (const stream of ['stdout', 'stderr'] as const) this.text(stream, this.decoders[stream].decode());
    this.flush();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.pending;
    this.pending = [];
    this.size = 0;
    for (const p of pending) this.send(p.stream, p.data);
  }
}
