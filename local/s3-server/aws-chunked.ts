// Streaming decoder for `Content-Encoding: aws-chunked` bodies, unsigned-with-trailer and signed alike.
// Frame: `<hex-size>[;chunk-signature=…]\r\n<data>\r\n` … `0[;…]\r\n[<name>:<value>\r\n…]\r\n`.
// Chunk and trailer signatures are read past, never verified (the server accepts any credentials).
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from './errors.ts';

const MAX_LINE = 8 * 1024;

const incomplete = (message: string) => new S3Error('IncompleteBody', 400, message);

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers (lower-case names) once the stream has ended, e.g. `x-amz-checksum-crc32`. */
  readonly trailers: Record<string, string> = {};
  private state: State = 'size';
  private line = Buffer.alloc(0);
  private remaining = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // A stream that stops after the last chunk's line (no blank line after it) is accepted: some signers omit it.
    const finished = this.state === 'done' || (this.state === 'trailer' && this.line.length === 0);
    callback(finished ? undefined : incomplete('The aws-chunked body ended before its final chunk'));
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.state) {
        case 'data': {
          const take = Math.min(this.remaining, chunk.length - offset);
          this.push(chunk.subarray(offset, offset + take));
          offset += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'data-end';
          break;
        }
        case 'done':
          // Anything after the terminating blank line is ignored, as S3 does.
          return;
        default: {
          const newline = chunk.indexOf(0x0a, offset);
          const end = newline === -1 ? chunk.length : newline + 1;
          this.line = Buffer.concat([this.line, chunk.subarray(offset, end)]);
          offset = end;
          if (this.line.length > MAX_LINE) throw incomplete('An aws-chunked header line is too long');
          if (newline === -1) break;
          const line = this.line.toString('latin1').replace(/\r?\n$/, '');
          this.line = Buffer.alloc(0);
          this.onLine(line);
        }
      }
    }
  }

  private onLine(line: string): void {
    if (this.state === 'data-end') {
      if (line !== '') throw incomplete('An aws-chunked chunk is longer than its declared size');
      this.state = 'size';
      return;
    }
    if (this.state === 'size') {
      const sizeText = line.split(';', 1)[0]?.trim() ?? '';
      if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) throw incomplete('An aws-chunked chunk size is not hex');
      this.remaining = Number.parseInt(sizeText, 16);
      this.state = this.remaining === 0 ? 'trailer' : 'data';
      return;
    }
    // Trailer section: header lines until a blank line.
    if (line === '') {
      this.state = 'done';
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw incomplete('An aws-chunked trailer line is malformed');
    this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
}
