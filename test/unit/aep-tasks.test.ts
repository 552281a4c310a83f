// The AEP-side tasks' logic with a fake AEP and a real registry on in-memory dynalite: creation, refresh,
// concurrency, redrive, guardrails, failures, activation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateDestinations } from '../../functions/activate-destinations/activate-destinations.ts';
import { checkAudience } from '../../functions/check-audience/check-audience.ts';
import { checkIngestion } from '../../functions/check-ingestion/check-ingestion.ts';
import { createAudience } from '../../functions/create-audience/create-audience.ts';
import { AepConflictError } from '../../functions/shared/aep/errors.ts';
import { PipelineError } from '../../functions/shared/pipeline-errors.ts';
import { startIngestion } from '../../functions/start-ingestion/start-ingestion.ts';
import {
  startTestRegistry,
  type TestRegistry,
  taskDeps,
  taskEvent,
  uniqueName,
} from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

let db: TestRegistry;
beforeAll(async () => {
  db = await startTestRegistry();
});
afterAll(() => db.close());

async function rejection(promise: Promise<unknown>): Promise<PipelineError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PipelineError);
  return error as PipelineError;
}

/** Runs CreateAudience then CheckAudience until READY, as the state machine does. */
async function readyAudience(aep: FakeAep, name: string, execution: string) {
  const deps = taskDeps(aep, db.registry);
  let audience = await createAudience(taskEvent({ name, execution }), deps);
  for (let i = 0; audience.status !== 'READY' && i < 5; i++) {
    audience = await checkAudience(taskEvent({ name, execution, state: { audience } }), deps);
  }
  return audience;
}

describe('CreateAudience and CheckAudience', () => {
  it('creates, polls until AEP reports SUCCESS, and records the audience in the registry', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    const created = await createAudience(
      taskEvent({ name, execution: 'exec-1' }),
      taskDeps(aep, db.registry),
    );
    expect(created).toMatchObject({
      status: 'CREATING',
      refreshed: false,
      poll: { attempt: 0, waitSeconds: 15 },
    });
    const [input] = aep.callsOf('createAudience')[0] as [{ sourceType: string; sourcePath: string }];
    expect(input).toMatchObject({
      sourceType: 'folder',
      sourcePath: expect.stringMatching(/^drop\/staging\/audiences\//),
    });

    const checked = await checkAudience(
      taskEvent({ name, execution: 'exec-1', state: { audience: created } }),
      taskDeps(aep, db.registry),
    );
    expect(checked.status).toBe('CREATING');
    expect(checked.poll).toEqual({ attempt: 1, waitSeconds: 30 });
    const ready = await checkAudience(
      taskEvent({ name, execution: 'exec-1', state: { audience: checked } }),
      taskDeps(aep, db.registry),
    );
    expect(ready).toMatchObject({ status: 'READY', audienceId: expect.any(String) });
    expect(await db.registry.get(name.toLowerCase())).toMatchObject({
      status: 'READY',
      audienceId: ready.audienceId,
    });
  });

  it('refreshes an audience already in the registry instead of creating a second one', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    const first = await readyAudience(aep, name, 'exec-a');
    const second = await createAudience(taskEvent({ name, execution: 'exec-b' }), taskDeps(aep, db.registry));
    expect(second).toMatchObject({ status: 'READY', refreshed: true, audienceId: first.audienceId });
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('refreshes the audience a manifest names by audienceId, creating nothing', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    const audience = await createAudience(
      taskEvent({ name, execution: 'exec-m', audienceId: 'aud-from-manifest' }),
      taskDeps(aep, db.registry),
    );
    expect(audience).toMatchObject({ status: 'READY', refreshed: true, audienceId: 'aud-from-manifest' });
    expect(aep.callsOf('createAudience')).toHaveLength(0);
  });

  it('two executions creating the same name at once: one creates, the other is told AEP_BUSY (retried)', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    const results = await Promise.allSettled([
      createAudience(taskEvent({ name, execution: 'exec-x' }), taskDeps(aep, db.registry)),
      createAudience(taskEvent({ name, execution: 'exec-y' }), taskDeps(aep, db.registry)),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'AEP_BUSY' });
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('a retry or redrive of the creating execution resumes its operation without a second POST', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    const first = await createAudience(taskEvent({ name, execution: 'exec-r' }), taskDeps(aep, db.registry));
    const again = await createAudience(taskEvent({ name, execution: 'exec-r' }), taskDeps(aep, db.registry));
    expect(again).toMatchObject({ status: 'CREATING', operationId: first.operationId });
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('a create AEP applied without telling us (ALREADY_CREATED) adopts the audience by name', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    aep.answerNextCreateAsAlreadyCreated();
    const audience = await createAudience(
      taskEvent({ name, execution: 'exec-amb' }),
      taskDeps(aep, db.registry),
    );
    expect(audience).toMatchObject({ status: 'READY', audienceId: expect.any(String) });
    expect(aep.callsOf('findAudienceByName')).toHaveLength(1);
  });

  it('a 409 for a name this pipeline never registered is AEP_REQUEST_REJECTED with what to do', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    aep.failNext(
      'createAudience',
      new AepConflictError('AEP POST /external-audience/ answered 409 (100950)'),
    );
    const error = await rejection(
      createAudience(taskEvent({ name, execution: 'exec-409' }), taskDeps(aep, db.registry)),
    );
    expect(error.code).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toMatch(/already exists in AEP/);
    expect(await db.registry.get(name.toLowerCase())).toBeUndefined();
  });

  it('an operation FAILED is AEP_OPERATION_FAILED with AEP reason, and frees the name for a fixed upload', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    aep.failNextOperation('path not found in the base connection');
    aep.checksBeforeDone = 0;
    const created = await createAudience(
      taskEvent({ name, execution: 'exec-f' }),
      taskDeps(aep, db.registry),
    );
    const error = await rejection(
      checkAudience(
        taskEvent({ name, execution: 'exec-f', state: { audience: created } }),
        taskDeps(aep, db.registry),
      ),
    );
    expect(error.code).toBe('AEP_OPERATION_FAILED');
    expect(error.message).toMatch(/path not found/);
    expect(await db.registry.get(name.toLowerCase())).toBeUndefined();
  });
});

describe('StartIngestion, CheckIngestion and the run guardrail', () => {
  it('starts one run over the staged object window, and a retry of the same execution starts no second run', async () => {
    const aep = new FakeAep();
    const name = uniqueName();
    const audience = await readyAudience(aep, name, 'exec-i');
    const event = taskEvent({
      name,
      execution: 'exec-i',
      stagedLastModified: 1_767_225_600,
      state: { audience },
    });
    const first = await startIngestion(event, taskDeps(aep, db.registry));
    expect(first).toMatchObject({
      status: 'PROCESSING',
      dataFilterStartTime: 1_767_225_599,
      dataFilterEndTime: 1_767_225_601,
    });
    const again = await startIngestion(event, taskDeps(aep, db.registry));
    expect(again.runId).toBe(first.runId);
    expect(aep.callsOf('startRun')).toHaveLength(1);
  });

  it('CheckIngestion reports SUCCESS with the stages, and a FAILED run as AEP_RUN_FAILED naming the stage', async () => {
    const aep = new FakeAep();
    aep.checksBeforeDone = 0;
    const name = uniqueName();
    const audience = await readyAudience(aep, name, 'exec-c');
    const started = await startIngestion(
      taskEvent({ name, execution: 'exec-c', state: { audience } }),
      taskDeps(aep, db.registry),
    );
    const done = await checkIngestion(
      taskEvent({ name, execution: 'exec-c', state: { audience, ingestion: started } }),
      taskDeps(aep, db.registry),
    );
    expect(done.status).toBe('SUCCESS');

    aep.failNextRun('PROFILE_STORE_INGEST', 'profile store rejected the batch');
    const next = await startIngestion(
      taskEvent({ name, execution: 'exec-c2', state: { audience } }),
      taskDeps(aep, db.registry),
    );
    const error = await rejection(
      checkIngestion(
        taskEvent({ name, execution: 'exec-c2', state: { audience, ingestion: next } }),
        taskDeps(aep, db.registry),
      ),
    );
    expect(error.code).toBe('AEP_RUN_FAILED');
    expect(error.message).toMatch(/PROFILE_STORE_INGEST/);
  });

  it('the 11th file of an audience fails with AEP_AUDIENCE_RUN_LIMIT before calling AEP', async () => {
    const aep = new FakeAep();
    aep.checksBeforeDone = 0;
    const name = uniqueName();
    const deps = taskDeps(aep, db.registry, 2);
    const audience = await readyAudience(aep, name, 'exec-l0');
    await startIngestion(taskEvent({ name, execution: 'exec-l0', state: { audience } }), deps);
    await createAudience(taskEvent({ name, execution: 'exec-l1' }), deps);
    await startIngestion(taskEvent({ name, execution: 'exec-l1', state: { audience } }), deps);
    const error = await rejection(createAudience(taskEvent({ name, execution: 'exec-l2' }), deps));
    expect(error.code).toBe('AEP_AUDIENCE_RUN_LIMIT');
    expect(aep.callsOf('startRun')).toHaveLength(2);
  });
});

describe('ActivateDestinations', () => {
  it('adds the audience to each dataflow once, reports ALREADY_PRESENT on a re-run, and ACTIVATION_FAILED for an unknown flow', async () => {
    const aep = new FakeAep(['flow-s', 'flow-b']);
    const name = uniqueName();
    const audience = await readyAudience(aep, name, 'exec-d');
    const destinations = [
      { flowId: 'flow-s', kind: 'streaming' as const },
      {
        flowId: 'flow-b',
        kind: 'batch' as const,
        batch: {
          exportMode: 'DAILY_FULL_EXPORT' as const,
          schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
          filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
        },
      },
    ];
    const event = taskEvent({ name, execution: 'exec-d', destinations, state: { audience } });
    const first = await activateDestinations(event, taskDeps(aep, db.registry));
    expect(first.destinations.map((d) => d.status)).toEqual(['ADDED', 'ADDED']);
    const again = await activateDestinations(event, taskDeps(aep, db.registry));
    expect(again.destinations.map((d) => d.status)).toEqual(['ALREADY_PRESENT', 'ALREADY_PRESENT']);
    expect(aep.flows.get('flow-s')).toEqual([audience.audienceId]);

    const missing = taskEvent({
      name,
      execution: 'exec-d2',
      destinations: [{ flowId: 'nope', kind: 'streaming' }],
      state: { audience },
    });
    const error = await rejection(activateDestinations(missing, taskDeps(aep, db.registry)));
    expect(error.code).toBe('ACTIVATION_FAILED');
    expect(error.message).toMatch(/nope/);
  });
});
