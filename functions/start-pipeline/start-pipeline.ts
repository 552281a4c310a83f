// start-pipeline: turns an S3 "Object Created" event into one Step Functions execution with a deterministic,
// readable name; a redelivered event asks for the same name and is logged as a duplicate, never an error. A
// folder drop starts once, from its completion marker: the execution input names the marker, never the parts
// (ValidateFile lists the folder), so the state stays small whatever the number of parts.
import type { S3Client } from '@aws-sdk/client-s3';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import type { Logger } from '../shared/log.ts';
import { executionName, isCompletionMarker, isPartsFolderName, partsFolderOf } from '../shared/naming.ts';
import { selectParts } from '../shared/parts.ts';
import { listPrefix } from '../shared/s3.ts';
import type { ExecutionInput } from '../shared/state.ts';

export const objectCreatedEventSchema = z.object({
  'detail-type': z.literal('Object Created'),
  source: z.literal('aws.s3'),
  time: z.string().optional(),
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      etag: z.string().optional(),
      'version-id': z.string().min(1).optional(),
      sequencer: z.string().min(1),
    }),
    reason: z.string().optional(),
  }),
});

/** How the event spells the object key: `raw` (the key as stored), or `url` (form-encoded, `red+flower.csv`). */
export type KeyEncoding = 'url' | 'raw';

/**
 * EventBridge's "Object Created" carries the key as stored, unlike the classic S3 notifications to Lambda, SQS and
 * SNS, whose keys are form-encoded. The evidence, as no AWS page says it in so many words:
 * - S3 User Guide "Event message structure" (awsdocs/amazon-s3-userguide doc_source/notification-content-structure.md)
 *   says "The object key name value is URL encoded" of the `s3` key of the classic record; its EventBridge page,
 *   "EventBridge event message structure" (doc_source/ev-events.md), describes `detail.object` with no such note.
 * - A published EventBridge event (gist vincentclaes/7a5eb53acc05b316c86769fed25d4e1a, reason
 *   CompleteMultipartUpload) has `"key": "raw/health-check/2023-08-08T14:03:40.532432.zip"`: its colons are not
 *   `%3A`, as a classic notification writes them (aws/aws-sdk-js#837: `test%2F10%3A47%3A07...`).
 * - aws-solutions-library-samples/guidance-for-medialake-on-aws PR #21, tested against AWS with files named
 *   `%2B++ %20.mp3` and `test+b.png`: "EventBridge delivers the object key un-encoded, so it is used as-is"
 *   (its tests, TestEventBridgeKeyNotDecoded).
 * - moto 5.2.1 s3/notifications.py form-encodes the key (`quote_plus`) for Lambda, SQS and SNS only (getmoto/moto
 *   PR #9060) and sends `key.name` as it is to EventBridge.
 * Libraries that decode it anyway (Powertools for Python's `S3EventBridgeNotificationObject.key` uses
 * `unquote_plus`; LocalStack `quote`s it) cite no captured event. `url` stays for a deployment that finds otherwise.
 */
export const DEFAULT_KEY_ENCODING: KeyEncoding = 'raw';

export interface StartPipelineConfig {
  stateMachineArn: string;
  keyEncoding: KeyEncoding;
}

export interface StartPipelineDeps {
  sfn: SFNClient;
  /** Lists a folder drop to size it (the `LargeFile?` Choice); without it, a folder's size is unknown. */
  s3?: S3Client | undefined;
  config: StartPipelineConfig;
  logger: Logger;
  now: () => Date;
}

export type StartPipelineResult =
  | { status: 'STARTED'; executionName: string; executionArn: string }
  | { status: 'DUPLICATE'; executionName: string }
  | { status: 'IGNORED'; reason: string };

/** Thrown for an event that is not an S3 Object Created event: it lands in the function's on-failure queue. */
export class MalformedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEventError';
  }
}

/**
 * `raw` keys are used as they are. `url` keys are decoded as form values, as S3 documents its classic
 * notifications (`red flower.csv` → `red+flower.csv`, `a+b` → `a%2Bb`); one that does not decode (a stray `%`)
 * is taken as it is rather than failing the upload.
 */
export function decodeEventKey(key: string, encoding: KeyEncoding): string {
  if (encoding === 'raw') return key;
  try {
    return decodeURIComponent(key.replaceAll('+', ' '));
  } catch {
    return key;
  }
}

/**
 * Why a key is not a pipeline input, or undefined when it is one: a `.csv` or `.csv.gz` under `incoming/`, or the
 * completion marker (`_SUCCESS`, `manifest`) directly in an `incoming/<path>/<name>.parts/` folder, which starts
 * the one execution of that folder drop. Every other object of such a folder is ignored: a warehouse writes
 * many, and only the marker says they are all there.
 */
export function ignoreReason(key: string): string | undefined {
  if (!key.startsWith('incoming/')) return 'not under incoming/';
  if (key.endsWith('/')) return 'a folder marker';
  const folders = key.slice('incoming/'.length).split('/').slice(0, -1);
  const partsDepth = folders.findIndex((folder) => isPartsFolderName(folder));
  if (partsDepth >= 0) {
    const inLast = partsDepth === folders.length - 1;
    if (!inLast && isPartsFolderName(folders.at(-1) ?? '')) {
      return 'in a .parts/ folder inside another .parts/ folder: a folder drop is one level, give it its own path';
    }
    if (!inLast) return 'in a subfolder of a folder drop: only objects directly in <name>.parts/ are read';
    return isCompletionMarker(key)
      ? undefined
      : 'a part of a folder drop; its completion marker starts the run';
  }
  if (/\.manifest\.json$/i.test(key)) return 'a manifest (read when its CSV arrives)';
  if (!/\.csv(\.gz)?$/i.test(key)) return 'not a .csv or .csv.gz file';
  return undefined;
}

/**
 * How many times its size a gzip part is taken to hold once decompressed, to route it: customer CSVs compress
 * 5–10× with gzip's default level (repetitive columns, e-mail domains); the higher end sends a compressed
 * file to the large validation rather than let it outrun the small one.
 */
export const GZIP_EXPANSION = 8;

/**
 * The CSV bytes the execution will validate, for the `LargeFile?` Choice: a file's size, a gzip's times
 * GZIP_EXPANSION, a folder drop's parts summed (listed now: the marker's own size says nothing). Undefined
 * for a folder when no S3 client is given.
 */
async function estimateDataBytes(
  s3: S3Client | undefined,
  bucket: string,
  key: string,
  size: number,
): Promise<number | undefined> {
  const expanded = (partKey: string, bytes: number) =>
    /\.gz$/i.test(partKey) ? bytes * GZIP_EXPANSION : bytes;
  const folder = partsFolderOf(key);
  if (!folder) return expanded(key, size);
  if (!s3) return undefined;
  const { parts } = selectParts(await listPrefix(s3, bucket, folder), folder);
  return parts.reduce((sum, part) => sum + expanded(part.key, part.size), 0);
}

function isAlreadyExists(error: unknown): boolean {
  return error instanceof Error && /^ExecutionAlreadyExists(Exception)?$/.test(error.name);
}

export async function startPipeline(
  rawEvent: unknown,
  deps: StartPipelineDeps,
): Promise<StartPipelineResult> {
  const { config } = deps;
  let { logger } = deps;
  const parsed = objectCreatedEventSchema.safeParse(rawEvent);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(root)';
    const reason = `not an S3 Object Created event: ${where}: ${issue?.message ?? 'invalid'}`;
    logger.error('malformed event', { reason });
    throw new MalformedEventError(reason);
  }
  const { detail, time } = parsed.data;
  const bucket = detail.bucket.name;
  const key = decodeEventKey(detail.object.key, config.keyEncoding);
  const skipped = ignoreReason(key);
  if (skipped) {
    logger.info('ignored', { key, reason: skipped });
    return { status: 'IGNORED', reason: skipped };
  }

  const versionId = detail.object['version-id'];
  const { sequencer } = detail.object;
  const name = executionName(bucket, key, versionId, sequencer);
  // From here on every line belongs to that execution.
  logger = logger.child({ correlationId: name });
  const size = detail.object.size ?? 0;
  const dataBytes = await estimateDataBytes(deps.s3, bucket, key, size);
  const input: ExecutionInput = {
    file: {
      bucket,
      key,
      ...(versionId ? { versionId } : {}),
      sequencer,
      size,
      ...(dataBytes !== undefined ? { dataBytes } : {}),
      ...(time ? { eventTime: time } : {}),
    },
  };
  const calledAt = deps.now();
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: config.stateMachineArn,
        name,
        input: JSON.stringify(input),
      }),
    );
    // Same name and same input while it still runs: Step Functions returns the running execution, whose
    // start predates this call. A second of slack absorbs clock skew between Lambda and the service.
    if (started.startDate && started.startDate.getTime() < calledAt.getTime() - 1000) {
      logger.info('duplicate event: the execution is already running', { executionName: name, key });
      return { status: 'DUPLICATE', executionName: name };
    }
    logger.info('execution started', { executionName: name, key, executionArn: started.executionArn });
    return { status: 'STARTED', executionName: name, executionArn: started.executionArn ?? '' };
  } catch (error) {
    if (isAlreadyExists(error)) {
      logger.info('duplicate event: the execution already exists', { executionName: name, key });
      return { status: 'DUPLICATE', executionName: name };
    }
    throw error;
  }
}
