// The canonical staged copy of a range as UTF-8 bytes, built as rows pass: re-serialized lines are encoded in
// batches, rows already in canonical form are copied from the input as they are. Bytes, not a string, so that
// a worker hands its copy over by transfer (a structured clone of a string copies it, and a string built row
// by row is a rope of millions of pieces that the worker's heap holds, and collects, until it is flattened).

/** Lines gathered before they are encoded: one native call per batch, not per row. */
const TEXT_BATCH = 16 * 1024;

export class StagedBytes {
  private buffer: Buffer | undefined;
  private used = 0;
  private text = '';

  /** `capacity`: the bytes to reserve when the copy starts (the range's size: staged rows rarely outgrow it). */
  constructor(private capacity: number) {}

  /** Appends a re-serialized line. */
  line(text: string): void {
    this.text += text;
    if (this.text.length >= TEXT_BATCH) this.encode();
  }

  /** Appends `source[start, end)` as it is. */
  copy(source: Buffer, start: number, end: number): void {
    if (this.text) this.encode();
    this.reserve(end - start);
    this.used += source.copy(this.buffer!, this.used, start, end);
  }

  /** Appends one byte. */
  byte(value: number): void {
    if (this.text) this.encode();
    this.reserve(1);
    this.buffer![this.used++] = value;
  }

  /**
   * Hands the bytes so far over (the caller writes them out) and starts afresh. The Buffer owns its memory from
   * offset 0 (it can be transferred to another thread whole).
   */
  take(nextCapacity = this.capacity): Buffer {
    if (this.text) this.encode();
    const taken = this.buffer ? this.buffer.subarray(0, this.used) : Buffer.alloc(0);
    this.buffer = undefined;
    this.used = 0;
    this.capacity = nextCapacity;
    return taken;
  }

  private encode(): void {
    const text = this.text;
    this.text = '';
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(text.length * 3);
    this.used += this.buffer!.write(text, this.used);
  }

  private reserve(bytes: number): void {
    const buffer = this.buffer;
    if (buffer && this.used + bytes <= buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(
      Math.max(this.capacity, (buffer?.length ?? 0) * 2, this.used + bytes),
    );
    if (buffer) buffer.copy(grown, 0, 0, this.used);
    this.buffer = grown;
  }
}
