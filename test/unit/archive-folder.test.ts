// Unit tests of keeping a folder drop's original: ArchiveFile and HandleFailure move every object of the
// `.parts/` folder together, marker last, copy before delete, retried safely, and leave a newer export alone.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { archiveFile } from '../../functions/archive-file/archive-file.ts';
import { handleFailure } from '../../functions/handle-failure/handle-failure.ts';
import { createLogger } from '../../functions/shared/log.ts';
import type { PipelineState, TaskEvent } from '../../functions/shared/state.ts';
import { MemoryBucket } from './support/memory-s3.ts';

const bucket = new MemoryBucket();
const EXEC = 'teamA-churn-1a2b3c4d';
const FOLDER = 'incoming/teamA/churn.parts/';
const MARKER = `${FOLDER}_SUCCESS`;
const PROCESSED = `processed/teamA/${EXEC}/churn.parts/`;
const FAILED = `failed/teamA/${EXEC}/churn.parts/`;
const PARTS: Record<string, string> = {
  'part-00000-9f1c.c000.csv': 'email\na@b.co\n',
  'part-00001-9f1c.c000.csv': 'email\nc@d.co\n',
  'part-00002-9f1c.c000.csv': 'email\n',
  '.part-00000-9f1c.c000.csv.crc': 'crc',
};
let warnings: string[];

function deps() {
  return {
    s3: new S3Client({}),
    logger: createLogger({
      service: 'test',
      sink: (line) => {
        const entry = JSON.parse(line) as { level: string; message: string };
        if (entry.level === 'WARN') warnings.push(entry.message);
      },
    }),
    now: () => new Date('2026-04-01T12:00:00Z'),
  };
}

function event(versionId: string, state: Partial<PipelineState> = {}): TaskEvent {
  return {
    executionName: EXEC,
    state: { file: { bucket: 'drop', key: MARKER, versionId, sequencer: '01', size: 0 }, ...state },
  };
}

/** The folder as a Spark job leaves it, and the audience manifest beside it; returns the marker's version. */
function dropFolder(): string {
  for (const [name, body] of Object.entries(PARTS)) bucket.put(`${FOLDER}${name}`, body);
  bucket.put('incoming/teamA/churn.manifest.json', '{"name":"Churn"}');
  return bucket.put(MARKER, '');
}

const under = (prefix: string) =>
  bucket
    .currentKeys()
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length));

const copiedTo = () => bucket.mock.commandCalls(CopyObjectCommand).map((call) => call.args[0].input.Key);

beforeEach(() => {
  bucket.reset();
  warnings = [];
});

describe('ArchiveFile of a folder drop', () => {
  it('moves the whole folder, marker and hidden files too, under the run, and the manifest beside it', async () => {
    const versionId = dropFolder();

    const result = await archiveFile(event(versionId), deps());

    expect(result.archivedKey).toBe(PROCESSED);
    expect(under(PROCESSED)).toEqual([
      '.part-00000-9f1c.c000.csv.crc',
      '_SUCCESS',
      ...Object.keys(PARTS).slice(0, 3),
    ]);
    for (const [name, body] of Object.entries(PARTS))
      expect(bucket.current(`${PROCESSED}${name}`)).toBe(body);
    expect(bucket.current(`processed/teamA/${EXEC}/churn.manifest.json`)).toBe('{"name":"Churn"}');
    expect(under('incoming/')).toEqual([]);
    expect(bucket.json(result.resultKey)).toMatchObject({
      status: 'SUCCEEDED',
      file: { key: MARKER, versionId },
      archivedKey: PROCESSED,
    });
    // The marker moves last: a stop half way leaves it in incoming/ for the retry.
    expect(copiedTo().at(-2)).toBe(`${PROCESSED}_SUCCESS`);
    expect(warnings).toEqual([]);
  });

  it('lists the folder and reads none of its parts (only the marker and the manifest), as its grants allow', async () => {
    bucket.missingKeyReads = 'AccessDenied';
    const versionId = dropFolder();

    await archiveFile(event(versionId), deps());

    const reads = [
      ...bucket.mock.commandCalls(HeadObjectCommand),
      ...bucket.mock.commandCalls(GetObjectCommand),
    ];
    expect(new Set(reads.map((call) => call.args[0].input.Key))).toEqual(
      new Set([MARKER, 'incoming/teamA/churn.manifest.json']),
    );
    for (const { Prefix } of bucket.listRequests) {
      expect(Prefix).toMatch(/^(incoming|processed)\//);
    }
    expect(bucket.listRequests.map((r) => r.Prefix)).toContain(FOLDER);
  });

  it('keeps subfolders (Spark _temporary/) and an empty folder key in place inside the archived folder', async () => {
    bucket.put(FOLDER, '');
    bucket.put(`${FOLDER}_temporary/0/part-00000`, 'left over');
    const versionId = dropFolder();

    await archiveFile(event(versionId), deps());

    expect(bucket.current(PROCESSED)).toBe('');
    expect(bucket.current(`${PROCESSED}_temporary/0/part-00000`)).toBe('left over');
    expect(under('incoming/')).toEqual([]);
  });

  it('deletes nothing that was not copied, and a retry moves the rest', async () => {
    const versionId = dropFolder();
    bucket.failCopyTo.add(`${PROCESSED}part-00001-9f1c.c000.csv`);

    await expect(archiveFile(event(versionId), deps())).rejects.toThrow('copy refused');
    expect(bucket.current(`${FOLDER}part-00001-9f1c.c000.csv`)).toBe(PARTS['part-00001-9f1c.c000.csv']);
    expect(bucket.current(MARKER)).toBe('');
    expect(bucket.current(`${PROCESSED}_SUCCESS`)).toBeUndefined();
    const deleted = bucket.mock.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input.Key);
    expect(deleted).not.toContain(`${FOLDER}part-00001-9f1c.c000.csv`);
    expect(deleted).not.toContain(MARKER);

    bucket.failCopyTo.clear();
    await archiveFile(event(versionId), deps());

    expect(under('incoming/')).toEqual([]);
    expect(under(PROCESSED)).toHaveLength(5);
  });

  it('after a full move, a retry copies nothing and leaves a later export into the folder alone', async () => {
    const versionId = dropFolder();
    await archiveFile(event(versionId), deps());
    // The team exports again into the same folder; its marker is not there yet.
    bucket.put(`${FOLDER}part-00000-aaaa.c000.csv`, 'email\nnew@b.co\n');
    bucket.mock.resetHistory();

    const again = await archiveFile(event(versionId), deps());

    expect(again.archivedKey).toBe(PROCESSED);
    expect(copiedTo()).toEqual([]);
    expect(under(FOLDER)).toEqual(['part-00000-aaaa.c000.csv']);
    expect(warnings).toEqual([]);
  });

  it('copies but leaves the folder in incoming/ when a newer marker has replaced the one that started the run', async () => {
    const ours = dropFolder();
    const newer = bucket.put(MARKER, '');

    await archiveFile(event(ours), deps());

    expect(under(PROCESSED)).toHaveLength(5);
    expect(under(FOLDER)).toEqual([
      '.part-00000-9f1c.c000.csv.crc',
      '_SUCCESS',
      ...Object.keys(PARTS).slice(0, 3),
    ]);
    expect(bucket.objects.get(MARKER)?.at(-1)?.versionId).toBe(newer);
    expect(bucket.mock.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input.Key)).not.toContain(
      `${FOLDER}part-00000-9f1c.c000.csv`,
    );
  });

  it('copies parts over 5 GB part by part, and a folder of many parts whole', async () => {
    const big = 5 * 1024 ** 3 + 1;
    bucket.put(`${FOLDER}0000_part_00`, 'huge', big);
    for (let i = 1; i <= 40; i++) bucket.put(`${FOLDER}${String(i).padStart(4, '0')}_part_00`, `p${i}`);
    const versionId = bucket.put(`${FOLDER}manifest`, '{"entries":[]}');
    const manifestMarker: TaskEvent = {
      executionName: EXEC,
      state: { file: { bucket: 'drop', key: `${FOLDER}manifest`, versionId, sequencer: '01', size: 14 } },
    };

    await archiveFile(manifestMarker, deps());

    const partCopies = bucket.mock.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    expect(partCopies).toHaveLength(11);
    expect(partCopies[0]?.CopySource).toBe(`drop/${FOLDER}0000_part_00`);
    expect(bucket.current(`${PROCESSED}0000_part_00`)).toBe('huge');
    expect(under(PROCESSED)).toHaveLength(42);
    expect(under('incoming/')).toEqual([]);
  });

  it('warns, and still succeeds, when neither the folder nor its archive is there', async () => {
    const result = await archiveFile(event('v404'), deps());
    expect(result.archivedKey).toBe(PROCESSED);
    expect(warnings).toEqual(['the original was neither in incoming/ nor in processed/']);
  });
});

describe('HandleFailure of a folder drop', () => {
  it('moves the whole folder to failed/, says where, and how to send it again', async () => {
    const versionId = dropFolder();

    const failure = await handleFailure(
      event(versionId, { error: { Error: 'VALIDATION_FAILED', Cause: 'part-00001 has another header' } }),
      deps(),
    );

    expect(failure).toMatchObject({ code: 'VALIDATION_FAILED', failedKey: FAILED });
    expect(under(FAILED)).toEqual([
      '.part-00000-9f1c.c000.csv.crc',
      '_SUCCESS',
      ...Object.keys(PARTS).slice(0, 3),
    ]);
    expect(bucket.current(`failed/teamA/${EXEC}/churn.manifest.json`)).toBe('{"name":"Churn"}');
    expect(under('incoming/')).toEqual([]);
    expect(bucket.json(failure.errorReportKey)).toMatchObject({
      file: { key: MARKER },
      failedKey: FAILED,
      fix: 'Fix the export (or its manifest) and write the folder again under incoming/, its completion marker last.',
    });
  });

  it('keeps every part in incoming/ when a copy fails', async () => {
    const versionId = dropFolder();
    bucket.failCopyTo.add(`${FAILED}part-00000-9f1c.c000.csv`);

    await expect(handleFailure(event(versionId, { error: { Error: 'X' } }), deps())).rejects.toThrow(
      'copy refused',
    );
    expect(bucket.current(`${FOLDER}part-00000-9f1c.c000.csv`)).toBe(PARTS['part-00000-9f1c.c000.csv']);
    expect(bucket.current(MARKER)).toBe('');
  });
});
