// ValidateFile: streams the CSV from S3 through the engine, streams the canonical copy to the audience's
// staging folder (multipart), writes validation.json and rejects.csv, and plans the audience.
import { PassThrough } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '../shared/log.ts';
import {
  audienceNameFromKey,
  manifestKeyFor,
  registryKey,
  reportKey,
  sourcePath,
  stagingPrefix,
} from '../shared/naming.ts';
import { headObject, isNotFound, putJson } from '../shared/s3.ts';
import type { Destination, TaskEvent, ValidationResult } from '../shared/state.ts';
import { BUILT_IN_IDENTITY_HEADERS } from './engine/identities.ts';
import { type EngineResult, validateCsv } from './engine/validate-csv.ts';
import { type Manifest, ManifestError, manifestDestinations, parseManifest } from './manifest.ts';

export interface ValidateFileConfig {
  defaultDestinations: Destination[];
  defaultTtlInDays: number;
  sourcePathIncludesBucket: boolean;
  requireManifest: boolean;
  /** Normalized header → namespace, merged over the built-in table. */
  identityNamespaces: Record<string, string>;
  maxFileSizeBytes: number;
}

export interface ValidateFileDeps {
  s3: S3Client;
  config: ValidateFileConfig;
  logger: Logger;
}

type ManifestLoad = {
  manifest?: Manifest;
  key?: string;
  error?: { code: 'MANIFEST_INVALID' | 'MANIFEST_MISSING'; message: string };
};

async function loadManifest(deps: ValidateFileDeps, bucket: string, csvKey: string): Promise<ManifestLoad> {
  const key = manifestKeyFor(csvKey);
  let text: string;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = await object.Body!.transformToString('utf-8');
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return deps.config.requireManifest
      ? {
          error: {
            code: 'MANIFEST_MISSING',
            message: `this pipeline requires a manifest: upload ${key} before the CSV`,
          },
        }
      : {};
  }
  try {
    return { manifest: parseManifest(text), key };
  } catch (error) {
    if (error instanceof ManifestError)
      return { key, error: { code: 'MANIFEST_INVALID', message: `${key}: ${error.message}` } };
    throw error;
  }
}

function rejected(
  code: NonNullable<ValidationResult['failure']>['code'],
  message: string,
  reports: ValidationResult['reports'],
  engine?: EngineResult,
): ValidationResult {
  return {
    valid: false,
    rows: engine?.rows ?? 0,
    validRows: engine?.validRows ?? 0,
    invalidRows: engine?.invalidRows ?? 0,
    invalidByCode: engine?.invalidByCode ?? {},
    identities: engine?.identities ?? {},
    fields: engine?.fields ?? [],
    failure: { code, message },
    destinations: [],
    reports,
  };
}

export async function validateFile(event: TaskEvent, deps: ValidateFileDeps): Promise<ValidationResult> {
  const { executionName, state } = event;
  const { bucket, key, versionId } = state.file;
  const reports = { validation: reportKey(executionName, 'validation.json') };
  const rejectsKey = reportKey(executionName, 'rejects.csv');

  const loaded = await loadManifest(deps, bucket, key);
  if (loaded.error) {
    await putJson(deps.s3, bucket, reports.validation, { valid: false, file: key, failure: loaded.error });
    return rejected(loaded.error.code, loaded.error.message, reports);
  }
  const manifest = loaded.manifest;
  const head = await headObject(deps.s3, bucket, key, versionId);
  if (!head) {
    const message = `s3://${bucket}/${key} is no longer there; upload it again`;
    await putJson(deps.s3, bucket, reports.validation, {
      valid: false,
      file: key,
      failure: { code: 'VALIDATION_FAILED', message },
    });
    return rejected('VALIDATION_FAILED', message, reports);
  }

  const audienceName = manifest?.name ?? audienceNameFromKey(key);
  const regKey = registryKey(audienceName);
  const prefix = stagingPrefix(regKey);
  const stagedKey = `${prefix}${executionName}.csv`;

  const staged = new PassThrough();
  const rejects = new PassThrough();
  const stagedUpload = new Upload({
    client: deps.s3,
    params: { Bucket: bucket, Key: stagedKey, Body: staged, ContentType: 'text/csv; charset=utf-8' },
  });
  let rejectCount = 0;
  rejects.on('data', () => {
    rejectCount += 1;
  });
  const rejectsBody = new PassThrough();
  rejectsBody.write('row,column,code,message\n');
  rejects.pipe(rejectsBody);
  const rejectsUpload = new Upload({
    client: deps.s3,
    params: { Bucket: bucket, Key: rejectsKey, Body: rejectsBody, ContentType: 'text/csv; charset=utf-8' },
  });
  const uploads = Promise.all([stagedUpload.done(), rejectsUpload.done()]);

  const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  const identityHeaders = { ...BUILT_IN_IDENTITY_HEADERS, ...deps.config.identityNamespaces };
  const result = await validateCsv(object.Body as NodeJS.ReadableStream as import('node:stream').Readable, {
    manifest,
    identityHeaders,
    maxFileSizeBytes: deps.config.maxFileSizeBytes,
    sizeBytes: head.ContentLength,
    staged,
    rejects,
  });
  staged.end();
  rejects.end();
  await uploads;
  if (rejectCount === 0) await deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: rejectsKey }));
  const allReports = rejectCount > 0 ? { ...reports, rejects: rejectsKey } : reports;

  await putJson(deps.s3, bucket, reports.validation, {
    valid: result.valid,
    file: key,
    rows: result.rows,
    validRows: result.validRows,
    invalidRows: result.invalidRows,
    invalidByCode: result.invalidByCode,
    identities: result.identities,
    fields: result.fields,
    bytes: result.bytes,
    durationMs: result.durationMs,
    failure: result.failure,
    errors: result.errors.slice(0, 100),
  });

  if (!result.valid) {
    // Nothing is staged for a refused file.
    await deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: stagedKey }));
    const where = rejectCount > 0 ? `; see ${rejectsKey}` : '';
    return rejected(result.failure!.code, `${result.failure!.message}${where}`, allReports, result);
  }

  const stagedHead = await headObject(deps.s3, bucket, stagedKey);
  const lastModified = Math.floor((stagedHead?.LastModified?.getTime() ?? Date.now()) / 1000);
  deps.logger.info('file validated', { rows: result.rows, invalidRows: result.invalidRows, stagedKey });
  return {
    valid: true,
    rows: result.rows,
    validRows: result.validRows,
    invalidRows: result.invalidRows,
    invalidByCode: result.invalidByCode,
    identities: result.identities,
    fields: result.fields,
    staged: { key: stagedKey, lastModified },
    audience: {
      name: audienceName,
      registryKey: regKey,
      stagingPrefix: prefix,
      sourcePath: sourcePath(bucket, prefix, deps.config.sourcePathIncludesBucket),
      ttlInDays: manifest?.ttlInDays ?? deps.config.defaultTtlInDays,
      ...(manifest?.description ? { description: manifest.description } : {}),
      ...(manifest?.labels ? { labels: manifest.labels } : {}),
      ...(manifest?.audienceId ? { audienceId: manifest.audienceId } : {}),
    },
    destinations: (manifest && manifestDestinations(manifest)) ?? deps.config.defaultDestinations,
    ...(loaded.key ? { manifestKey: loaded.key } : {}),
    reports: allReports,
  };
}
