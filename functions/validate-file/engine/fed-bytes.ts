// The bytes a range has given csv-parse, kept from the start of the record being read on, addressed by their
// position in the range (csv-parse's `info.bytes`): a good row's own bytes, to copy into the staged copy when
// they already are its canonical form, and whether a stretch holds a quote (then they may not be).

const QUOTE = 0x22;

export class FedBytes {
  private readonly chunks: Buffer[] = [];
  /** The position of `chunks[0]`'s first byte. */
  private first = 0;
  private end = 0;
  /** The first quote at or after the last stretch asked about, or -1: none up to `searched`. */
  private quote = -1;
  private searched = 0;

  add(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.end += chunk.length;
  }

  /** Forgets the bytes before `position` (whole chunks only). */
  release(position: number): void {
    while (this.chunks.length > 0 && this.first + this.chunks[0]!.length <= position) {
      this.first += this.chunks.shift()!.length;
    }
  }

  byteAt(position: number): number | undefined {
    let start = this.first;
    for (const chunk of this.chunks) {
      if (position < start + chunk.length) return position >= start ? chunk[position - start] : undefined;
      start += chunk.length;
    }
    return undefined;
  }

  /** Whether `[start, end)` holds a `"`. Stretches must be asked about in increasing order of `start`. */
  hasQuote(start: number, end: number): boolean {
    if (this.quote >= start) return this.quote < end;
    // Before `searched` there is no quote after the last stretch asked about, hence none after `start`.
    this.quote = this.find(this.quote === -1 ? Math.max(start, this.searched) : start);
    this.searched = this.end;
    return this.quote !== -1 && this.quote < end;
  }

  /** Calls `into` with each piece of `[start, end)`, in order. */
  pieces(start: number, end: number, into: (chunk: Buffer, from: number, to: number) => void): void {
    let chunkStart = this.first;
    for (const chunk of this.chunks) {
      const chunkEnd = chunkStart + chunk.length;
      if (chunkEnd > start && chunkStart < end)
        into(chunk, Math.max(start, chunkStart) - chunkStart, Math.min(end, chunkEnd) - chunkStart);
      if (chunkEnd >= end) return;
      chunkStart = chunkEnd;
    }
  }

  private find(from: number): number {
    let chunkStart = this.first;
    for (const chunk of this.chunks) {
      const chunkEnd = chunkStart + chunk.length;
      if (chunkEnd > from) {
        const at = chunk.indexOf(QUOTE, Math.max(0, from - chunkStart));
        if (at >= 0) return chunkStart + at;
      }
      chunkStart = chunkEnd;
    }
    return -1;
  }
}
