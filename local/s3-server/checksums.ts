// The checksums S3 clients send (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), computed incrementally while streaming.
import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface Hasher {
  update(chunk: Buffer): void;
  /** The value as S3 writes it: base64 of the big-endian digest. */
  digest(): string;
}

/** `x-amz-checksum-crc32` → `CRC32`; undefined for anything else. */
export function algorithmFromHeader(header: string): ChecksumAlgorithm | undefined {
  const match = /^x-amz-checksum-([a-z0-9]+)$/i.exec(header.trim());
  const name = match?.[1]?.toUpperCase();
  return CHECKSUM_ALGORITHMS.find((algorithm) => algorithm === name);
}

export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

function reflectedTable32(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32C_TABLE = reflectedTable32(0x82f63b78);

// CRC-64/NVME, reflected; the 64-bit state is kept as two uint32 halves so no BigInt runs per byte.
const CRC64_POLY_HI = 0x9a6c9329;
const CRC64_POLY_LO = 0xac4bc9b5;
const CRC64_TABLE_HI = new Uint32Array(256);
const CRC64_TABLE_LO = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let k = 0; k < 8; k++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ CRC64_POLY_HI) >>> 0;
      lo = (lo ^ CRC64_POLY_LO) >>> 0;
    }
  }
  CRC64_TABLE_HI[n] = hi;
  CRC64_TABLE_LO[n] = lo;
}

function uint32Base64(...words: number[]): string {
  const out = Buffer.alloc(words.length * 4);
  words.forEach((word, index) => {
    out.writeUInt32BE(word >>> 0, index * 4);
  });
  return out.toString('base64');
}

class Crc32 implements Hasher {
  private crc = 0;
  update(chunk: Buffer): void {
    this.crc = zlib.crc32(chunk, this.crc);
  }
  digest(): string {
    return uint32Base64(this.crc);
  }
}

class Crc32c implements Hasher {
  private crc = 0xffffffff;
  update(chunk: Buffer): void {
    let crc = this.crc;
    for (let i = 0; i < chunk.length; i++) crc = CRC32C_TABLE[(crc ^ chunk[i]!) & 0xff]! ^ (crc >>> 8);
    this.crc = crc >>> 0;
  }
  digest(): string {
    return uint32Base64(~this.crc);
  }
}

class Crc64Nvme implements Hasher {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(chunk: Buffer): void {
    let { hi, lo } = this;
    for (let i = 0; i < chunk.length; i++) {
      const index = (lo ^ chunk[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ CRC64_TABLE_LO[index]!;
      hi = (hi >>> 8) ^ CRC64_TABLE_HI[index]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }
  digest(): string {
    return uint32Base64(~this.hi, ~this.lo);
  }
}

class NodeHash implements Hasher {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('base64');
  }
}

export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32();
    case 'CRC32C':
      return new Crc32c();
    case 'CRC64NVME':
      return new Crc64Nvme();
    case 'SHA1':
      return new NodeHash('sha1');
    case 'SHA256':
      return new NodeHash('sha256');
  }
}
