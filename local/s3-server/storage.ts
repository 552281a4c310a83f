// The filesystem store behind the embedded S3 server: object bodies where a person looks for them, sidecar metadata,
// multipart parts, atomic commits and the persisted event sequencer.
//
// Layout under dataDir (bucket names cannot start with '.', so the dot-folders never collide with a bucket):
//   <bucket>/<key>                          the current version's bytes, byte for byte (keys with '/' are folders)
//   .s3meta/buckets/<bucket>/<key>.json     metadata sidecar, one per key (path segments escaped, see metaSegment)
//   .s3meta/buckets/<bucket>/<key>.body     the bytes instead, when <bucket>/<key> cannot hold them (below)
//   .s3meta/buckets/<bucket>/%~long/<sha256(key)>.{json,body}  keys with a path segment too long for a file name
//   .s3meta/sequencer                       last event sequencer, so it keeps increasing across restarts
//   .s3uploads/<uploadId>/                  multipart uploads in progress: upload.json, NNNNN.part, NNNNN.json
//   .s3tmp/                                 bodies being received; renamed into place when complete
//
// A body goes to <bucket>/<key> unless that path is taken by a folder (key 'a' while 'a/b' exists), a parent is
// taken by a file (key 'a/b' while 'a' exists), or the key has an empty or '.' segment or one too long for a
// file name; it then lives beside its sidecar, and the sidecar's `bodyFile` always says where the bytes are.
// Listing reads the sidecars only: files dropped into a bucket folder by hand are not objects.
// Buckets are versioned but only the current version's bytes are kept: every write gets a new version id,
// and older versions are gone (GET of an older version id answers NoSuchVersion).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChecksumAlgorithm } from './checksums.ts';
import { fsCode, invalidArgument, noSuchBucket, noSuchKey, noSuchUpload, S3Error } from './errors.ts';

export interface ObjectMeta {
  key: string;
  /** Where the bytes are, relative to dataDir, with '/' separators. */
  bodyFile: string;
  size: number;
  /** Quoted, as in the ETag header. */
  etag: string;
  versionId: string;
  /** ISO time with milliseconds. */
  lastModified: string;
  contentType: string;
  /** Content-Encoding (without aws-chunked), Cache-Control, Content-Disposition, Content-Language, Expires. */
  headers: Record<string, string>;
  /** `x-amz-meta-*` values by their lower-case name without the prefix. */
  userMetadata: Record<string, string>;
  /** A full-object checksum the client sent and the server verified; absent for multipart objects. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  partsCount?: number;
  /** Object tags (PutObjectTagging, or a PutObject's x-amz-tagging). */
  tags?: Record<string, string>;
}

export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  contentType: string;
  headers: Record<string, string>;
  userMetadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
}

export interface PartMeta {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: string;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

export interface CommitResult {
  meta: ObjectMeta;
  sequencer: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const UPLOAD_ID = /^[A-Za-z0-9_-]{16,128}$/;
const MAX_SEGMENT_BYTES = 200;
const LONG_KEYS_FOLDER = '%~long';

export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..');
}

/** Keys are S3's (any UTF-8 up to 1024 bytes) except that a '..' segment is refused: it reads as path traversal. */
export function assertValidKey(key: string): void {
  if (key.length === 0) throw invalidArgument('The object key must not be empty', 'key', key);
  if (Buffer.byteLength(key) > 1024) throw new S3Error('KeyTooLongError', 400, 'Your key is too long');
  if (key.includes('\0')) throw invalidArgument('The object key must not contain NUL', 'key', key);
  if (key.split('/').includes('..')) {
    throw invalidArgument("Object keys with a '..' path segment are refused by this server", 'key', key);
  }
}

/**
 * One key segment as a sidecar path segment. Escaping '%' and a leading '.' makes it injective and keeps '.', '..'
 * and '' impossible; folders never end in '.json' or '.body', so a key 'a' (file a.json) and a key 'a.json/x'
 * (folder a%2Ejson) never meet.
 */
export function metaSegment(segment: string, isFolder: boolean): string {
  if (segment === '') return '%';
  let escaped = segment.replaceAll('%', '%25');
  if (escaped.startsWith('.')) escaped = `%2E${escaped.slice(1)}`;
  if (isFolder) escaped = escaped.replace(/\.(json|body)$/, '%2E$1');
  return escaped;
}

export function unescapeMetaSegment(escaped: string): string {
  if (escaped === '%') return '';
  return escaped.replace(/%(25|2E)/g, (_, code: string) => (code === '25' ? '%' : '.'));
}

function toPosix(relative: string): string {
  return relative.split(path.sep).join('/');
}

/** Serialises async sections per name (a bucket, an upload) so commits never interleave. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(name: string, section: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(section, section);
    const tail = result.catch(() => undefined);
    this.tails.set(name, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  }
}

export class Store {
  private readonly locks = new KeyedMutex();
  private lastSequencer = 0n;

  constructor(readonly dataDir: string) {}

  private get metaRoot(): string {
    return path.join(this.dataDir, '.s3meta');
  }
  private get tmpDir(): string {
    return path.join(this.dataDir, '.s3tmp');
  }
  private get uploadsDir(): string {
    return path.join(this.dataDir, '.s3uploads');
  }
  private get sequencerFile(): string {
    return path.join(this.metaRoot, 'sequencer');
  }

  async init(buckets: string[]): Promise<void> {
    await fs.mkdir(path.join(this.metaRoot, 'buckets'), { recursive: true });
    await fs.mkdir(this.uploadsDir, { recursive: true });
    await fs.rm(this.tmpDir, { recursive: true, force: true });
    await fs.mkdir(this.tmpDir, { recursive: true });
    try {
      this.lastSequencer = BigInt(`0x${readFileSync(this.sequencerFile, 'utf8').trim()}`);
    } catch {
      this.lastSequencer = 0n;
    }
    for (const bucket of buckets) await this.createBucket(bucket, true);
  }

  /**
   * Strictly increasing, persisted before it is handed out. Never below the clock (ms × 4096), so it also keeps
   * increasing if the sequencer file is lost.
   */
  nextSequencer(): string {
    const fromClock = BigInt(Date.now()) * 4096n;
    this.lastSequencer = this.lastSequencer + 1n > fromClock ? this.lastSequencer + 1n : fromClock;
    const value = this.lastSequencer.toString(16).toUpperCase().padStart(16, '0');
    const temp = `${this.sequencerFile}.${process.pid}.tmp`;
    mkdirSync(this.metaRoot, { recursive: true });
    writeFileSync(temp, value);
    renameSync(temp, this.sequencerFile);
    return value;
  }

  tempPath(): string {
    return path.join(this.tmpDir, randomUUID());
  }

  // ---- buckets ----

  bucketDir(bucket: string): string {
    return path.join(this.dataDir, bucket);
  }

  private bucketMetaDir(bucket: string): string {
    return path.join(this.metaRoot, 'buckets', bucket);
  }

  async bucketExists(bucket: string): Promise<boolean> {
    if (!isValidBucketName(bucket)) return false;
    try {
      return (await fs.stat(this.bucketDir(bucket))).isDirectory();
    } catch {
      return false;
    }
  }

  async assertBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) throw noSuchBucket(bucket);
  }

  /** Returns false when it already existed. */
  async createBucket(bucket: string, ignoreExisting = false): Promise<boolean> {
    if (!isValidBucketName(bucket)) {
      throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', {
        BucketName: bucket,
      });
    }
    const existed = await this.bucketExists(bucket);
    if (existed && !ignoreExisting) {
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        409,
        'Your previous request to create the named bucket succeeded and you already own it.',
        { BucketName: bucket },
      );
    }
    await fs.mkdir(this.bucketDir(bucket), { recursive: true });
    await fs.mkdir(this.bucketMetaDir(bucket), { recursive: true });
    return !existed;
  }

  async listBuckets(): Promise<{ name: string; created: Date }[]> {
    const entries = await fs.readdir(this.dataDir, { withFileTypes: true });
    const buckets: { name: string; created: Date }[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !isValidBucketName(entry.name)) continue;
      const stat = await fs.stat(path.join(this.dataDir, entry.name));
      buckets.push({ name: entry.name, created: stat.birthtimeMs > 0 ? stat.birthtime : stat.mtime });
    }
    return buckets.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async deleteBucket(bucket: string): Promise<void> {
    await this.assertBucket(bucket);
    await this.locks.run(`bucket:${bucket}`, async () => {
      if ((await this.listKeys(bucket)).length > 0) {
        throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
          BucketName: bucket,
        });
      }
      await fs.rm(this.bucketMetaDir(bucket), { recursive: true, force: true });
      await fs.rm(this.bucketDir(bucket), { recursive: true, force: true });
    });
  }

  // ---- objects ----

  /** The sidecar path without its extension ('.json' or '.body' is appended). */
  private metaBase(bucket: string, key: string): string {
    const segments = key.split('/');
    const escaped = segments.map((segment, index) => metaSegment(segment, index < segments.length - 1));
    if (escaped.some((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES)) {
      const digest = createHash('sha256').update(key).digest('hex');
      return path.join(this.bucketMetaDir(bucket), LONG_KEYS_FOLDER, digest);
    }
    return path.join(this.bucketMetaDir(bucket), ...escaped);
  }

  private primaryBodyPath(bucket: string, key: string): string | undefined {
    const segments = key.split('/');
    const plain = segments.every(
      (segment) => segment !== '' && segment !== '.' && segment !== '..' && Buffer.byteLength(segment) <= 255,
    );
    return plain ? path.join(this.bucketDir(bucket), ...segments) : undefined;
  }

  private async readMetaFile(file: string): Promise<ObjectMeta | undefined> {
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as ObjectMeta;
    } catch (error) {
      if (fsCode(error) === 'ENOENT' || fsCode(error) === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  async readMeta(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    return this.readMetaFile(`${this.metaBase(bucket, key)}.json`);
  }

  absolute(bodyFile: string): string {
    return path.join(this.dataDir, ...bodyFile.split('/'));
  }

  /**
   * The current version's metadata and an open handle on its bytes, taken together under the bucket lock so a
   * concurrent overwrite cannot pair one version's metadata with another's bytes.
   */
  async openObject(bucket: string, key: string): Promise<{ meta: ObjectMeta; handle: fs.FileHandle }> {
    await this.assertBucket(bucket);
    return this.locks.run(`bucket:${bucket}`, async () => {
      const meta = await this.readMeta(bucket, key);
      if (!meta) throw noSuchKey(key);
      try {
        return { meta, handle: await fs.open(this.absolute(meta.bodyFile), 'r') };
      } catch (error) {
        if (fsCode(error) === 'ENOENT') throw noSuchKey(key);
        throw error;
      }
    });
  }

  /** Changes the current version's metadata (its tags) under the bucket lock; NoSuchKey without one. */
  async updateMeta(
    bucket: string,
    key: string,
    change: (meta: ObjectMeta) => ObjectMeta,
  ): Promise<ObjectMeta> {
    await this.assertBucket(bucket);
    return this.locks.run(`bucket:${bucket}`, async () => {
      const meta = await this.readMeta(bucket, key);
      if (!meta) throw noSuchKey(key);
      const changed = change(meta);
      await this.writeJson(`${this.metaBase(bucket, key)}.json`, changed);
      return changed;
    });
  }

  /**
   * Moves a fully received temp file into place as the key's new current version and writes its sidecar.
   * `check` runs under the lock against the current version (conditional writes); `meta` lacks bodyFile.
   */
  async commitObject(
    bucket: string,
    key: string,
    tempFile: string,
    meta: Omit<ObjectMeta, 'bodyFile'>,
    check?: (current: ObjectMeta | undefined) => void,
  ): Promise<CommitResult> {
    return this.locks.run(`bucket:${bucket}`, async () => {
      await this.assertBucket(bucket);
      const previous = await this.readMeta(bucket, key);
      check?.(previous);
      const metaBase = this.metaBase(bucket, key);
      const bodyPath =
        (await this.placeAtPrimary(bucket, key, tempFile)) ?? (await this.placeBeside(metaBase, tempFile));
      const full: ObjectMeta = { ...meta, bodyFile: toPosix(path.relative(this.dataDir, bodyPath)) };
      if (previous && previous.bodyFile !== full.bodyFile)
        await this.removeFile(this.absolute(previous.bodyFile), bucket);
      await this.writeJson(`${metaBase}.json`, full);
      return { meta: full, sequencer: this.nextSequencer() };
    });
  }

  private async placeAtPrimary(bucket: string, key: string, tempFile: string): Promise<string | undefined> {
    const target = this.primaryBodyPath(bucket, key);
    if (!target) return undefined;
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      const existing = await fs.lstat(target).catch(() => undefined);
      // An empty folder left behind is not a collision; rmdir fails (and we fall back) if it holds anything.
      if (existing?.isDirectory()) await fs.rmdir(target);
      await fs.rename(tempFile, target);
      return target;
    } catch (error) {
      const code = fsCode(error);
      if (code && ['ENOTDIR', 'EEXIST', 'EISDIR', 'ENOTEMPTY', 'ENAMETOOLONG'].includes(code))
        return undefined;
      throw error;
    }
  }

  private async placeBeside(metaBase: string, tempFile: string): Promise<string> {
    const target = `${metaBase}.body`;
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(tempFile, target);
    return target;
  }

  private async writeJson(file: string, value: unknown): Promise<void> {
    const temp = this.tempPath();
    await fs.writeFile(temp, `${JSON.stringify(value, null, 2)}\n`);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.rename(temp, file);
  }

  /** Unlinks a file and the folders it leaves empty, up to (not including) the bucket's roots. */
  private async removeFile(file: string, bucket: string): Promise<void> {
    await fs.rm(file, { force: true });
    const stops = new Set([this.bucketDir(bucket), this.bucketMetaDir(bucket), this.dataDir]);
    let dir = path.dirname(file);
    while (!stops.has(dir) && dir.startsWith(this.dataDir)) {
      try {
        await fs.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }

  /** Deletes the current version; a missing key is not an error (S3's DeleteObject is idempotent). */
  async deleteObject(bucket: string, key: string, versionId?: string): Promise<ObjectMeta | undefined> {
    await this.assertBucket(bucket);
    return this.locks.run(`bucket:${bucket}`, async () => {
      const meta = await this.readMeta(bucket, key);
      if (!meta || (versionId !== undefined && versionId !== meta.versionId)) return undefined;
      await this.removeFile(this.absolute(meta.bodyFile), bucket);
      await this.removeFile(`${this.metaBase(bucket, key)}.json`, bucket);
      return meta;
    });
  }

  /** Every key in the bucket, in S3's order (UTF-8 binary), from the sidecars. */
  async listKeys(bucket: string): Promise<string[]> {
    const root = this.bucketMetaDir(bucket);
    const keys: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.isDirectory()) {
          if (dir === root && entry.name === LONG_KEYS_FOLDER) continue;
          await walk(path.join(dir, entry.name), `${prefix}${unescapeMetaSegment(entry.name)}/`);
        } else if (entry.name.endsWith('.json')) {
          keys.push(prefix + unescapeMetaSegment(entry.name.slice(0, -'.json'.length)));
        }
      }
    };
    await walk(root, '');
    const longDir = path.join(root, LONG_KEYS_FOLDER);
    for (const name of await fs.readdir(longDir).catch(() => [] as string[])) {
      if (!name.endsWith('.json')) continue;
      const meta = await this.readMetaFile(path.join(longDir, name));
      if (meta) keys.push(meta.key);
    }
    return sortKeys(keys);
  }

  // ---- multipart uploads ----

  private uploadDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    return path.join(this.uploadsDir, uploadId);
  }

  partFile(uploadId: string, partNumber: number): string {
    return path.join(this.uploadDir(uploadId), `${String(partNumber).padStart(5, '0')}.part`);
  }

  async createUpload(fields: Omit<UploadMeta, 'uploadId' | 'initiated'>): Promise<UploadMeta> {
    const upload: UploadMeta = {
      ...fields,
      uploadId: randomBytes(24).toString('base64url'),
      initiated: new Date().toISOString(),
    };
    await fs.mkdir(this.uploadDir(upload.uploadId), { recursive: true });
    await this.writeJson(path.join(this.uploadDir(upload.uploadId), 'upload.json'), upload);
    return upload;
  }

  async readUpload(bucket: string, key: string, uploadId: string): Promise<UploadMeta> {
    try {
      const upload = JSON.parse(
        await fs.readFile(path.join(this.uploadDir(uploadId), 'upload.json'), 'utf8'),
      ) as UploadMeta;
      if (upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId);
      return upload;
    } catch (error) {
      if (fsCode(error) === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    }
  }

  async listUploads(bucket: string): Promise<UploadMeta[]> {
    const uploads: UploadMeta[] = [];
    for (const id of await fs.readdir(this.uploadsDir).catch(() => [] as string[])) {
      try {
        const upload = JSON.parse(
          await fs.readFile(path.join(this.uploadsDir, id, 'upload.json'), 'utf8'),
        ) as UploadMeta;
        if (upload.bucket === bucket) uploads.push(upload);
      } catch {
        // An upload being created or removed right now: not listed.
      }
    }
    return uploads.sort((a, b) => compareKeys(a.key, b.key) || a.initiated.localeCompare(b.initiated));
  }

  /** Runs a section with the upload locked, so parts, completion and abort do not interleave. */
  withUpload<T>(uploadId: string, section: () => Promise<T>): Promise<T> {
    return this.locks.run(`upload:${uploadId}`, section);
  }

  async commitPart(uploadId: string, tempFile: string, part: PartMeta): Promise<void> {
    const file = this.partFile(uploadId, part.partNumber);
    await fs.rename(tempFile, file);
    await this.writeJson(file.replace(/\.part$/, '.json'), part);
  }

  async listParts(uploadId: string): Promise<PartMeta[]> {
    const dir = this.uploadDir(uploadId);
    const parts: PartMeta[] = [];
    for (const name of await fs.readdir(dir)) {
      if (!/^\d{5}\.json$/.test(name)) continue;
      parts.push(JSON.parse(await fs.readFile(path.join(dir, name), 'utf8')) as PartMeta);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async removeUpload(uploadId: string): Promise<void> {
    await fs.rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }
}

export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function sortKeys(keys: string[]): string[] {
  return keys
    .map((key) => ({ key, bytes: Buffer.from(key) }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map(({ key }) => key);
}
