// Step Functions and S3 reads shared by the operator commands: one execution's description, history and reports.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  type HistoryEvent,
  paginateGetExecutionHistory,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { OpsError } from './aws.ts';
import type { PipelineStackOutputs } from './stack.ts';

/** An execution named by its ARN, or by its name within the stack's state machine. */
export function executionArnFor(stack: PipelineStackOutputs, ref: string): string {
  if (ref.startsWith('arn:')) return ref;
  const [prefix, machine] = stack.stateMachineArn.split(':stateMachine:');
  return `${prefix}:execution:${machine}:${ref}`;
}

export async function describeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<DescribeExecutionOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist' || (error as Error).name === 'InvalidArn') {
      throw new OpsError(
        `no execution ${executionArn.split(':').pop()} in this pipeline (${executionArn}); ` +
          "list them with 'aep-audience executions'",
        2,
      );
    }
    throw error;
  }
}

/** The whole history, oldest first; or only the `latest` events (enough for where an execution is). */
export async function executionHistory(
  sfn: SFNClient,
  executionArn: string,
  options: { latest?: number } = {},
): Promise<HistoryEvent[]> {
  const { latest } = options;
  const events: HistoryEvent[] = [];
  const pages = paginateGetExecutionHistory(
    { client: sfn, pageSize: Math.min(1000, latest ?? 1000) },
    // Newest first when only the latest are wanted, so the pages stop once there are enough.
    { executionArn, reverseOrder: latest !== undefined, includeExecutionData: true },
  );
  for await (const page of pages) {
    events.push(...(page.events ?? []));
    if (latest !== undefined && events.length >= latest) break;
  }
  return latest !== undefined ? events.slice(0, latest).reverse() : events;
}

/** A JSON report of the drop bucket, or null when it is not there (not written, or expired). */
export async function readReport(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Record<string, unknown> | null> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse((await object.Body?.transformToString()) ?? 'null');
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound') return null;
    throw error;
  }
}
