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
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
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
  /**
   * How a HEAD or GET of a missing key (or version) is answered. S3 says 404 only to a caller that also has
   * s3:ListBucket on the bucket, and 403 to any other: `'AccessDenied'` plays a function whose ListBucket is
   * scoped to the prefixes it lists, so a task that reads to find out whether a key exists fails as in AWS.
   */
  missingKeyReads: 'NotFound' | 'AccessDenied' = 'NotFound';
  /**
   * Each ListObjectsV2 request as it was when sent: the SDK's paginator reuses one input object for all its
   * pages, so the mock's own call history shows every page with the last continuation token.
   */
  readonly listRequests: { Prefix?: string; MaxKeys?: number; ContinuationToken?: string }[] = [];
  private nextVersion = 1;

  constructor() {
    this.install();
  }

  reset(): void {
    this.mock.reset();
    this.objects.clear();
    this.failCopyTo.clear();
    this.missingKeyReads = 'NotFound';
    this.listRequests.length = 0;
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

  /** S3's 403 for a read it will not answer; a HEAD has no body, so the SDK names it by its status. */
  private accessDenied(name: 'Forbidden' | 'AccessDenied'): S3ServiceException {
    return new S3ServiceException({
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: name,
    });
  }

  /**
   * ListObjectsV2 as S3 answers it on a general purpose bucket: current versions only (a key behind a delete
   * marker is not listed), keys in UTF-8 binary order, `Prefix`, `MaxKeys` (default 1,000) and an opaque
   * continuation token. No `Delimiter`: nothing here asks for one, and ignoring it would answer wrongly.
   */
  private listObjectsV2(input: {
    Prefix?: string;
    MaxKeys?: number;
    ContinuationToken?: string;
    StartAfter?: string;
    Delimiter?: string;
  }) {
    if (input.Delimiter !== undefined) throw new Error('MemoryBucket lists without a Delimiter');
    const { Prefix, MaxKeys, ContinuationToken } = input;
    this.listRequests.push({ Prefix, MaxKeys, ContinuationToken });
    const prefix = input.Prefix ?? '';
    const maxKeys = input.MaxKeys ?? 1000;
    const after = input.ContinuationToken
      ? Buffer.from(input.ContinuationToken, 'base64url').toString('utf8')
      : input.StartAfter;
    const keys = this.currentKeys()
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .filter((key) => after === undefined || Buffer.compare(Buffer.from(key), Buffer.from(after)) > 0);
    const page = keys.slice(0, maxKeys);
    const isTruncated = keys.length > page.length;
    const last = page.at(-1);
    return {
      Name: 'bucket',
      Prefix: prefix,
      MaxKeys: maxKeys,
      KeyCount: page.length,
      IsTruncated: isTruncated,
      ...(input.ContinuationToken ? { ContinuationToken: input.ContinuationToken } : {}),
      ...(isTruncated && last ? { NextContinuationToken: Buffer.from(last).toString('base64url') } : {}),
      ...(page.length > 0
        ? {
            Contents: page.map((key) => {
              const version = this.find(key)!;
              return { Key: key, Size: version.size, ETag: `"${version.versionId}"` };
            }),
          }
        : {}),
    };
  }

  private install(): void {
    const meta = { $metadata: { httpStatusCode: 404 } };
    this.mock.on(PutObjectCommand).callsFake((input) => {
      const versionId = this.put(input.Key, String(input.Body));
      return { VersionId: versionId };
    });
    this.mock.on(HeadObjectCommand).callsFake((input) => {
      const found = this.find(input.Key, input.VersionId);
      if (!found && this.missingKeyReads === 'AccessDenied') throw this.accessDenied('Forbidden');
      if (!found) throw new NotFound({ message: 'NotFound', ...meta });
      return { ContentLength: found.size, VersionId: found.versionId };
    });
    this.mock.on(GetObjectCommand).callsFake((input) => {
      const found = this.find(input.Key, input.VersionId);
      if (!found && this.missingKeyReads === 'AccessDenied') throw this.accessDenied('AccessDenied');
      if (!found) throw new NoSuchKey({ message: 'NoSuchKey', ...meta });
      return { Body: sdkStreamMixin(Readable.from([Buffer.from(found.body)])), VersionId: found.versionId };
    });
    this.mock.on(ListObjectsV2Command).callsFake((input) => this.listObjectsV2(input));
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
