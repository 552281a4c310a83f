// Fixtures for the AEP-side task tests: a registry on in-memory dynalite, task events, and task dependencies.

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import type { AepTaskDeps } from '../../../functions/shared/aep-context.ts';
import type { Coordination } from '../../../functions/shared/coordination.ts';
import { PipelineError } from '../../../functions/shared/pipeline-errors.ts';
import { MAX_RUNS_PER_AUDIENCE, Registry } from '../../../functions/shared/registry.ts';
import type { Destination, PipelineState, TaskEvent } from '../../../functions/shared/state.ts';
import { ensureRegistryTable, startDynalite } from '../../../local/dynamo.ts';
import type { FakeAep } from './fake-aep.ts';

export interface TestRegistry {
  registry: Registry;
  /** The table's document client and name, for tests that write items as an older version would have. */
  client: DynamoDBDocumentClient;
  tableName: string;
  /** dynalite's URL, for clients built from the environment. */
  endpoint: string;
  close(): Promise<void>;
}

export async function startTestRegistry(tableName = 'registry-test'): Promise<TestRegistry> {
  const dynamo = await startDynalite();
  const raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await ensureRegistryTable(raw, tableName);
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    registry: new Registry({ client, tableName }),
    client,
    tableName,
    endpoint: dynamo.endpoint,
    async close() {
      raw.destroy();
      await dynamo.close();
    },
  };
}

export function taskDeps(
  aep: FakeAep,
  registry: Registry,
  maxRunsPerAudience = MAX_RUNS_PER_AUDIENCE,
  onAudienceRunLimit: 'fail' | 'rollover' = 'fail',
): AepTaskDeps {
  return {
    aep,
    registry,
    // Tasks that never touch the registry get a stand-in registry without one.
    coordination:
      typeof registry.coordination === 'function' ? registry.coordination() : ({} as Coordination),
    now: Date.now,
    config: {
      sandboxName: 'dev-sandbox',
      maxRunsPerAudience,
      dailyRunBudget: 100,
      onDailyRunLimit: 'fail',
      onAudienceRunLimit,
    },
  };
}

let uploads = 0;

/** A unique audience name per call, so tests sharing one registry table do not meet. */
export function uniqueName(base = 'teamA/churn'): string {
  uploads += 1;
  return `${base}-${uploads}`;
}

export interface EventOptions {
  name: string;
  execution: string;
  audienceId?: string;
  destinations?: Destination[];
  stagedLastModified?: number;
  state?: Partial<PipelineState>;
}

/** The task input after a successful ValidateFile, plus whatever later parts `state` adds. */
export function taskEvent(options: EventOptions): TaskEvent {
  const registryKey = options.name.toLowerCase();
  const slug = registryKey.replace(/[^a-z0-9]+/g, '-');
  return {
    executionName: options.execution,
    state: {
      file: { bucket: 'drop', key: `incoming/${options.name}.csv`, sequencer: '0A1B', size: 120 },
      validation: {
        valid: true,
        rows: 2,
        validRows: 2,
        invalidRows: 0,
        invalidByCode: {},
        identities: { Email: 2 },
        fields: [
          { name: 'email', type: 'string', identityNs: 'Email' },
          { name: 'score', type: 'number' },
        ],
        staged: {
          key: `staging/audiences/${slug}/${options.execution}.csv`,
          lastModified: options.stagedLastModified ?? 1_767_225_600,
        },
        audience: {
          name: options.name,
          registryKey,
          stagingPrefix: `staging/audiences/${slug}/`,
          sourcePath: `drop/staging/audiences/${slug}`,
          ttlInDays: 30,
          ...(options.audienceId === undefined ? {} : { audienceId: options.audienceId }),
        },
        destinations: options.destinations ?? [],
        reports: { validation: `reports/${options.execution}/validation.json` },
      },
      ...options.state,
    },
  };
}

/** The PipelineError a task's promise rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<PipelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PipelineError);
  return error as PipelineError;
}
