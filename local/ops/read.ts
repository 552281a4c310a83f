// Step Functions and S3 reads shared by the operator commands: one execution's description, history and reports.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
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
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const pageSize = options.latest ? Math.min(1000, options.latest - events.length) : 1000;
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: pageSize,
        nextToken,
        reverseOrder: options.latest !== undefined,
        includeExecutionData: true,
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken && (!options.latest || events.length < options.latest));
  return options.latest !== undefined ? events.reverse() : events;
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
