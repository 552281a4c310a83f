// record-execution-failure: an execution ended FAILED/TIMED_OUT/ABORTED outside HandleFailure (an outage past
// all retries). Writes reports/<execution>/error.json so the team hears why; the original stays for a redrive.
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { Logger } from '../shared/log.ts';
import { reportKey } from '../shared/naming.ts';
import { causeMessage } from '../shared/pipeline-errors.ts';
import { headObject, putJson } from '../shared/s3.ts';

export const statusChangeEventSchema = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string(),
    name: z.string(),
    status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
    input: z.string().nullable().optional(),
    error: z.string().nullable().optional(),
    cause: z.string().nullable().optional(),
  }),
});

export interface RecordFailureDeps {
  s3: S3Client;
  bucket: string;
  logger: Logger;
  now: () => Date;
}

const SENTENCES = {
  TIMED_OUT: 'The execution ran past its time limit.',
  ABORTED: 'The execution was stopped by an operator.',
} as const;

export async function recordExecutionFailure(
  rawEvent: unknown,
  deps: RecordFailureDeps,
): Promise<{ status: 'WRITTEN' | 'ALREADY_REPORTED'; key: string }> {
  const { detail } = statusChangeEventSchema.parse(rawEvent);
  const key = reportKey(detail.name, 'error.json');
  if (await headObject(deps.s3, deps.bucket, key)) {
    deps.logger.info('error.json already written by HandleFailure', { execution: detail.name });
    return { status: 'ALREADY_REPORTED', key };
  }
  let file: string | null = null;
  try {
    file = (JSON.parse(detail.input ?? '{}') as { file?: { key?: string } }).file?.key ?? null;
  } catch {
    // an unreadable input still gets its report
  }
  const message =
    detail.status === 'FAILED'
      ? causeMessage(detail.cause ?? '') || 'The execution failed without a message.'
      : SENTENCES[detail.status];
  await putJson(deps.s3, deps.bucket, key, {
    status: detail.status,
    execution: detail.name,
    executionArn: detail.executionArn,
    file,
    code: detail.error || detail.status,
    message,
    redrivable: detail.status === 'FAILED',
    hint: 'The original is still in incoming/. Once the outage is over, redrive the execution.',
    failedAt: deps.now().toISOString(),
  });
  deps.logger.warn('execution failed outside HandleFailure', { execution: detail.name, code: detail.error });
  return { status: 'WRITTEN', key };
}
