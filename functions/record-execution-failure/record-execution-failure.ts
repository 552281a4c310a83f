// record-execution-failure: an execution ended FAILED/TIMED_OUT/ABORTED outside HandleFailure (an outage past
// all retries). Writes reports/<execution>/error.json so the team hears why; the original stays for a redrive.
import type { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import type { Logger } from '../shared/log.ts';
import { METRIC } from '../shared/metric-names.ts';
import { reportKey } from '../shared/naming.ts';
import { causeMessage, isRetriedCode } from '../shared/pipeline-errors.ts';
import { objectExists, putJson } from '../shared/s3.ts';
import { type FileRef, fileRefSchema } from '../shared/state.ts';

export const statusChangeEventSchema = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    name: z.string().min(1).optional(),
    status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
    input: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

export interface RecordFailureDeps {
  s3: S3Client;
  sfn: SFNClient;
  config: { bucket: string };
  logger: Logger;
  now: () => Date;
}

type ExecutionStatus = z.infer<typeof statusChangeEventSchema>['detail']['status'];

export type RecordFailureResult =
  | { status: 'ALREADY_REPORTED'; key: string }
  | {
      status: 'WRITTEN';
      key: string;
      /** How the execution ended. */
      executionStatus: ExecutionStatus;
      /** What the outcome notification says (the handler publishes it). */
      execution: string;
      executionArn: string;
      file: FileRef | null;
      code: string;
      message: string;
    };

export const REDRIVE_HINT =
  'The original is still in incoming/. Once the outage is over, redrive the execution.';

const STATUS_SENTENCES = {
  FAILED: 'The execution failed without a message.',
  TIMED_OUT: 'The execution ran past its time limit.',
  ABORTED: 'The execution was stopped before it finished.',
} as const;

/** The execution's name is the last segment of its ARN (`…:execution:<machine>:<name>`). */
function nameFromArn(executionArn: string): string {
  return executionArn.slice(executionArn.lastIndexOf(':') + 1);
}

function fileFromInput(input: string | null | undefined): FileRef | null {
  if (!input) return null;
  try {
    const parsed = fileRefSchema.safeParse((JSON.parse(input) as { file?: unknown }).file);
    return parsed.success ? parsed.data : null;
  } catch {
    // An unreadable input still gets its report, without the file.
    return null;
  }
}

export async function recordExecutionFailure(
  rawEvent: unknown,
  deps: RecordFailureDeps,
): Promise<RecordFailureResult> {
  const { detail } = statusChangeEventSchema.parse(rawEvent);
  const execution = detail.name ?? nameFromArn(detail.executionArn);
  const key = reportKey(execution, 'error.json');
  if (await objectExists(deps.s3, deps.config.bucket, key)) {
    deps.logger.info('error.json already written by HandleFailure', { execution });
    return { status: 'ALREADY_REPORTED', key };
  }

  let { input, error, cause } = detail;
  // Large inputs and some statuses arrive without these fields: ask Step Functions only then.
  if (!input || (detail.status === 'FAILED' && !error)) {
    const described = await deps.sfn.send(
      new DescribeExecutionCommand({ executionArn: detail.executionArn }),
    );
    input ||= described.input;
    error ||= described.error;
    cause ||= described.cause;
  }

  const message = causeMessage(cause ?? '') || STATUS_SENTENCES[detail.status];
  const code = error || detail.status;
  await putJson(deps.s3, deps.config.bucket, key, {
    status: detail.status,
    execution,
    executionArn: detail.executionArn,
    file: fileFromInput(input),
    code,
    message,
    redrivable: true,
    hint: REDRIVE_HINT,
    failedAt: deps.now().toISOString(),
  });
  deps.logger.warn('execution ended outside HandleFailure', { execution, status: detail.status, code });
  return {
    status: 'WRITTEN',
    key,
    executionStatus: detail.status,
    execution,
    executionArn: detail.executionArn,
    file: fileFromInput(input),
    code,
    message,
  };
}

/**
 * The metric that pages an operator about an execution this function reported, so that each such execution
 * raises exactly one alarm, the one that says what to do: RetriesExhausted for an outage the state machine's
 * retries did not outlast (redrive once it is over), ExecutionsFailedUncaught for any other failure or an abort
 * (read error.json: fix the secret, the code, or redrive). None for a timeout: the state machine's own
 * ExecutionsTimedOut metric pages for it.
 */
export function pagingMetricOf(
  result: Extract<RecordFailureResult, { status: 'WRITTEN' }>,
): string | undefined {
  if (result.executionStatus === 'TIMED_OUT') return undefined;
  if (result.executionStatus === 'FAILED' && isRetriedCode(result.code)) return METRIC.retriesExhausted;
  return METRIC.executionsFailedUncaught;
}
