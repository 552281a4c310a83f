// ValidateFile against the embedded S3 server with the real SDK: the staged copy streamed through lib-storage
// (multipart above 5 MB), the reports, the audience plan, refused files leaving nothing staged, idempotence.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../functions/shared/log.ts';
import { stagingPrefix } from '../../functions/shared/naming.ts';
import { rangedObjectStream } from '../../functions/shared/s3.ts';
import type { Destination, TaskEvent } from '../../functions/shared/state.ts';
import { ThreadPool } from '../../functions/validate-file/engine/thread-pool.ts';
import {
  configFor,
  type ValidateFileConfig,
  type ValidateFileDeps,
  validateFile,
} from '../../functions/validate-file/validate-file.ts';
import { type EmbeddedS3, startEmbeddedS3 } from './support/embedded-s3.ts';

const BUCKET = 'drop';
const MiB = 1024 * 1024;
const DEFAULT_DESTINATIONS: Destination[] = [{ flowId: 'flow-default', kind: 'streaming' }];
const fixture = (name: string) => readFileSync(path.resolve(import.meta.dirname, '../fixtures/csv', name));

let embedded: EmbeddedS3;
let s3: S3Client;
/** Command names the task sent, to prove what it did not do (e.g. open a file over the size limit). */
let sent: string[];
/** The same commands with their inputs. */
let sentInputs: { name: string; input: Record<string, unknown> }[];
let runs = 0;

beforeAll(async () => {
  embedded = await startEmbeddedS3('validate-file', [BUCKET]);
  s3 = embedded.s3;
  s3.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      sentInputs.push({ name: String(context.commandName), input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
});

afterAll(async () => {
  await embedded?.close();
});

/** Forget the commands of a test's own setup: what follows is the task's. */
function startRecording(): void {
  sent = [];
  sentInputs = [];
}

beforeEach(startRecording);

function deps(config: Partial<ValidateFileConfig> = {}): ValidateFileDeps {
  return {
    s3,
    logger: createLogger({ service: 'test', sink: () => undefined }),
    config: {
      defaultDestinations: DEFAULT_DESTINATIONS,
      defaultTtlInDays: 30,
      sourcePathIncludesBucket: true,
      requireManifest: false,
      identityNamespaces: { crmid: 'CRMID' },
      maxFileSizeBytes: 10 * 1024 ** 3,
      workers: 1,
      ...config,
    },
  };
}

async function put(key: string, body: string | Buffer): Promise<string | undefined> {
  const out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return out.VersionId;
}

async function text(key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await out.Body!.transformToString('utf-8');
  } catch {
    return undefined;
  }
}

async function json(key: string): Promise<Record<string, unknown>> {
  const body = await text(key);
  if (body === undefined) throw new Error(`no object ${key}`);
  return JSON.parse(body) as Record<string, unknown>;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

/** A fresh key and execution name per test, so tests never see each other's objects. */
function names(file = 'list') {
  runs += 1;
  return { key: `incoming/team${runs}/${file}.csv`, execution: `${file}-${runs}-0a1b2c3d` };
}

function event(key: string, execution: string, extra: { versionId?: string; size?: number } = {}): TaskEvent {
  return {
    executionName: execution,
    state: { file: { bucket: BUCKET, key, sequencer: '01', size: extra.size ?? 0, ...extra } },
  };
}

describe('validateFile: a valid file', () => {
  it('stages the canonical copy, writes validation.json and plans the audience from the key', async () => {
    const { key, execution } = names('spring-churn');
    await put(key, fixture('tricky-valid.csv'));

    const result = await validateFile(event(key, execution), deps());

    const audienceName = `${key.slice('incoming/'.length, -'.csv'.length)}`;
    const prefix = stagingPrefix(audienceName.toLowerCase());
    const stagedKey = `${prefix}${execution}.csv`;
    expect(result).toMatchObject({
      valid: true,
      rows: 4,
      validRows: 4,
      invalidRows: 0,
      identities: { Email: 4 },
      staged: { key: stagedKey },
      audience: {
        name: audienceName,
        registryKey: audienceName.toLowerCase(),
        stagingPrefix: prefix,
        sourcePath: `${BUCKET}/${prefix.slice(0, -1)}`,
        ttlInDays: 30,
      },
      destinations: DEFAULT_DESTINATIONS,
      reports: { validation: `reports/${execution}/validation.json` },
    });
    expect(result.reports.rejects).toBeUndefined();
    expect(result.failure).toBeUndefined();
    expect(result.manifestKey).toBeUndefined();
    expect(result.fields).toEqual([
      { name: 'email', type: 'string', identityNs: 'Email' },
      { name: 'name', type: 'string' },
    ]);

    const staged = await text(stagedKey);
    expect(staged).toBe(
      'email,name\nann@example.com,"Smith, Ann"\nbob@example.com,"He said ""hi""\nthen left"\n' +
        'chloé@example.com,Chloé\nbob2@example.com,\n',
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: stagedKey }));
    expect(result.staged?.lastModified).toBe(Math.floor(head.LastModified!.getTime() / 1000));

    const report = await json(result.reports.validation);
    expect(report).toMatchObject({ valid: true, file: key, rows: 4, invalidRows: 0, errors: [] });
    expect(report.bytes).toBe(fixture('tricky-valid.csv').length);
    expect(await text(`reports/${execution}/rejects.csv`)).toBeUndefined();
  });

  it('takes name, ttl, labels, audienceId and destinations from the manifest, flat batch shape converted', async () => {
    const { key, execution } = names('refresh');
    await put(
      key.replace(/\.csv$/, '.manifest.json'),
      JSON.stringify({
        name: 'Spring Churn List',
        description: 'April model',
        labels: ['core/C1'],
        ttlInDays: 7,
        audienceId: 'aud-123',
        destinations: [
          { flowId: 'f-stream', kind: 'streaming' },
          {
            flowId: 'f-batch',
            kind: 'batch',
            exportMode: 'DAILY_FULL_EXPORT',
            schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
            filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
          },
        ],
      }),
    );
    await put(key, 'email\nann@example.com\n');

    const result = await validateFile(event(key, execution), deps({ sourcePathIncludesBucket: false }));

    const prefix = stagingPrefix('spring churn list');
    expect(prefix).not.toContain(' ');
    expect(result.audience).toEqual({
      name: 'Spring Churn List',
      registryKey: 'spring churn list',
      stagingPrefix: prefix,
      sourcePath: prefix.slice(0, -1),
      identityNamespaces: ['Email'],
      description: 'April model',
      labels: ['core/C1'],
      ttlInDays: 7,
      audienceId: 'aud-123',
    });
    expect(result.destinations).toEqual([
      { flowId: 'f-stream', kind: 'streaming' },
      {
        flowId: 'f-batch',
        kind: 'batch',
        batch: {
          exportMode: 'DAILY_FULL_EXPORT',
          schedule: {
            triggerType: 'SCHEDULED',
            frequency: 'DAILY',
            startDate: '2026-12-01',
            startTime: '20:00',
          },
          filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
        },
      },
    ]);
    expect(result.manifestKey).toBe(key.replace(/\.csv$/, '.manifest.json'));
    expect(await text(`${prefix}${execution}.csv`)).toBe('email\nann@example.com\n');
  });

  it('keeps an explicit empty destination list instead of the defaults', async () => {
    const { key, execution } = names();
    await put(key.replace(/\.csv$/, '.manifest.json'), JSON.stringify({ destinations: [] }));
    await put(key, 'email\nann@example.com\n');
    const result = await validateFile(event(key, execution), deps());
    expect(result.valid).toBe(true);
    expect(result.destinations).toEqual([]);
  });

  it('leaves bad rows out within maxInvalidRowsPercent and lists them, masked, in rejects.csv', async () => {
    const { key, execution } = names();
    await put(key.replace(/\.csv$/, '.manifest.json'), JSON.stringify({ maxInvalidRowsPercent: 50 }));
    await put(key, 'email,name\nann@example.com,Ann\nnot-an-email,Bob\nzoe@example.com,Zoe\n');

    const result = await validateFile(event(key, execution), deps());

    expect(result).toMatchObject({ valid: true, rows: 3, validRows: 2, invalidRows: 1 });
    expect(result.invalidByCode).toEqual({ INVALID_IDENTITY: 1 });
    expect(result.reports.rejects).toBe(`reports/${execution}/rejects.csv`);
    const rejects = await text(`reports/${execution}/rejects.csv`);
    expect(rejects).toBe(
      'row,column,code,message\n2,email,INVALID_IDENTITY,"row 2, column ""email"": ""n***"" is not an email address"\n',
    );
    expect(await text(result.staged!.key)).toBe('email,name\nann@example.com,Ann\nzoe@example.com,Zoe\n');
    expect(JSON.stringify(await json(result.reports.validation))).not.toContain('not-an-email');
  });

  it('matches configured identity headers however they are spelled', async () => {
    const { key, execution } = names();
    await put(key, 'Loyalty-ID,score\nL-1,3\n');
    const result = await validateFile(
      event(key, execution),
      deps({ identityNamespaces: { loyalty_id: 'Loyalty' } }),
    );
    expect(result.valid).toBe(true);
    expect(result.fields).toEqual([
      { name: 'Loyalty-ID', type: 'string', identityNs: 'Loyalty' },
      { name: 'score', type: 'integer' },
    ]);
  });

  it('reads the version named in the event (a newer upload of the same key is its own execution)', async () => {
    const { key, execution } = names();
    const versionId = await put(key, 'email\nann@example.com\n');
    expect(versionId).toBeDefined();
    startRecording();
    const result = await validateFile(event(key, execution, { versionId: versionId! }), deps());
    expect(result.valid).toBe(true);
    // The embedded server keeps only the latest version, so the proof is in the requests.
    const onCsv = sentInputs.filter((c) => c.input.Key === key);
    expect(onCsv.map((c) => [c.name, c.input.VersionId])).toEqual([
      ['HeadObjectCommand', versionId],
      ['GetObjectCommand', versionId],
    ]);
  });

  it('writes the same objects when run twice for one execution', async () => {
    const { key, execution } = names();
    await put(key.replace(/\.csv$/, '.manifest.json'), JSON.stringify({ maxInvalidRowsPercent: 50 }));
    await put(key, 'email\nann@example.com\nbad\nzoe@example.com\n');

    const first = await validateFile(event(key, execution), deps());
    const firstStaged = await text(first.staged!.key);
    const firstRejects = await text(`reports/${execution}/rejects.csv`);
    const second = await validateFile(event(key, execution), deps());

    expect({ ...second, staged: { ...second.staged, lastModified: 0 } }).toEqual({
      ...first,
      staged: { ...first.staged, lastModified: 0 },
    });
    expect(await text(second.staged!.key)).toBe(firstStaged);
    expect(await text(`reports/${execution}/rejects.csv`)).toBe(firstRejects);
    expect(await keysUnder(`reports/${execution}/`)).toEqual([
      `reports/${execution}/rejects.csv`,
      `reports/${execution}/validation.json`,
    ]);
  });

  it('streams a file over 5 MB to staging as a multipart upload', async () => {
    const { key, execution } = names('large');
    const rows = Array.from({ length: 160_000 }, (_, i) => `user${i}@example.com,${i},segment-${i % 7}`);
    const body = `email,n,segment\n${rows.join('\n')}\n`;
    expect(body.length).toBeGreaterThan(5 * MiB);
    await put(key, body);
    startRecording();

    const result = await validateFile(event(key, execution), deps());

    expect(result).toMatchObject({ valid: true, rows: 160_000, identities: { Email: 160_000 } });
    expect(sent).toContain('CreateMultipartUploadCommand');
    expect(sent).toContain('CompleteMultipartUploadCommand');
    expect(await text(result.staged!.key)).toBe(body);
  });
});

describe('validateFile: compressed and large files', () => {
  it('reads a .csv.gz as it streams and stages plain CSV; the audience name drops .csv.gz', async () => {
    const { execution } = names('zipped');
    const key = `incoming/team${runs}/zipped.csv.gz`;
    const body = 'email,n\nann@example.com,1\nbob@example.com,2\n';
    await put(key, gzipSync(body));

    const result = await validateFile(event(key, execution), deps());

    expect(result).toMatchObject({ valid: true, rows: 2, audience: { name: `team${runs}/zipped` } });
    expect(await text(result.staged!.key)).toBe(body);
  });

  it('refuses a gzip whose decompressed CSV is over the size limit, counted while streaming', async () => {
    const { execution } = names('bomb');
    const key = `incoming/team${runs}/bomb.csv.gz`;
    const rows = Array.from({ length: 20_000 }, (_, i) => `user${i}@example.com,${i}`);
    const packed = gzipSync(`email,n\n${rows.join('\n')}\n`);
    await put(key, packed);

    const result = await validateFile(event(key, execution), deps({ maxFileSizeBytes: 100_000 }));

    expect(packed.length).toBeLessThan(100_000);
    expect(result).toMatchObject({ valid: false, failure: { code: 'VALIDATION_FAILED' } });
    expect(result.failure!.message).toMatch(/^FILE_TOO_LARGE: .*100000 bytes of CSV once decompressed/);
  });

  it('refuses a truncated gzip with INVALID_GZIP, naming the object', async () => {
    const { execution } = names('cut');
    const key = `incoming/team${runs}/cut.csv.gz`;
    const packed = gzipSync(`email\n${'ann@example.com\n'.repeat(1000)}`);
    await put(key, packed.subarray(0, packed.length - 20));

    const result = await validateFile(event(key, execution), deps());

    expect(result.failure?.message).toMatch(new RegExp(`^INVALID_GZIP: ${key} is not a complete gzip file`));
  });

  it('with workers, reads ranged GETs on threads and stages the same bytes as one pass', async () => {
    const { key, execution } = names('threads');
    const rows = Array.from(
      { length: 60_000 },
      (_, i) => `user${i}@example.com,"note ${i}\nsecond line",${i}`,
    );
    const body = `email,note,n\r\n${rows.join('\n')}\n`;
    await put(key, body);
    startRecording();
    const pool = new ThreadPool(2);
    try {
      const result = await validateFile(event(key, execution), { ...deps({ workers: 2 }), pool });
      expect(result).toMatchObject({ valid: true, rows: 60_000, fields: [{}, {}, { type: 'integer' }] });
      expect(await text(result.staged!.key)).toBe(`email,note,n\n${rows.join('\n')}\n`);
      expect(sentInputs.some((i) => typeof i.input.Range === 'string')).toBe(true);
    } finally {
      await pool.close();
    }
  });
});

describe('validateFile: a team that hashes identities', () => {
  it("takes the team's hashIdentities: digests staged, hashed namespaces planned", async () => {
    const { key, execution } = names('hashed');
    await put(key, 'email\nAnn@Example.com\n');
    const config = configFor(deps().config, {
      kind: 'team',
      team: 'privacy',
      settings: { hashIdentities: true },
    });
    expect(config.hashIdentities).toBe(true);

    const result = await validateFile(event(key, execution), deps({ hashIdentities: true }));

    const digest = createHash('sha256').update('ann@example.com').digest('hex');
    expect(await text(result.staged!.key)).toBe(`email\n${digest}\n`);
    expect(result.audience?.identityNamespaces).toEqual(['Email_LC_SHA256']);
  });
});

describe('validateFile: a folder drop', () => {
  const folderOf = (name: string) => `incoming/team${runs}/${name}.parts/`;

  it('validates every part as one file: rows numbered across parts, each error naming its part', async () => {
    const { execution } = names('spark');
    const folder = folderOf('spark');
    await put(`${folder}part-00000.csv`, 'email,n\nann@example.com,1\nnot-an-email,2\n');
    await put(`${folder}part-00001.csv.gz`, gzipSync('email,n\r\nbob@example.com,3\nworse,4\n'));
    await put(`${folder}part-00002.csv`, '');
    await put(`${folder}_SUCCESS`, '');

    const result = await validateFile(
      event(`${folder}_SUCCESS`, execution),
      deps({ identityNamespaces: {} }),
    );

    expect(result).toMatchObject({ valid: false, rows: 4, invalidRows: 2 });
    const report = await json(`reports/${execution}/validation.json`);
    expect(report.parts).toEqual([
      { key: `${folder}part-00000.csv`, rows: 2, invalidRows: 1, invalidByCode: { INVALID_IDENTITY: 1 } },
      { key: `${folder}part-00001.csv.gz`, rows: 2, invalidRows: 1, invalidByCode: { INVALID_IDENTITY: 1 } },
      { key: `${folder}part-00002.csv`, rows: 0, invalidRows: 0, invalidByCode: {} },
    ]);
    expect((report.errors as { row: number; part: string }[]).map((e) => [e.row, e.part])).toEqual([
      [2, `${folder}part-00000.csv`],
      [4, `${folder}part-00001.csv.gz`],
    ]);
  });

  it('stages the parts as one canonical copy under one header', async () => {
    const { execution } = names('ok');
    const folder = folderOf('ok');
    await put(`${folder}part-00000.csv`, 'email,n\nann@example.com,1\n');
    await put(`${folder}part-00001.csv`, 'email,n\nbob@example.com,2\n');
    await put(`${folder}_SUCCESS`, '');

    const result = await validateFile(event(`${folder}_SUCCESS`, execution), deps());

    expect(result).toMatchObject({ valid: true, rows: 2, audience: { name: `team${runs}/ok` } });
    expect(await text(result.staged!.key)).toBe('email,n\nann@example.com,1\nbob@example.com,2\n');
  });

  it('refuses a part whose header differs from the first part, naming it', async () => {
    const { execution } = names('mixed');
    const folder = folderOf('mixed');
    await put(`${folder}part-00000.csv`, 'email,n\nann@example.com,1\n');
    await put(`${folder}part-00001.csv`, 'email,count\nbob@example.com,2\n');
    await put(`${folder}_SUCCESS`, '');

    const result = await validateFile(event(`${folder}_SUCCESS`, execution), deps());

    expect(result.failure?.message).toMatch(
      new RegExp(
        `^PART_HEADER_MISMATCH: the header of ${folder}part-00001.csv .* differs from the header of ${folder}part-00000.csv`,
      ),
    );
    expect(await keysUnder(stagingPrefix(`team${runs}/mixed`))).toEqual([]);
  });

  it('reads the parts a Redshift manifest lists, and refuses one that lists a part not there', async () => {
    const folder = folderOf('unload');
    const body = 'email\nann@example.com\n';
    await put(`${folder}0000_part_00`, body);
    const entry = (name: string) => ({
      url: `s3://${BUCKET}/${folder}${name}`,
      meta: { content_length: Buffer.byteLength(body) },
    });
    await put(`${folder}manifest`, JSON.stringify({ entries: [entry('0000_part_00')] }));
    const ok = await validateFile(event(`${folder}manifest`, names('unload').execution), deps());
    expect(ok).toMatchObject({ valid: true, rows: 1 });

    await put(
      `${folder}manifest`,
      JSON.stringify({ entries: [entry('0000_part_00'), entry('0001_part_00')] }),
    );
    const missing = await validateFile(event(`${folder}manifest`, names('unload2').execution), deps());
    expect(missing.failure?.message).toBe(
      `${folder}manifest lists 1 part(s) that are not in ${folder}: ${folder}0001_part_00; upload them, then the manifest again`,
    );
  });

  it('refuses a folder that holds only its marker', async () => {
    const { execution } = names('empty');
    const folder = folderOf('empty');
    await put(`${folder}_SUCCESS`, '');
    const result = await validateFile(event(`${folder}_SUCCESS`, execution), deps());
    expect(result.failure?.message).toMatch(/holds no parts, only its completion marker/);
  });
});

describe('rangedObjectStream', () => {
  it('reads an object as ordered ranges, several in flight, the version pinned', async () => {
    const { key } = names('ranges');
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join(''));
    const versionId = await put(key, body);
    startRecording();
    const chunks: Buffer[] = [];
    const stream = rangedObjectStream(
      s3,
      { bucket: BUCKET, key, versionId, size: body.length },
      { rangeBytes: 777, inFlight: 3 },
    );
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    expect(sentInputs.filter((i) => i.input.Range).map((i) => i.input.Range)).toEqual(
      Array.from(
        { length: Math.ceil(body.length / 777) },
        (_, n) => `bytes=${n * 777}-${Math.min(body.length, (n + 1) * 777) - 1}`,
      ),
    );
    expect(sentInputs.every((i) => !i.input.Range || i.input.VersionId === versionId)).toBe(true);
  });
});

describe('validateFile: a refused file', () => {
  it('fails on bad rows with a one-line summary, rejects.csv, and nothing staged', async () => {
    const { key, execution } = names();
    await put(key, fixture('row-errors.csv'));

    const result = await validateFile(event(key, execution), deps());

    expect(result.valid).toBe(false);
    expect(result.failure?.code).toBe('VALIDATION_FAILED');
    expect(result.failure?.message).toBe(
      '3 of 3 rows are invalid (ROW_WIDTH_MISMATCH: 1, MISSING_IDENTITY: 1, INVALID_IDENTITY: 1), more than ' +
        `the 0% allowed; first: row 1 has 3 cells; the header has 2; see reports/${execution}/rejects.csv`,
    );
    expect(result.staged).toBeUndefined();
    expect(result.audience).toBeUndefined();
    expect(result.destinations).toEqual([]);
    expect(result.reports).toEqual({
      validation: `reports/${execution}/validation.json`,
      rejects: `reports/${execution}/rejects.csv`,
    });
    expect(await keysUnder('staging/audiences/')).not.toContainEqual(expect.stringContaining(execution));
    const rejects = (await text(`reports/${execution}/rejects.csv`))?.trim().split('\n');
    expect(rejects).toHaveLength(4);
    expect(rejects?.join('\n')).not.toContain('not-an-email');
    expect(await json(result.reports.validation)).toMatchObject({
      valid: false,
      invalidRows: 3,
      failure: { code: 'VALIDATION_FAILED' },
    });
  });

  it('stops a semicolon file with UNSUPPORTED_DELIMITER, no rejects.csv and nothing staged', async () => {
    const { key, execution } = names();
    await put(key, fixture('semicolon.csv'));
    startRecording();
    const result = await validateFile(event(key, execution), deps());
    expect(result.failure).toEqual({
      code: 'VALIDATION_FAILED',
      message:
        'UNSUPPORTED_DELIMITER: the header splits on ";", not on commas; save the file as comma-separated',
    });
    expect(result.reports.rejects).toBeUndefined();
    expect(await keysUnder(`reports/${execution}/`)).toEqual([`reports/${execution}/validation.json`]);
    expect(await keysUnder('staging/audiences/')).not.toContainEqual(expect.stringContaining(execution));
    expect(sent.filter((name) => name === 'PutObjectCommand')).toHaveLength(1);
  });

  it('aborts a multipart staged upload when a late row fails the file', async () => {
    const { key, execution } = names('late-failure');
    const rows = Array.from({ length: 200_000 }, (_, i) => `user${i}@example.com,${i}`);
    const body = `email,n\n${rows.join('\n')}\nbroken,1\n`;
    expect(body.length).toBeGreaterThan(5 * MiB);
    await put(key, body);
    startRecording();

    const result = await validateFile(event(key, execution), deps());

    expect(result.valid).toBe(false);
    expect(result.failure?.message).toMatch(/^1 of 200,001 rows are invalid \(INVALID_IDENTITY: 1\)/);
    expect(sent).toContain('CreateMultipartUploadCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    expect(await keysUnder('staging/audiences/')).not.toContainEqual(expect.stringContaining(execution));
    // lib-storage aborts the multipart upload once the body ends; wait for it without a timed sleep.
    for (let attempt = 0; attempt < 50 && !sent.includes('AbortMultipartUploadCommand'); attempt++) {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'staging/' }));
    expect(pending.Uploads ?? []).toEqual([]);
  });

  it('refuses a file over the size limit from its size alone, without opening it', async () => {
    const { key, execution } = names();
    await put(key, 'email\nann@example.com\n');
    startRecording();
    const result = await validateFile(event(key, execution), deps({ maxFileSizeBytes: 10 }));
    expect(result.failure?.code).toBe('VALIDATION_FAILED');
    expect(result.failure?.message).toMatch(/^FILE_TOO_LARGE: the file is 22 bytes, over the maximum of 10/);
    // Neither the file nor a manifest: the listing showed there is none, so nothing is read.
    expect(sent.filter((name) => name === 'GetObjectCommand')).toEqual([]);
  });

  it.each([
    [{ ttlInDays: 91 }, /manifest key "ttlInDays"/],
    [{ surprise: true }, /unknown key\(s\) "surprise"/],
  ])('refuses manifest %j with MANIFEST_INVALID naming the key', async (manifest, message) => {
    const { key, execution } = names();
    const manifestKey = key.replace(/\.csv$/, '.manifest.json');
    await put(manifestKey, JSON.stringify(manifest));
    await put(key, 'email\nann@example.com\n');
    const result = await validateFile(event(key, execution), deps());
    expect(result.valid).toBe(false);
    expect(result.failure?.code).toBe('MANIFEST_INVALID');
    expect(result.failure?.message).toMatch(message);
    expect(result.failure?.message.startsWith(manifestKey)).toBe(true);
    expect(await json(result.reports.validation)).toMatchObject({ failure: { code: 'MANIFEST_INVALID' } });
  });

  it('refuses a manifest naming a column the file lacks with MANIFEST_INVALID', async () => {
    const { key, execution } = names();
    await put(key.replace(/\.csv$/, '.manifest.json'), JSON.stringify({ identities: { mail: 'Email' } }));
    await put(key, 'email\nann@example.com\n');
    const result = await validateFile(event(key, execution), deps());
    expect(result.failure?.code).toBe('MANIFEST_INVALID');
    expect(result.failure?.message).toMatch(/"identities\.mail" names a column the file does not have/);
  });

  it('requires a manifest when configured to (MANIFEST_MISSING)', async () => {
    const { key, execution } = names();
    await put(key, 'email\nann@example.com\n');
    const result = await validateFile(event(key, execution), deps({ requireManifest: true }));
    expect(result.failure).toEqual({
      code: 'MANIFEST_MISSING',
      message: `this pipeline requires a manifest: upload ${key.replace(/\.csv$/, '.manifest.json')} before the CSV`,
    });
  });

  it('refuses a file that is no longer there', async () => {
    const { key, execution } = names();
    const result = await validateFile(event(key, execution), deps());
    expect(result.failure?.code).toBe('VALIDATION_FAILED');
    expect(result.failure?.message).toMatch(/is no longer there; upload it again$/);
  });
});
