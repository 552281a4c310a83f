// ValidateFile: streams the CSV from S3 through the engine, streams the canonical copy to the audience's
// staging folder (multipart), writes validation.json and rejects.csv, and plans the audience.

import { PassThrough, type Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '../shared/log.ts';
import {
  audienceNameFromKey,
  legacyRegistryKey,
  manifestKeyFor,
  partsFolderOf,
  type RegistryScope,
  registryKey,
  reportKey,
  sourcePath,
  stagingPrefix,
} from '../shared/naming.ts';
import {
  type ManifestPart,
  PartsManifestError,
  parseRedshiftManifest,
  selectParts,
} from '../shared/parts.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import type { RegistryItem } from '../shared/registry.ts';
import {
  headObject,
  isNotFound,
  listedObject,
  listPrefix,
  objectExists,
  putJson,
  rangedObjectStream,
} from '../shared/s3.ts';
import type { Destination, TaskEvent, ValidationResult } from '../shared/state.ts';
import { type TeamOf, type TeamsConfig, teamOf } from '../shared/teams.ts';
import { STAGING_TAGGING } from '../shared/upkeep.ts';
import { type CsvSource, type EngineResult, validateSources } from './engine/engine.ts';
import { identityTable } from './engine/identities.ts';
import type { RangePool } from './engine/thread-pool.ts';
import { type Manifest, ManifestError, manifestDestinations, parseManifest } from './manifest.ts';

export interface ValidateFileConfig {
  defaultDestinations: Destination[];
  defaultTtlInDays: number;
  sourcePathIncludesBucket: boolean;
  requireManifest: boolean;
  /** Normalized header → namespace, merged over the built-in table. */
  identityNamespaces: Record<string, string>;
  maxFileSizeBytes: number;
  /** Threads that parse: 1 in the small function, the vCPUs in the large one (thread-pool.ts). */
  workers: number;
  /** Slice size for the workers (default: the engine's). */
  splitBytes?: number | undefined;
  /** The team's `hashIdentities` (a manifest's wins). */
  hashIdentities?: boolean | undefined;
}

/** What ValidateFile reads of a registry item: whose it is and where its files are staged. */
export type LegacyAudienceItem = Pick<
  RegistryItem,
  'registryKey' | 'stagingPrefix' | 'audienceName' | 'createdByExecution' | 'team'
>;

/** The registry items ValidateFile reads: a team's audience written before teams existed. */
export interface LegacyAudienceLookup {
  get(registryKey: string): Promise<LegacyAudienceItem | undefined>;
}

export interface ValidateFileDeps {
  s3: S3Client;
  /** The stack's settings; a configured team's file uses its team's over them (configFor). */
  config: ValidateFileConfig;
  /** The configured teams; none is a stack without teams. */
  teams?: TeamsConfig | undefined;
  /** The registry, to find a team's audiences written under the keys before teams (none: not looked up). */
  registry?: LegacyAudienceLookup | undefined;
  logger: Logger;
  /** Workers kept warm across invocations (the large function); started per file when absent. */
  pool?: RangePool | undefined;
}

type ManifestLoad = {
  manifest?: Manifest;
  key?: string;
  error?: { code: 'MANIFEST_INVALID' | 'MANIFEST_MISSING'; message: string };
};

async function loadManifest(deps: ValidateFileDeps, bucket: string, csvKey: string): Promise<ManifestLoad> {
  const key = manifestKeyFor(csvKey);
  const missing: ManifestLoad = deps.config.requireManifest
    ? {
        error: {
          code: 'MANIFEST_MISSING',
          message: `this pipeline requires a manifest: upload ${key} before the CSV`,
        },
      }
    : {};
  // Most files come without a manifest: a GET of the missing key would be S3's 403, not its 404 (see
  // objectExists), so the listing asks first and the GET only reads a manifest that is there.
  if (!(await objectExists(deps.s3, bucket, key))) return missing;
  let text: string;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = await object.Body!.transformToString('utf-8');
  } catch (error) {
    // Deleted between the listing and the GET.
    if (!isNotFound(error)) throw error;
    return missing;
  }
  try {
    return { manifest: parseManifest(text), key };
  } catch (error) {
    if (error instanceof ManifestError)
      return { key, error: { code: 'MANIFEST_INVALID', message: `${key}: ${error.message}` } };
    throw error;
  }
}

/**
 * An object written from a stream as the engine produces it (multipart above 5 MB, so memory stays bounded).
 * `discard` aborts before the stream ends: nothing is written, and a started multipart upload is aborted.
 */
function streamedObject(s3: S3Client, bucket: string, key: string, header = '', tagging?: string) {
  const body = new PassThrough();
  if (header) body.write(header);
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: 'text/csv; charset=utf-8',
      ...(tagging ? { Tagging: tagging } : {}),
    },
  });
  const done = upload.done();
  // Settled by keep/discard; until then a failed upload must not surface as an unhandled rejection.
  done.catch(() => undefined);
  return {
    body,
    async keep(): Promise<void> {
      body.end();
      await done;
    },
    async discard(): Promise<void> {
      await upload.abort();
      body.end();
      await done.catch((error: unknown) => {
        if (!(error instanceof Error && error.name === 'AbortError')) throw error;
      });
    },
  };
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

/**
 * The original's size, `undefined` when it is gone. The version an event names is read directly (it may be
 * noncurrent already, which a listing does not show, and it exists unless deleted for good); a key without
 * a version is listed, since it may be gone and a HEAD would then be S3's 403.
 */
async function originalSize(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
  eventSize: number,
): Promise<number | undefined> {
  if (versionId) {
    const head = await headObject(s3, bucket, key, versionId);
    return head && (head.ContentLength ?? eventSize);
  }
  const listed = await listedObject(s3, bucket, key);
  return listed && (listed.Size ?? eventSize);
}

/**
 * The parts of a folder drop, in order: for `_SUCCESS`, the data objects of the folder (shared/parts.ts); for
 * a Redshift `manifest`, the parts it lists, each of which must be there with the size it gives. A refusal
 * says what is wrong with the folder.
 */
async function folderParts(
  deps: ValidateFileDeps,
  bucket: string,
  markerKey: string,
  markerVersion: string | undefined,
  folder: string,
): Promise<{ parts: { key: string; size: number }[] } | { refusal: string }> {
  const listed = await listPrefix(deps.s3, bucket, folder);
  let parts: { key: string; size: number }[];
  if (markerKey.slice(folder.length) === 'manifest') {
    const object = await deps.s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: markerKey, VersionId: markerVersion }),
    );
    let entries: ManifestPart[];
    try {
      entries = parseRedshiftManifest(await object.Body!.transformToString('utf-8'), bucket, folder);
    } catch (error) {
      if (error instanceof PartsManifestError) return { refusal: `${markerKey}: ${error.message}` };
      throw error;
    }
    const sizes = new Map(listed.map((o) => [o.key, o.size]));
    const missing = entries.filter((e) => !sizes.has(e.key)).map((e) => e.key);
    if (missing.length > 0)
      return {
        refusal: `${markerKey} lists ${missing.length} part(s) that are not in ${folder}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}; upload them, then the manifest again`,
      };
    const short = entries.find((e) => e.size !== undefined && e.size !== sizes.get(e.key));
    if (short)
      return {
        refusal: `${short.key} has ${sizes.get(short.key)} bytes, the manifest says ${short.size}: it may still be uploading; upload it whole, then the manifest again`,
      };
    parts = entries.map((e) => ({ key: e.key, size: sizes.get(e.key) ?? 0 }));
  } else {
    parts = selectParts(listed, folder).parts;
  }
  if (parts.length === 0)
    return {
      refusal: `${folder} holds no parts, only its completion marker: upload the export's files first`,
    };
  return { parts };
}

/** The settings a file is validated and planned with: its team's over the stack's. */
export function configFor(config: ValidateFileConfig, team: TeamOf): ValidateFileConfig {
  if (team.kind !== 'team') return config;
  const own = team.settings;
  return {
    ...config,
    ...(own.defaultDestinations ? { defaultDestinations: own.defaultDestinations } : {}),
    ...(own.defaultTtlInDays !== undefined ? { defaultTtlInDays: own.defaultTtlInDays } : {}),
    ...(own.requireManifest !== undefined ? { requireManifest: own.requireManifest } : {}),
    ...(own.identityNamespaces ? { identityNamespaces: own.identityNamespaces } : {}),
    ...(own.hashIdentities !== undefined ? { hashIdentities: own.hashIdentities } : {}),
  };
}

/** The registry scope of a configured team's file: its sandbox and its name. */
function scopeFor(team: TeamOf): RegistryScope | undefined {
  if (team.kind !== 'team') return undefined;
  const sandbox = team.settings.sandboxName;
  if (!sandbox) {
    throw new PipelineError('CONFIG_INVALID', `Team "${team.team}" has no sandboxName in PIPELINE_TEAMS`);
  }
  return { sandbox, team: team.team };
}

/**
 * The registry key and staging folder of the audience: the team's own key, or, when it has no item yet, the item
 * its team had before teams existed (today's key, the name alone), so that the upload refreshes that audience
 * (staged where AEP reads it) instead of meeting AEP's 409. An item under the old key is the team's when it
 * records no team and came from the team's folder: its name (from the key) starts with `<team>/`, or its first
 * execution was named for a file there.
 */
async function plannedKey(
  audienceName: string,
  scope: RegistryScope | undefined,
  registry: LegacyAudienceLookup | undefined,
): Promise<{ registryKey: string; stagingPrefix: string }> {
  const own = registryKey(audienceName, scope);
  if (scope && registry && !(await registry.get(own))) {
    const legacy = await registry.get(legacyRegistryKey(audienceName));
    const team = scope.team.toLowerCase();
    const fromTeamFolder =
      legacy !== undefined &&
      legacy.team === undefined &&
      (legacy.audienceName.toLowerCase().startsWith(`${team}/`) ||
        legacy.createdByExecution.toLowerCase().startsWith(`${team}-`));
    if (legacy && fromTeamFolder)
      return { registryKey: legacy.registryKey, stagingPrefix: legacy.stagingPrefix };
  }
  return { registryKey: own, stagingPrefix: stagingPrefix(own) };
}

export async function validateFile(event: TaskEvent, stackDeps: ValidateFileDeps): Promise<ValidationResult> {
  const { executionName, state } = event;
  const { bucket, key, versionId } = state.file;
  const reports = { validation: reportKey(executionName, 'validation.json') };
  const rejectsKey = reportKey(executionName, 'rejects.csv');
  const team = teamOf(key, stackDeps.teams ?? { teams: {}, unknownTeams: 'defaults' });
  const deps: ValidateFileDeps = { ...stackDeps, config: configFor(stackDeps.config, team) };
  const refuse = async (
    code: 'VALIDATION_FAILED' | 'MANIFEST_INVALID' | 'MANIFEST_MISSING' | 'TEAM_UNKNOWN',
    message: string,
  ) => {
    await putJson(deps.s3, bucket, reports.validation, {
      valid: false,
      file: key,
      failure: { code, message },
    });
    deps.logger.info('file refused', { code });
    return rejected(code, message, reports);
  };

  if (team.kind === 'rejected') return refuse('TEAM_UNKNOWN', team.message);
  const scope = scopeFor(team);
  const loaded = await loadManifest(deps, bucket, key);
  if (loaded.error) return refuse(loaded.error.code, loaded.error.message);
  const manifest = loaded.manifest;
  const workers = deps.config.workers;
  const open = (part: { key: string; size: number; versionId?: string | undefined }) => async () =>
    workers > 1
      ? rangedObjectStream(deps.s3, { bucket, ...part })
      : ((
          await deps.s3.send(
            new GetObjectCommand({ Bucket: bucket, Key: part.key, VersionId: part.versionId }),
          )
        ).Body as Readable);
  const toSource = (part: { key: string; size: number; versionId?: string | undefined }): CsvSource => ({
    name: part.key,
    gzip: /\.gz$/i.test(part.key),
    size: part.size,
    // Over the limit the engine refuses from the sizes alone (plain parts): nothing is even opened.
    open: open(part),
  });
  const folder = partsFolderOf(key);
  let sources: CsvSource[];
  if (folder) {
    const parts = await folderParts(deps, bucket, key, versionId, folder);
    if ('refusal' in parts) return refuse('VALIDATION_FAILED', parts.refusal);
    sources = parts.parts.map(toSource);
  } else {
    const sizeBytes = await originalSize(deps.s3, bucket, key, versionId, state.file.size);
    if (sizeBytes === undefined)
      return refuse('VALIDATION_FAILED', `s3://${bucket}/${key} is no longer there; upload it again`);
    sources = [toSource({ key, size: sizeBytes, versionId })];
  }

  const audienceName = manifest?.name ?? audienceNameFromKey(key);
  const { registryKey: regKey, stagingPrefix: prefix } = await plannedKey(audienceName, scope, deps.registry);
  const stagedKey = `${prefix}${executionName}.csv`;

  // Tagged for the staging lifecycle rule: KeepAlive retags the copy a kept-alive audience still needs.
  const staged = streamedObject(deps.s3, bucket, stagedKey, '', STAGING_TAGGING);
  const rejects = streamedObject(deps.s3, bucket, rejectsKey, 'row,column,code,message\n');
  let result: EngineResult;
  try {
    result = await validateSources(sources, {
      folder: folder !== undefined,
      manifest,
      identityHeaders: identityTable(deps.config.identityNamespaces),
      hashIdentities: deps.config.hashIdentities,
      maxFileSizeBytes: deps.config.maxFileSizeBytes,
      staged: staged.body,
      rejects: rejects.body,
      workers,
      splitBytes: deps.config.splitBytes,
      pool: deps.pool,
    });
  } catch (error) {
    await Promise.allSettled([staged.discard(), rejects.discard()]);
    throw error;
  }
  // A refused file leaves nothing in staging; rejects.csv exists only when some row was rejected.
  const hasRejects = result.invalidRows > 0;
  await Promise.all([
    result.valid ? staged.keep() : staged.discard(),
    hasRejects ? rejects.keep() : rejects.discard(),
  ]);
  const allReports = hasRejects ? { ...reports, rejects: rejectsKey } : reports;

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
    fileErrors: result.fileErrors,
    errors: result.errors.slice(0, 100),
    ...(result.parts ? { parts: result.parts } : {}),
    ...(hasRejects ? { rejects: rejectsKey } : {}),
  });

  if (!result.valid) {
    const where = hasRejects ? `; see ${rejectsKey}` : '';
    deps.logger.info('file refused', { code: result.failure?.code, invalidByCode: result.invalidByCode });
    return rejected(result.failure!.code, `${result.failure!.message}${where}`, allReports, result);
  }

  const stagedHead = await headObject(deps.s3, bucket, stagedKey);
  const lastModified = Math.floor((stagedHead?.LastModified?.getTime() ?? Date.now()) / 1000);
  deps.logger.info('file validated', {
    rows: result.rows,
    invalidRows: result.invalidRows,
    stagedKey,
    workers,
  });
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
      identityNamespaces: [
        ...new Set(result.fields.flatMap((f) => (f.identityNs ? [f.identityNs] : []))),
      ].sort(),
      ttlInDays: manifest?.ttlInDays ?? deps.config.defaultTtlInDays,
      ...(manifest?.description ? { description: manifest.description } : {}),
      ...(manifest?.labels ? { labels: manifest.labels } : {}),
      ...(manifest?.audienceId ? { audienceId: manifest.audienceId } : {}),
      ...(scope ? { team: scope.team, sandbox: scope.sandbox } : {}),
      ...(manifest?.keepAlive === undefined ? {} : { keepAlive: manifest.keepAlive }),
    },
    destinations: (manifest && manifestDestinations(manifest)) ?? deps.config.defaultDestinations,
    ...(loaded.key ? { manifestKey: loaded.key } : {}),
    reports: allReports,
  };
}
