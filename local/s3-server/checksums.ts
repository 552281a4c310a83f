// The checksums S3 clients send (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), computed incrementally while streaming
// by the AWS SDK's own checksum classes (@aws-sdk/checksums), the ones @aws-sdk/client-s3 computes them with.
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { Sha1, Sha256 } from '@aws-sdk/checksums/sha';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** The part of the SDK's Checksum interface used here. */
type SdkChecksum = new () => { update(chunk: Uint8Array): void; digest(): Promise<Uint8Array> };

/** The SDK's class for each algorithm: what its flexible-checksums middleware picks for the same name. */
const CHECKSUMS: Record<ChecksumAlgorithm, SdkChecksum> = {
  CRC32: Crc32,
  CRC32C: Crc32c,
  CRC64NVME: Crc64Nvme,
  SHA1: Sha1,
  SHA256: Sha256,
};

export interface Hasher {
  update(chunk: Uint8Array): void;
  /** The value as S3 writes it: base64 of the big-endian digest. */
  digest(): Promise<string>;
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

export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  const checksum = new CHECKSUMS[algorithm]();
  return {
    update: (chunk) => checksum.update(chunk),
    digest: async () => Buffer.from(await checksum.digest()).toString('base64'),
  };
}
