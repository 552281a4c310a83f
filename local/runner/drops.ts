// Files and folder drops put into the bucket and the executions they start: each Object Created event goes
// through the synthesized upload rule to start-pipeline, as EventBridge does, and started.jsonl says which
// upload started which execution.
import { appendFileSync, createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { manifestKeyFor } from '../../functions/shared/naming.ts';
import { type DropPlan, localRedshiftManifest, type PlannedUpload } from './drop-plan.ts';
import { matchesEventPattern } from './event-pattern.ts';
import { nextSequencer, type ObjectCreated, objectCreatedEvent } from './events.ts';
import type { Json, TaskFunction } from './synthesized.ts';
import { LocalUsageError } from './usage-error.ts';

/** One line of `started.jsonl`: which upload started which execution, so a later start can say what became of it. */
export interface StartedRecord {
  key: string;
  versionId?: string;
  execution: string;
  startedAt: string;
}

interface Drop {
  key: string;
  sequencer: string;
  /** start-pipeline's answer. */
  started: Promise<{ status: string; executionName?: string; reason?: string }>;
}

export class Drops {
  private readonly drops: Drop[] = [];

  constructor(
    private readonly options: {
      bucket: string;
      /** Where each started execution is recorded (JSON lines, see StartedRecord). */
      startedFile: string;
      /** The synthesized rule on the bucket's Object Created events; none starts nothing. */
      uploadRule: Json;
      functions: Record<string, TaskFunction>;
      invoke: (fn: TaskFunction, payload: unknown) => Promise<unknown>;
      /** The backend sends no events of its own (moto): the runner sends S3's after each upload. */
      sendsNoEvents: boolean;
    },
  ) {}

  /** An S3 write: when the upload rule matches, start-pipeline runs, as EventBridge would invoke it. */
  objectCreated(event: ObjectCreated): void {
    const bridgeEvent = objectCreatedEvent(event);
    if (!this.options.uploadRule || !matchesEventPattern(this.options.uploadRule, bridgeEvent)) return;
    const fn = this.options.functions['start-pipeline'];
    if (!fn) throw new Error('the template has no start-pipeline function');
    const started = this.options.invoke(fn, bridgeEvent) as Drop['started'];
    started.then(
      (result) => {
        if (result.status !== 'STARTED' || !result.executionName) return;
        const record: StartedRecord = {
          key: event.key,
          ...(event.versionId ? { versionId: event.versionId } : {}),
          execution: result.executionName,
          startedAt: new Date().toISOString(),
        };
        appendFileSync(this.options.startedFile, `${JSON.stringify(record)}\n`);
      },
      () => undefined,
    );
    this.drops.push({ key: event.key, sequencer: event.sequencer, started });
  }

  /** Uploads a CSV (and its manifest first) under incoming/, as a team would; resolves to the execution started. */
  async dropFile(
    s3: S3Client,
    file: string,
    options: { key?: string; manifest?: string } = {},
  ): Promise<string> {
    const key = options.key ?? `incoming/${path.basename(file)}`;
    return this.drop(s3, {
      kind: 'file',
      source: file,
      upload: { key, file },
      ...(options.manifest ? { manifest: options.manifest } : {}),
    });
  }

  /**
   * Uploads what a plan says (drop-plan.ts), as a team would: the audience manifest first, a folder drop's
   * parts next, and last the object that starts the run (the file, or the folder's completion marker);
   * resolves to the execution that last upload started.
   */
  async drop(s3: S3Client, plan: DropPlan): Promise<string> {
    const starter = plan.kind === 'file' ? plan.upload : plan.marker;
    if (plan.manifest) {
      await s3.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: manifestKeyFor(starter.key),
          Body: readFileSync(plan.manifest),
        }),
      );
    }
    if (plan.kind === 'folder') {
      for (const part of plan.parts) await this.upload(s3, part);
    }
    const before = this.drops.length;
    const body =
      plan.kind === 'folder' && starter.file && path.basename(starter.key) === 'manifest'
        ? localRedshiftManifest(readFileSync(starter.file, 'utf8'), this.options.bucket, plan.folder)
        : undefined;
    await this.upload(s3, starter, body);
    const { key } = starter;
    const drop = this.drops.slice(before).find((d) => d.key === key);
    if (!drop) throw new LocalUsageError(`no pipeline was triggered for s3://${this.options.bucket}/${key}`);
    const result = await drop.started;
    if (result.status !== 'STARTED' || !result.executionName) {
      throw new LocalUsageError(
        `start-pipeline did not start an execution for ${key}: ${result.reason ?? result.status}`,
      );
    }
    return result.executionName;
  }

  /** One PutObject of a local file (or of `body`, or of nothing: an empty marker), with S3's event if need be. */
  private async upload(s3: S3Client, upload: PlannedUpload, body?: string): Promise<void> {
    const { bucket } = this.options;
    const { key } = upload;
    const content =
      body !== undefined
        ? { Body: body, ContentLength: Buffer.byteLength(body) }
        : upload.file
          ? { Body: createReadStream(upload.file), ContentLength: statSync(upload.file).size }
          : { Body: '', ContentLength: 0 };
    const contentType = /\.gz$/i.test(key)
      ? 'application/gzip'
      : /\.csv$/i.test(key)
        ? 'text/csv'
        : undefined;
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ...content,
        ...(contentType ? { ContentType: contentType } : {}),
      }),
    );
    // An endpoint such as moto emits no EventBridge events: the runner sends the Object Created event S3
    // would, with a sequencer of its own that grows with every write, as S3's does.
    if (this.options.sendsNoEvents) {
      this.objectCreated({
        bucket,
        key,
        size: content.ContentLength,
        etag: put.ETag ?? '',
        ...(put.VersionId ? { versionId: put.VersionId } : {}),
        sequencer: nextSequencer(),
        reason: 'PutObject',
        time: new Date().toISOString(),
      });
    }
  }

  /** Waits for every start-pipeline call still going (an upload's execution starts, or not). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.drops.map((d) => d.started));
  }

  /** What `started.jsonl` says, oldest first (empty before the first execution). */
  records(): StartedRecord[] {
    if (!existsSync(this.options.startedFile)) return [];
    return readFileSync(this.options.startedFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as StartedRecord);
  }
}
