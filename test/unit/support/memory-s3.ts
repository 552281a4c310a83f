// A versioned in-memory bucket behind aws-sdk-client-mock, so S3-side task tests assert on objects, not calls.

import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';

interface StoredVersion {
  versionId: string;
  body: string;
  /** Reported size; lets a test pretend an object is larger than its body (multipart copy). */
  size: number;
  deleteMarker: boolean;
}

export class MemoryBucket {
  readonly mock = mockClient(S3Client);
  readonly objects = new Map<string, StoredVersion[]>();
  /** Keys whose copy must fail, to prove the original is kept. */
  readonly failCopyTo = new Set<string>();
  private nextVersion = 1;

  constructor() {
    this.install();
  }

  reset(): void {
    this.mock.reset();
    this.objects.clear();
    this.failCopyTo.clear();
    this.install();
  }

  put(key: string, body: string, size = Buffer.byteLength(body)): string {
    const versionId = `v${this.nextVersion++}`;
    const versions = this.objects.get(key) ?? [];
    versions.push({ versionId, body, size, deleteMarker: false });
    this.objects.set(key, versions);
    return versionId;
  }

  /** The current body of a key, undefined when absent or behind a delete marker. */
  current(key: string): string | undefined {
    const latest = this.objects.get(key)?.at(-1);
    return latest && !latest.deleteMarker ? latest.body : undefined;
  }

  json(key: string): Record<string, unknown> {
    const body = this.current(key);
    if (body === undefined) throw new Error(`no object ${key}`);
    return JSON.parse(body) as Record<string, unknown>;
  }

  currentKeys(): string[] {
    return [...this.objects.keys()].filter((key) => this.current(key) !== undefined).sort();
  }

  private find(key: string, versionId?: string): StoredVersion | undefined {
    const versions = this.objects.get(key);
    const found = versionId ? versions?.find((v) => v.versionId === versionId) : versions?.at(-1);
    return found && !found.deleteMarker ? found : undefined;
  }

  private parseCopySource(copySource: string): StoredVersion | undefined {
    const [path = '', query = ''] = copySource.split('?');
    const key = decodeURIComponent(path.slice(path.indexOf('/') + 1));
    const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
    return this.find(key, versionId);
  }

  private install(): void {
    const meta = { $metadata: { httpStatusCode: 404 } };
    this.mock.on(PutObjectCommand).callsFake((input) => {
      const versionId = this.put(input.Key, String(input.Body));
      return { VersionId: versionId };
    });
    this.mock.on(HeadObjectCommand).callsFake((input) => {
      const found = this.find(input.Key, input.VersionId);
      if (!found) throw new NotFound({ message: 'NotFound', ...meta });
      return { ContentLength: found.size, VersionId: found.versionId };
    });
    this.mock.on(GetObjectCommand).callsFake((input) => {
      const found = this.find(input.Key, input.VersionId);
      if (!found) throw new NoSuchKey({ message: 'NoSuchKey', ...meta });
      return { Body: sdkStreamMixin(Readable.from([Buffer.from(found.body)])), VersionId: found.versionId };
    });
    this.mock.on(CopyObjectCommand).callsFake((input) => {
      if (this.failCopyTo.has(input.Key)) throw new Error('copy refused (test)');
      const source = this.parseCopySource(input.CopySource);
      if (!source) throw new NoSuchKey({ message: 'NoSuchKey', ...meta });
      this.put(input.Key, source.body, source.size);
      return {};
    });
    this.mock.on(DeleteObjectCommand).callsFake((input) => {
      const versions = this.objects.get(input.Key) ?? [];
      versions.push({ versionId: `v${this.nextVersion++}`, body: '', size: 0, deleteMarker: true });
      this.objects.set(input.Key, versions);
      return {};
    });
    const uploads = new Map<string, { key: string; source?: StoredVersion }>();
    this.mock.on(CreateMultipartUploadCommand).callsFake((input) => {
      const uploadId = `u${uploads.size + 1}`;
      uploads.set(uploadId, { key: input.Key });
      return { UploadId: uploadId };
    });
    this.mock.on(UploadPartCopyCommand).callsFake((input) => {
      if (this.failCopyTo.has(input.Key)) throw new Error('copy refused (test)');
      const upload = uploads.get(input.UploadId);
      const source = this.parseCopySource(input.CopySource);
      if (!upload || !source) throw new NoSuchKey({ message: 'NoSuchKey', ...meta });
      upload.source = source;
      return { CopyPartResult: { ETag: `"etag-${input.PartNumber}"` } };
    });
    this.mock.on(CompleteMultipartUploadCommand).callsFake((input) => {
      const upload = uploads.get(input.UploadId);
      if (!upload?.source) throw new Error('no parts');
      this.put(input.Key, upload.source.body, upload.source.size);
      return {};
    });
    this.mock.on(AbortMultipartUploadCommand).resolves({});
  }
}
