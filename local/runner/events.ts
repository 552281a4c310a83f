// The EventBridge events AWS would send the stack's rules, built locally: S3's Object Created and Step
// Functions' Execution Status Change.
import { randomUUID } from 'node:crypto';
import type { S3ObjectCreated } from '../s3-server/index.ts';
import type { LocalExecution } from './step-functions.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './synthesized.ts';

/** An S3 write as the pipeline hears of it (the embedded server's event, or the runner's after a moto PUT). */
export type ObjectCreated = Omit<S3ObjectCreated, 'versionId' | 'reason'> & {
  versionId?: string;
  reason: string;
};

/**
 * Keys in S3 event notifications are URL-encoded as a form (`red flower.jpg` → `red+flower.jpg`, `/` kept);
 * start-pipeline decodes them (S3_EVENT_KEY_ENCODING=url), so the local events carry them the same way.
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
}

let sequence = 0;
/** S3's sequencer: hexadecimal, larger for each later write (the time, then a counter within this process). */
export function nextSequencer(): string {
  sequence += 1;
  return `${Date.now().toString(16)}${sequence.toString(16).padStart(8, '0')}`.toUpperCase();
}

export function objectCreatedEvent(event: ObjectCreated) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: LOCAL_ACCOUNT,
    time: event.time,
    region: LOCAL_REGION,
    resources: [`arn:aws:s3:::${event.bucket}`],
    detail: {
      version: '0',
      bucket: { name: event.bucket },
      object: {
        key: encodeEventKey(event.key),
        size: event.size,
        etag: event.etag.replaceAll('"', ''),
        'version-id': event.versionId,
        sequencer: event.sequencer,
      },
      'request-id': randomUUID(),
      requester: LOCAL_ACCOUNT,
      'source-ip-address': '127.0.0.1',
      reason: event.reason,
    },
  };
}

export function executionStatusEvent(execution: LocalExecution, stateMachineArn: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString(),
    region: LOCAL_REGION,
    resources: [execution.arn],
    detail: {
      executionArn: execution.arn,
      stateMachineArn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate.getTime(),
      stopDate: execution.stopDate?.getTime() ?? Date.now(),
      input: execution.input,
      output: null,
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  };
}
