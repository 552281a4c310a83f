// start-pipeline: turns an S3 "Object Created" event into one Step Functions execution with a deterministic,
// readable name; a redelivered event asks for the same name and is logged as a duplicate, never an error.
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { Logger } from '../shared/log.ts';
import { executionName } from '../shared/naming.ts';
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
      'version-id': z.string().optional(),
      sequencer: z.string().min(1),
    }),
    reason: z.string().optional(),
  }),
});

export type StartPipelineResult =
  | { status: 'STARTED'; executionName: string; executionArn: string }
  | { status: 'DUPLICATE'; executionName: string }
  | { status: 'IGNORED'; reason: string };

export interface StartPipelineDeps {
  sfn: SFNClient;
  stateMachineArn: string;
  logger: Logger;
}

export class MalformedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedEventError';
  }
}

export async function startPipeline(
  rawEvent: unknown,
  deps: StartPipelineDeps,
): Promise<StartPipelineResult> {
  const parsed = objectCreatedEventSchema.safeParse(rawEvent);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const message = `not an S3 Object Created event: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`;
    deps.logger.error('malformed event', { reason: message });
    throw new MalformedEventError(message);
  }
  const { detail, time } = parsed.data;
  const { key } = detail.object;
  if (!key.startsWith('incoming/') || !/\.csv$/i.test(key)) {
    const reason = key.endsWith('/') ? 'a folder marker' : 'not a .csv file under incoming/';
    deps.logger.info('ignored', { key, reason });
    return { status: 'IGNORED', reason };
  }
  const versionId = detail.object['version-id'];
  const name = executionName(detail.bucket.name, key, versionId, detail.object.sequencer);
  const input: ExecutionInput = {
    file: {
      bucket: detail.bucket.name,
      key,
      ...(versionId ? { versionId } : {}),
      sequencer: detail.object.sequencer,
      size: detail.object.size ?? 0,
      ...(time ? { eventTime: time } : {}),
    },
  };
  const calledAt = Date.now();
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.stateMachineArn,
        name,
        input: JSON.stringify(input),
      }),
    );
    // Same name and input while still running: Step Functions answers the running execution.
    if (started.startDate && started.startDate.getTime() < calledAt - 1000) {
      deps.logger.info('duplicate event: the execution is already running', { executionName: name, key });
      return { status: 'DUPLICATE', executionName: name };
    }
    deps.logger.info('execution started', { executionName: name, key });
    return { status: 'STARTED', executionName: name, executionArn: started.executionArn ?? '' };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
      deps.logger.info('duplicate event: the execution already exists', { executionName: name, key });
      return { status: 'DUPLICATE', executionName: name };
    }
    throw error;
  }
}
