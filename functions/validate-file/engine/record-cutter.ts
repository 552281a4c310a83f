// Cuts a stream of CSV bytes into slices that each end on a record boundary, so that every slice can be parsed
// on its own and the slices' results merged into exactly what one pass would give.
//
// How the cut knows the quote state: a streamed quote-parity pre-pass, run by the one thread that reads the
// file, just ahead of the workers that parse. In CSV as csv-parse reads it (a quote opens a field or is doubled
// inside one), the bytes before a position hold an odd number of `"` exactly when the position is inside a
// quoted field, so the state at any byte is the parity of the quotes before it. Counting quotes is one
// `indexOf` per quote, far cheaper than parsing, and it needs no speculation (Ge et al., SIGMOD 2019, guess
// the state at each range start and re-parse a range when the guess proves wrong): the reader sees every byte
// in order anyway, because S3 ranges and gzip both arrive as one stream. A file whose quotes break the rule
// is one csv-parse refuses (CSV_SYNTAX); the cuts before its first bad quote are still right, and that is the
// range where both a single pass and the ranges stop.
//
// A cut falls right after a line break outside quotes: LF, CRLF or a lone CR (the record delimiters of
// record-range.ts); after a CR only once the next byte is known, so a CRLF is never split. UTF-8 characters
// never contain these bytes, so a cut never splits a character either.

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export class RecordCutter {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Bytes at the start of `chunks` already scanned, and the quote state after them. */
  private scanned = 0;
  private inQuote = false;

  /** Slices are at least `minBytes` long (but the last); 1 cuts after every record. */
  constructor(private minBytes: number) {}

  setMinBytes(minBytes: number): void {
    this.minBytes = Math.max(1, minBytes);
  }

  /** Bytes received and not yet handed out in a slice. */
  get pending(): number {
    return this.length;
  }

  /** Takes the next bytes of the stream; returns the slices now complete, in order. */
  push(chunk: Buffer): Buffer[] {
    this.add(chunk);
    const slices: Buffer[] = [];
    for (let cut = this.findCut(false); cut > 0; cut = this.findCut(false)) slices.push(this.take(cut));
    return slices;
  }

  /** Takes the next bytes of the stream without cutting (see `next`). */
  add(chunk: Buffer): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
  }

  /**
   * The first complete slice available now, or undefined (used to read a header record by record). `atEnd`:
   * no byte follows the ones received, so a final CR ends a line.
   */
  next(atEnd = false): Buffer | undefined {
    const cut = this.findCut(atEnd);
    return cut > 0 ? this.take(cut) : undefined;
  }

  /** The stream ended: the slices left, the last one possibly without a final line break. */
  end(): Buffer[] {
    const slices: Buffer[] = [];
    for (let cut = this.findCut(true); cut > 0; cut = this.findCut(true)) slices.push(this.take(cut));
    if (this.length > 0) slices.push(this.take(this.length));
    return slices;
  }

  /** The length of the first slice, 0 when no record ends past `minBytes` yet. */
  private findCut(atEnd: boolean): number {
    const target = this.minBytes - 1;
    if (this.length <= target) return 0;
    let offset = 0;
    for (const chunk of this.chunks) {
      const chunkEnd = offset + chunk.length;
      if (chunkEnd <= this.scanned) {
        offset = chunkEnd;
        continue;
      }
      let i = this.scanned - offset;
      // Before the target only the parity matters: jump from quote to quote.
      if (this.scanned < target) {
        const stop = Math.min(chunk.length, target - offset);
        for (let q = chunk.indexOf(QUOTE, i); q >= 0 && q < stop; q = chunk.indexOf(QUOTE, q + 1))
          this.inQuote = !this.inQuote;
        i = stop;
        this.scanned = offset + stop;
        if (stop === chunk.length) {
          offset = chunkEnd;
          continue;
        }
      }
      for (; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === QUOTE) this.inQuote = !this.inQuote;
        else if (!this.inQuote && (byte === LF || byte === CR)) {
          if (byte === LF) return offset + i + 1;
          const next = i + 1 < chunk.length ? chunk[i + 1] : this.byteAt(offset + i + 1);
          if (next === undefined) {
            // A CR as the last byte so far: a CRLF or a lone CR, known with the next byte.
            this.scanned = offset + i;
            if (atEnd) return offset + i + 1;
            return 0;
          }
          return offset + i + (next === LF ? 2 : 1);
        }
      }
      this.scanned = chunkEnd;
      offset = chunkEnd;
    }
    return 0;
  }

  private byteAt(position: number): number | undefined {
    let offset = 0;
    for (const chunk of this.chunks) {
      if (position < offset + chunk.length) return chunk[position - offset];
      offset += chunk.length;
    }
    return undefined;
  }

  /**
   * Hands out the first `length` bytes as one Buffer that owns its memory (so that it can be transferred to a
   * worker), and starts scanning the rest afresh: a cut is always outside quotes.
   */
  private take(length: number): Buffer {
    const slice = Buffer.allocUnsafeSlow(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0]!;
      const need = length - filled;
      if (chunk.length <= need) {
        chunk.copy(slice, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(slice, filled, 0, need);
        this.chunks[0] = chunk.subarray(need);
        filled += need;
      }
    }
    this.length -= length;
    this.scanned = 0;
    this.inQuote = false;
    return slice;
  }
}
