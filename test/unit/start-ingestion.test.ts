// StartIngestion and CheckIngestion with a fake AEP and a real registry on in-memory dynalite.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkAudience } from '../../functions/check-audience/check-audience.ts';
import { checkIngestion } from '../../functions/check-ingestion/check-ingestion.ts';
import { createAudience } from '../../functions/create-audience/create-audience.ts';
import { AepNotFoundError, AepRequestError, AepUnavailableError } from '../../functions/shared/aep/errors.ts';
import type { AudienceState, IngestionState } from '../../functions/shared/state.ts';
import { startIngestion } from '../../functions/start-ingestion/start-ingestion.ts';
import {
  rejection,
  startTestRegistry,
  type TestRegistry,
  taskDeps,
  taskEvent,
  uniqueName,
} from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

const LAST_MODIFIED = 1_767_225_600;
let store: TestRegistry;
let aep: FakeAep;

beforeAll(async () => {
  store = await startTestRegistry();
});

afterAll(async () => {
  await store?.close();
});

beforeEach(() => {
  aep = new FakeAep();
  aep.checksBeforeDone = 0;
});

/** An audience created through the tasks, its operation finishing at the first check whatever the test set. */
async function readyAudience(name: string): Promise<AudienceState> {
  const deps = taskDeps(aep, store.registry);
  const checks = aep.checksBeforeDone;
  aep.checksBeforeDone = 0;
  const created = await createAudience(taskEvent({ name, execution: 'exec-create' }), deps);
  const ready = await checkAudience(
    taskEvent({ name, execution: 'exec-create', state: { audience: created } }),
    deps,
  );
  aep.checksBeforeDone = checks;
  expect(ready.status).toBe('READY');
  return ready;
}

describe('start-ingestion', () => {
  it('starts a run around the staged copy and records it in the registry', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    const result = await startIngestion(
      taskEvent({ name, execution: 'exec-create', stagedLastModified: LAST_MODIFIED, state: { audience } }),
      taskDeps(aep, store.registry),
    );
    expect(result).toEqual({
      status: 'PROCESSING',
      runId: expect.any(String),
      dataFilterStartTime: LAST_MODIFIED - 1,
      dataFilterEndTime: LAST_MODIFIED + 1,
      poll: { attempt: 0, waitSeconds: 15 },
    });
    expect(aep.callsOf('startRun')).toEqual([
      [
        audience.audienceId,
        { dataFilterStartTime: LAST_MODIFIED - 1, dataFilterEndTime: LAST_MODIFIED + 1, claimedRunIds: [] },
      ],
    ]);
    const item = await store.registry.get(name.toLowerCase());
    expect(item?.runCount).toBe(1);
    expect(item?.runs['exec-create']?.runId).toBe(result.runId);
  });

  it('is idempotent on a retry: the same run, no second startRun, counted once', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    const event = taskEvent({ name, execution: 'exec-1', state: { audience } });
    const deps = taskDeps(aep, store.registry);
    const first = await startIngestion(event, deps);
    const again = await startIngestion(event, deps);
    expect(again.runId).toBe(first.runId);
    expect(aep.callsOf('startRun')).toHaveLength(1);
    // The creator's run and this one.
    expect((await store.registry.get(name.toLowerCase()))?.runCount).toBe(2);
  });

  it('adopts the run an earlier attempt started but never recorded', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    const event = taskEvent({
      name,
      execution: 'exec-1',
      stagedLastModified: LAST_MODIFIED,
      state: { audience },
    });
    const deps = taskDeps(aep, store.registry);
    // The earlier attempt reserved, started the run, and died before recording it.
    await store.registry.reserveRun(name.toLowerCase(), 'exec-1');
    await store.registry.markRunStarting(name.toLowerCase(), 'exec-1');
    const orphan = await aep.startRun(audience.audienceId!, {
      dataFilterStartTime: LAST_MODIFIED - 1,
      dataFilterEndTime: LAST_MODIFIED + 1,
    });
    const result = await startIngestion(event, deps);
    expect(result.runId).toBe(orphan.runId);
    expect(aep.callsOf('startRun')).toHaveLength(1);
    expect((await store.registry.get(name.toLowerCase()))?.runs['exec-1']?.runId).toBe(orphan.runId);
  });

  it("does not adopt another file's run that has the same time window (staged within the same seconds)", async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    const key = name.toLowerCase();
    const window = { dataFilterStartTime: LAST_MODIFIED - 1, dataFilterEndTime: LAST_MODIFIED + 1 };
    // exec-0 ran first and recorded its run; exec-1's earlier attempt asked for one and died unanswered.
    await store.registry.reserveRun(key, 'exec-0');
    const theirs = await aep.startRun(audience.audienceId!, window);
    await store.registry.recordRun(key, 'exec-0', theirs.runId);
    await store.registry.reserveRun(key, 'exec-1');
    await store.registry.markRunStarting(key, 'exec-1');
    const event = taskEvent({
      name,
      execution: 'exec-1',
      stagedLastModified: LAST_MODIFIED,
      state: { audience },
    });
    const result = await startIngestion(event, taskDeps(aep, store.registry));
    expect(result.runId).not.toBe(theirs.runId);
    expect(aep.callsOf('startRun').at(-1)).toEqual([
      audience.audienceId,
      { ...window, claimedRunIds: [theirs.runId] },
    ]);
    expect((await store.registry.get(key))?.runs['exec-1']?.runId).toBe(result.runId);
  });

  it('a reservation without a run and no run in AEP: starts one after an outage', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    const event = taskEvent({ name, execution: 'exec-1', state: { audience } });
    const deps = taskDeps(aep, store.registry);
    aep.failNext('startRun', new AepUnavailableError('AEP answered 503', { status: 503 }));
    await expect(startIngestion(event, deps)).rejects.toBeInstanceOf(AepUnavailableError);
    const result = await startIngestion(event, deps);
    expect(result.runId).toMatch(/^run-/);
    expect(aep.callsOf('startRun')).toHaveLength(2);
    expect(aep.callsOf('listRuns')).toHaveLength(1);
    expect((await store.registry.get(name.toLowerCase()))?.runCount).toBe(2);
  });

  it('a file that ends without a run gives its reservation back: the budget spent ("fail"), or AEP refusing', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    const key = name.toLowerCase();
    await store.registry.reserveRun(key, 'exec-budget');
    const deps = taskDeps(aep, store.registry);
    const spent = { ...deps, config: { ...deps.config, dailyRunBudget: 1, sandboxName: `spent-${name}` } };
    await spent.coordination.takeRun(spent.config.sandboxName, 'exec-earlier', 1);
    const error = await rejection(
      startIngestion(taskEvent({ name, execution: 'exec-budget', state: { audience } }), spent),
    );
    expect(error.name).toBe('AEP_DAILY_RUN_LIMIT');
    expect((await store.registry.get(key))?.runs['exec-budget']).toBeUndefined();
    expect((await store.registry.get(key))?.runCount).toBe(1);

    await store.registry.reserveRun(key, 'exec-refused');
    aep.failNext('startRun', new AepRequestError('AEP answered 400', { status: 400, aepCode: '100910' }));
    await expect(
      startIngestion(taskEvent({ name, execution: 'exec-refused', state: { audience } }), deps),
    ).rejects.toBeInstanceOf(AepRequestError);
    expect((await store.registry.get(key))?.runs['exec-refused']).toBeUndefined();
    expect((await store.registry.get(key))?.runCount).toBe(1);
    // A reservation whose run was recorded is never given back.
    expect(await store.registry.releaseRun(key, 'exec-create')).toBe(true);
    await startIngestion(taskEvent({ name, execution: 'exec-create', state: { audience } }), deps);
    const runId = (await store.registry.get(key))?.runs['exec-create']?.runId;
    expect(runId).toMatch(/^run-/);
    expect(await store.registry.releaseRun(key, 'exec-create')).toBe(false);
  });

  it('the run CreateAudience reserved: started without asking AEP for earlier runs', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    await startIngestion(
      taskEvent({ name, execution: 'exec-create', state: { audience } }),
      taskDeps(aep, store.registry),
    );
    expect(aep.callsOf('listRuns')).toHaveLength(0);
    expect(aep.callsOf('startRun')).toHaveLength(1);
    expect((await store.registry.get(name.toLowerCase()))?.runCount).toBe(1);
  });

  it('a rolled-over audience: the lock and the reservation are those of its own generation', async () => {
    const name = uniqueName('TeamA/Rolled');
    const deps = taskDeps(aep, store.registry, 1, 'rollover');
    const settle = async (execution: string) => {
      let audience = await createAudience(taskEvent({ name, execution }), deps);
      while (audience.status === 'CREATING') {
        audience = await checkAudience(taskEvent({ name, execution, state: { audience } }), deps);
      }
      return audience;
    };
    await settle('exec-1');
    const second = await settle('exec-2');
    expect(second.name).toBe(`${name} #2`);
    const run = await startIngestion(
      taskEvent({ name, execution: 'exec-2', state: { audience: second } }),
      deps,
    );
    expect(run.status).toBe('PROCESSING');
    expect(aep.callsOf('startRun')[0]?.[0]).toBe(second.audienceId);
    expect((await store.registry.get(`${name.toLowerCase()} #2`))?.runs['exec-2']?.runId).toBe(run.runId);
    expect((await store.registry.get(name.toLowerCase()))?.runs['exec-2']).toBeUndefined();
  });

  it('the 11th run: AEP_AUDIENCE_RUN_LIMIT before AEP is asked', async () => {
    const name = uniqueName();
    const audience = await readyAudience(name);
    for (let i = 1; i <= 10; i += 1) await store.registry.reserveRun(name.toLowerCase(), `exec-${i}`);
    const error = await rejection(
      startIngestion(
        taskEvent({ name, execution: 'exec-11', state: { audience } }),
        taskDeps(aep, store.registry),
      ),
    );
    expect(error.name).toBe('AEP_AUDIENCE_RUN_LIMIT');
    expect(error.message).toContain(`Audience "${name}" has had AEP's maximum of 10 ingestion runs`);
    expect(aep.callsOf('startRun')).toHaveLength(0);
  });
});

describe('check-ingestion', () => {
  async function started(
    name: string,
    execution: string,
  ): Promise<{ audience: AudienceState; ingestion: IngestionState }> {
    const audience = await readyAudience(name);
    const ingestion = await startIngestion(
      taskEvent({ name, execution, state: { audience } }),
      taskDeps(aep, store.registry),
    );
    return { audience, ingestion };
  }

  it('polls until SUCCESS and reports the stages', async () => {
    const name = uniqueName();
    aep.checksBeforeDone = 1;
    const { audience, ingestion } = await started(name, 'exec-1');
    const deps = taskDeps(aep, store.registry);
    const polled = await checkIngestion(
      taskEvent({ name, execution: 'exec-1', state: { audience, ingestion } }),
      deps,
    );
    expect(polled).toMatchObject({ status: 'PROCESSING', poll: { attempt: 1, waitSeconds: 30 } });
    const done = await checkIngestion(
      taskEvent({ name, execution: 'exec-1', state: { audience, ingestion: polled } }),
      deps,
    );
    expect(done).toMatchObject({
      status: 'SUCCESS',
      runId: ingestion.runId,
      details: [
        { stage: 'DATASET_INGEST', status: 'SUCCESS' },
        { stage: 'PROFILE_STORE_INGEST', status: 'SUCCESS' },
      ],
    });
  });

  it("run FAILED: AEP_RUN_FAILED naming the failed stage, its reason, and its flow run's errors", async () => {
    const name = uniqueName();
    aep.failNextRun('PROFILE_STORE_INGEST', 'profile store rejected the batch.', [
      { code: 'CONNECTOR-2001-500', message: 'Error occurred at promotion activity.' },
      { code: 'MAPPER-3700-400', message: 'Mapper Transform Error' },
    ]);
    const { audience, ingestion } = await started(name, 'exec-1');
    const error = await rejection(
      checkIngestion(
        taskEvent({ name, execution: 'exec-1', state: { audience, ingestion } }),
        taskDeps(aep, store.registry),
      ),
    );
    const flowRunId = `${ingestion.runId}-profile_store_ingest`;
    expect(error.name).toBe('AEP_RUN_FAILED');
    expect(error.message).toBe(
      `AEP ingestion run ${ingestion.runId} of audience "${name}" failed at stage PROFILE_STORE_INGEST: profile store rejected the batch. ` +
        `Flow run ${flowRunId}: CONNECTOR-2001-500: Error occurred at promotion activity.; MAPPER-3700-400: Mapper Transform Error.`,
    );
    expect(aep.callsOf('getFlowRun')).toEqual([[flowRunId]]);
  });

  it('run FAILED: masks the values a reason quotes, and lists at most 10 errors', async () => {
    const name = uniqueName();
    const errors = Array.from({ length: 12 }, (_, i) => ({
      code: 'INGEST-1212-400',
      message: `row ${i + 2}: "ann.${i}@example.com" is not an email; phone 0612345678 rejected`,
    }));
    aep.failNextRun('DATASET_INGEST', "value 'Ann Smith' too long", errors);
    const { audience, ingestion } = await started(name, 'exec-1');
    const error = await rejection(
      checkIngestion(
        taskEvent({ name, execution: 'exec-1', state: { audience, ingestion } }),
        taskDeps(aep, store.registry),
      ),
    );
    expect(error.message).toContain("failed at stage DATASET_INGEST: value 'A***' too long.");
    expect(error.message).toContain(
      'INGEST-1212-400: row 2: "a***@e***" is not an email; phone 061***78 rejected',
    );
    expect(error.message).toMatch(/; and 2 more\.$/);
    expect(error.message.match(/INGEST-1212-400/g)).toHaveLength(10);
    expect(error.message).not.toMatch(/example\.com|Ann Smith|0612345678/);
  });

  it.each([
    [
      'gone (404)',
      new AepNotFoundError('AEP GET /data/foundation/flowservice/runs/{runId} answered 404', { status: 404 }),
    ],
    [
      'unreachable',
      new AepUnavailableError('AEP GET /data/foundation/flowservice/runs/{runId} answered 503', {
        status: 503,
      }),
    ],
  ])(
    'run FAILED with its flow run %s: the stage still reported, and a note that the details could not be read',
    async (_name, failure) => {
      const name = uniqueName();
      aep.failNextRun('PROFILE_STORE_INGEST', 'profile store rejected the batch', [
        { code: 'CONNECTOR-2001-500', message: 'never read' },
      ]);
      aep.failNext('getFlowRun', failure);
      const { audience, ingestion } = await started(name, 'exec-1');
      const error = await rejection(
        checkIngestion(
          taskEvent({ name, execution: 'exec-1', state: { audience, ingestion } }),
          taskDeps(aep, store.registry),
        ),
      );
      expect(error.name).toBe('AEP_RUN_FAILED');
      expect(error.message).toBe(
        `AEP ingestion run ${ingestion.runId} of audience "${name}" failed at stage PROFILE_STORE_INGEST: profile store rejected the batch. ` +
          `The details of flow run ${ingestion.runId}-profile_store_ingest could not be read (${failure.message}).`,
      );
      // The audience's lock is released all the same: the next file of this audience may start its run.
      const other = await store.registry.coordination().acquire('audience', name.toLowerCase(), 'exec-2', 60);
      expect(other).toEqual({ acquired: true });
    },
  );

  it('gives up with AEP_POLL_LIMIT after 80 checks', async () => {
    const name = uniqueName();
    aep.checksBeforeDone = 1000;
    const { audience, ingestion } = await started(name, 'exec-1');
    const atLimit = { ...ingestion, poll: { attempt: 79, waitSeconds: 300 } };
    const error = await rejection(
      checkIngestion(
        taskEvent({ name, execution: 'exec-1', state: { audience, ingestion: atLimit } }),
        taskDeps(aep, store.registry),
      ),
    );
    expect(error.name).toBe('AEP_POLL_LIMIT');
    expect(error.message).toMatch(/ingestion run .* after 80 checks/);
  });
});
