// Unit tests of ArchiveFile: copy then delete, idempotent re-runs, multipart above 5 GB, result.json content.
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { type ArchiveFileDeps, archiveFile, EXPORT_NOTE } from '../../functions/archive-file/archive-file.ts';
import { createLogger } from '../../functions/shared/log.ts';
import type { TaskEvent, ValidationResult } from '../../functions/shared/state.ts';
import { MemoryBucket } from './support/memory-s3.ts';

const bucket = new MemoryBucket();
const EXEC = 'churn-1a2b3c4d';
const KEY = 'incoming/teamA/churn.csv';
const FINISHED = new Date('2026-04-01T12:00:00Z');
let warnings: string[];

function deps(): ArchiveFileDeps {
  return {
    s3: new S3Client({}),
    logger: createLogger({
      service: 'test',
      sink: (line) => {
        const entry = JSON.parse(line) as { level: string; message: string };
        if (entry.level === 'WARN') warnings.push(entry.message);
      },
    }),
    now: () => FINISHED,
  };
}

const validation: ValidationResult = {
  valid: true,
  rows: 10,
  validRows: 9,
  invalidRows: 1,
  invalidByCode: { INVALID_IDENTITY: 1 },
  identities: { Email: 9 },
  fields: [{ name: 'email', type: 'string', identityNs: 'Email' }],
  destinations: [],
  reports: { validation: `reports/${EXEC}/validation.json`, rejects: `reports/${EXEC}/rejects.csv` },
};

function event(versionId?: string, size = 12): TaskEvent {
  return {
    executionName: EXEC,
    state: {
      file: { bucket: 'drop', key: KEY, sequencer: '01', size, ...(versionId ? { versionId } : {}) },
      validation,
      audience: {
        status: 'READY',
        audienceId: 'aud-1',
        name: 'teamA/churn',
        refreshed: true,
        poll: { attempt: 1, waitSeconds: 15 },
      },
      ingestion: {
        status: 'SUCCESS',
        runId: 'run-1',
        dataFilterStartTime: 1,
        dataFilterEndTime: 2,
        poll: { attempt: 2, waitSeconds: 30 },
      },
      activation: { destinations: [{ flowId: 'flow-1', kind: 'streaming', status: 'ADDED' }] },
    },
  };
}

/** Keys the task read (HEAD or GET), as opposed to listed. */
function readKeys(): string[] {
  return [...bucket.mock.commandCalls(HeadObjectCommand), ...bucket.mock.commandCalls(GetObjectCommand)].map(
    (call) => call.args[0].input.Key ?? '',
  );
}

beforeEach(() => {
  bucket.reset();
  warnings = [];
});

describe('archiveFile', () => {
  it('moves the original and its manifest to processed/ and writes result.json', async () => {
    const versionId = bucket.put(KEY, 'email\na@b.co\n');
    bucket.put('incoming/teamA/churn.manifest.json', '{}');

    const result = await archiveFile(event(versionId), deps());

    expect(result).toEqual({
      archivedKey: `processed/teamA/${EXEC}/churn.csv`,
      resultKey: `reports/${EXEC}/result.json`,
    });
    expect(bucket.current(result.archivedKey)).toBe('email\na@b.co\n');
    expect(bucket.current(`processed/teamA/${EXEC}/churn.manifest.json`)).toBe('{}');
    expect(bucket.current(KEY)).toBeUndefined();
    expect(bucket.current('incoming/teamA/churn.manifest.json')).toBeUndefined();
    const report = bucket.json(result.resultKey);
    expect(report).toMatchObject({
      status: 'SUCCEEDED',
      execution: EXEC,
      file: { bucket: 'drop', key: KEY, versionId },
      audienceId: 'aud-1',
      audienceName: 'teamA/churn',
      refreshed: true,
      runId: 'run-1',
      destinations: [{ flowId: 'flow-1', status: 'ADDED' }],
      validation: { rows: 10, invalidRows: 1, invalidByCode: { INVALID_IDENTITY: 1 } },
      reports: { ...validation.reports, result: result.resultKey },
      note: EXPORT_NOTE,
      finishedAt: FINISHED.toISOString(),
    });
  });

  it('archives a file uploaded without a manifest, reading nothing under processed/', async () => {
    // As in AWS, where ArchiveFile may not read processed/ and lists only by prefix: a read of a missing
    // key is a 403, which would fail the execution after the audience went live.
    bucket.missingKeyReads = 'AccessDenied';
    const versionId = bucket.put(KEY, 'data');

    const result = await archiveFile(event(versionId), deps());

    expect(bucket.current(result.archivedKey)).toBe('data');
    expect(bucket.json(result.resultKey).status).toBe('SUCCEEDED');
    // The manifest's move answered MISSING from two listings: no HEAD of it here or under processed/.
    expect(readKeys()).toEqual([KEY]);
    expect(bucket.listRequests.map((request) => request.Prefix)).toEqual([
      KEY,
      'incoming/teamA/churn.manifest.json',
      `processed/teamA/${EXEC}/churn.manifest.json`,
    ]);
    expect(warnings).toEqual([]);
  });

  it('finds by listing that a retried archive already moved the file and its manifest', async () => {
    bucket.missingKeyReads = 'AccessDenied';
    const versionId = bucket.put(KEY, 'data');
    bucket.put('incoming/teamA/churn.manifest.json', '{}');
    await archiveFile(event(versionId), deps());
    bucket.mock.resetHistory();

    const again = await archiveFile(event(versionId), deps());

    expect(readKeys()).toEqual([]);
    expect(bucket.mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(bucket.current(again.archivedKey)).toBe('data');
    expect(bucket.current(`processed/teamA/${EXEC}/churn.manifest.json`)).toBe('{}');
    expect(warnings).toEqual([]);
  });

  it('copies before it deletes, and deletes nothing when the copy fails', async () => {
    bucket.put(KEY, 'data');
    bucket.failCopyTo.add(`processed/teamA/${EXEC}/churn.csv`);

    await expect(archiveFile(event(), deps())).rejects.toThrow('copy refused');
    expect(bucket.current(KEY)).toBe('data');
    expect(bucket.mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('is idempotent: a re-run after the move copies nothing again and still writes the result', async () => {
    const versionId = bucket.put(KEY, 'data');
    await archiveFile(event(versionId), deps());
    const copiesAfterFirst = bucket.mock.commandCalls(CopyObjectCommand).length;

    const again = await archiveFile(event(versionId), deps());

    expect(bucket.mock.commandCalls(CopyObjectCommand)).toHaveLength(copiesAfterFirst);
    expect(bucket.current(again.archivedKey)).toBe('data');
    expect(bucket.json(again.resultKey).status).toBe('SUCCEEDED');
    expect(warnings).toEqual([]);
  });

  it("removes a redriven execution's error.json, leaving one report per outcome", async () => {
    const versionId = bucket.put(KEY, 'data');
    bucket.put(`reports/${EXEC}/error.json`, '{"code":"AEP_UNAVAILABLE"}');

    const result = await archiveFile(event(versionId), deps());

    expect(bucket.current(`reports/${EXEC}/error.json`)).toBeUndefined();
    expect(bucket.json(result.resultKey).status).toBe('SUCCEEDED');
  });

  it('leaves a newer upload of the same key in incoming/', async () => {
    const ours = bucket.put(KEY, 'first');
    bucket.put(KEY, 'second');

    const result = await archiveFile(event(ours), deps());

    expect(bucket.current(result.archivedKey)).toBe('first');
    expect(bucket.current(KEY)).toBe('second');
  });

  it('copies objects over 5 GB part by part', async () => {
    const size = 5 * 1024 ** 3 + 1;
    const versionId = bucket.put(KEY, 'huge', size);

    const result = await archiveFile(event(versionId, size), deps());

    expect(bucket.mock.commandCalls(CopyObjectCommand).map((c) => c.args[0].input.Key)).not.toContain(
      result.archivedKey,
    );
    const parts = bucket.mock.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    expect(parts.length).toBe(11);
    expect(parts[0]?.CopySource).toBe(`drop/incoming/teamA/churn.csv?versionId=${versionId}`);
    expect(parts[0]?.CopySourceRange).toBe(`bytes=0-${512 * 1024 ** 2 - 1}`);
    expect(parts.at(-1)?.CopySourceRange).toBe(`bytes=${size - 1}-${size - 1}`);
    expect(bucket.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(bucket.current(result.archivedKey)).toBe('huge');
    expect(bucket.current(KEY)).toBeUndefined();
  });

  it('warns but still reports success when the original is gone from both places', async () => {
    const result = await archiveFile(event(), deps());
    expect(warnings).toHaveLength(1);
    expect(bucket.json(result.resultKey).status).toBe('SUCCEEDED');
  });
});
