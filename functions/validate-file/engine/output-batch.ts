// Text for a stream, gathered and written in batches of about 64 KB, with the stream's backpressure honoured.
import type { Writable } from 'node:stream';

const BATCH_CHARS = 64 * 1024;

export class OutputBatch {
  private text = '';

  constructor(private readonly stream: Writable | undefined) {}

  add(text: string): void {
    if (this.stream) this.text += text;
  }

  /** Writes the batch once it is big enough; a promise only when the stream asks to wait for 'drain'. */
  flushIfFull(): Promise<void> | undefined {
    return this.text.length >= BATCH_CHARS ? this.flush() : undefined;
  }

  flush(): Promise<void> | undefined {
    const stream = this.stream;
    if (!stream || this.text === '') return undefined;
    const text = this.text;
    this.text = '';
    if (stream.write(text)) return undefined;
    return new Promise<void>((resolve) => {
      const go = () => {
        stream.off('drain', go);
        stream.off('close', go);
        resolve();
      };
      stream.on('drain', go);
      stream.on('close', go);
    });
  }
}
