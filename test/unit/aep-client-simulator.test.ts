// The AEP client against the AEP simulator: the whole lifecycle, and each fault the simulator injects —
// the client recovers, or fails with the right typed error.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AepClient } from '../../functions/shared/aep/client.ts';
import {
  AepAuthError,
  AepConflictError,
  AepLimitError,
  AepNotFoundError,
  AepRequestError,
  AepRunInProgressError,
  AepUnavailableError,
} from '../../functions/shared/aep/errors.ts';
import type { AepCallRecord } from '../../functions/shared/aep/types.ts';
import {
  type AepSimulator,
  SIMULATOR_DEFAULT_CREDENTIALS,
  SIMULATOR_DEFAULT_FLOWS,
  startAepSimulator,
} from '../../local/aep-simulator/index.ts';

let sim: AepSimulator;
let names = 0;
const [streamingFlow, batchFlow] = SIMULATOR_DEFAULT_FLOWS as [
  (typeof SIMULATOR_DEFAULT_FLOWS)[number],
  (typeof SIMULATOR_DEFAULT_FLOWS)[number],
];

function client(
  overrides: Partial<typeof SIMULATOR_DEFAULT_CREDENTIALS> = {},
  records: AepCallRecord[] = [],
) {
  return new AepClient({
    credentials: { ...SIMULATOR_DEFAULT_CREDENTIALS, imsUrl: sim.url, platformUrl: sim.url, ...overrides },
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 50 },
    onCall: (r) => records.push(r),
  });
}

/** A valid batch export: daily full export at 20:00 UTC. */
const DAILY_BATCH = {
  exportMode: 'DAILY_FULL_EXPORT' as const,
  schedule: {
    frequency: 'DAILY',
    triggerType: 'SCHEDULED' as const,
    startDate: '2026-12-01',
    startTime: '20:00',
  },
  filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%_%TIMESTAMP%',
};

function audienceInput(name: string) {
  return {
    name,
    fields: [
      { name: 'email', type: 'string' as const, identityNs: 'Email' },
      { name: 'score', type: 'number' as const },
    ],
    sourcePath: 'drop-bucket/staging/audiences/x-12345678',
    sourceType: 'folder' as const,
    ttlInDays: 30,
  };
}

/** Creates an audience and advances the simulated clock until AEP reports it created. */
async function createdAudience(aep: AepClient): Promise<string> {
  names += 1;
  const started = await aep.createAudience(audienceInput(`client-test-${names}`));
  if (started.kind !== 'STARTED') throw new Error('expected STARTED');
  expect((await aep.getOperation(started.operationId)).status).toBe('PROCESSING');
  sim.advance(60);
  const done = await aep.getOperation(started.operationId);
  expect(done.status).toBe('SUCCESS');
  return done.audienceId!;
}

beforeAll(async () => {
  sim = await startAepSimulator();
});
afterAll(() => sim.close());
beforeEach(() => sim.faults.clear());

describe('AepClient against the simulator', () => {
  it('creates an audience, runs an ingestion to SUCCESS and activates both kinds of destination once', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    const run = await aep.startRun(audienceId, {
      dataFilterStartTime: 1_767_225_600,
      dataFilterEndTime: 1_767_225_700,
    });
    expect(run.status).toBe('PROCESSING');
    sim.advance(200);
    const finished = await aep.getRun(audienceId, run.runId);
    expect(finished.status).toBe('SUCCESS');
    expect(finished.details.map((d) => d.stage)).toEqual(['DATASET_INGEST', 'PROFILE_STORE_INGEST']);

    expect(await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId })).toBe('ADDED');
    expect(
      await aep.addAudienceToDataflow({
        flowId: batchFlow.id,
        audienceId,
        batch: DAILY_BATCH,
      }),
    ).toBe('ADDED');
    expect(await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId })).toBe('ALREADY_PRESENT');
    expect(sim.flow(streamingFlow.id)!.selectors.filter((id) => id === audienceId)).toHaveLength(1);
    expect(sim.violations).toEqual([]);
  });

  it("follows a failed stage's flowRunId to its Flow Service run and its errors", async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    const errors = [{ code: 'MAPPER-3700-400', message: 'Mapper Transform Error on "ann@example.com"' }];
    sim.faults.failNextRun('PROFILE_STORE_INGEST', 'profile store rejected the batch', {
      flowRunErrors: errors,
    });
    const started = await aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_600 });
    const [datasetFlowRun, profileFlowRun] = sim
      .runs(audienceId)
      .find((r) => r.runId === started.runId)!.flowRunIds;
    // Not reached yet: no flow run behind the second stage.
    await expect(aep.getFlowRun(profileFlowRun)).rejects.toBeInstanceOf(AepNotFoundError);
    expect(await aep.getFlowRun(datasetFlowRun)).toEqual({
      id: datasetFlowRun,
      status: 'processing',
      errors: [],
    });
    sim.advance(200);
    const run = await aep.getRun(audienceId, started.runId);
    const failed = run.details.find((stage) => stage.status === 'FAILED');
    expect(failed).toMatchObject({
      stage: 'PROFILE_STORE_INGEST',
      flowRunId: profileFlowRun,
      failureReason: 'profile store rejected the batch',
    });
    expect(await aep.getFlowRun(datasetFlowRun)).toEqual({
      id: datasetFlowRun,
      status: 'success',
      errors: [],
    });
    expect(await aep.getFlowRun(profileFlowRun)).toEqual({ id: profileFlowRun, status: 'failed', errors });
    await expect(aep.getFlowRun('no-such-flow-run')).rejects.toBeInstanceOf(AepNotFoundError);
    expect(sim.violations).toEqual([]);
  });

  it("can make the failed stage's flow run unreadable, and gives a forced failure a default error", async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    sim.faults.failNextRun('DATASET_INGEST', undefined, { flowRunUnreadable: true });
    const hidden = await aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_600 });
    sim.advance(200);
    const [hiddenFlowRun] = sim.runs(audienceId).find((r) => r.runId === hidden.runId)!.flowRunIds;
    await expect(aep.getFlowRun(hiddenFlowRun)).rejects.toBeInstanceOf(AepNotFoundError);

    sim.faults.failNextRun('DATASET_INGEST');
    const plain = await aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_600 });
    sim.advance(200);
    const [plainFlowRun] = sim.runs(audienceId).find((r) => r.runId === plain.runId)!.flowRunIds;
    expect((await aep.getFlowRun(plainFlowRun)).errors).toEqual([
      { code: 'INGEST-1212-400', message: 'The DATASET_INGEST stage failed (simulated failure).' },
    ]);
  });

  it('waits for Retry-After on a 429 and never retries early', async () => {
    sim.faults.add({
      route: 'POST /data/core/ais/external-audience/',
      status: 429,
      retryAfterSeconds: 1,
      times: 1,
    });
    const aep = client();
    names += 1;
    const result = await aep.createAudience(audienceInput(`throttled-${names}`));
    expect(result.kind).toBe('STARTED');
    expect(sim.calls.filter((c) => c.status === 429)).toHaveLength(1);
    expect(sim.violations).toEqual([]);
  });

  it('retries 503s on a GET, and gives up with AepUnavailableError when they persist', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    sim.faults.add({ route: 'GET /data/core/ais/external-audience/{id}/runs', status: 503, times: 2 });
    expect(await aep.listRuns(audienceId)).toEqual([]);
    sim.faults.add({ route: 'GET /data/core/ais/external-audience/{id}/runs', status: 503 });
    await expect(aep.listRuns(audienceId)).rejects.toBeInstanceOf(AepUnavailableError);
  });

  it('renews its token once when AEP revokes it mid-flight', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    sim.faults.revokeTokens();
    const callsBefore = sim.calls.length;
    expect(await aep.listRuns(audienceId)).toEqual([]);
    // On a /core/ais route a revoked token is the external audiences API's 400 100911, not the gateway's 401.
    expect(sim.calls.slice(callsBefore).map((c) => `${c.route} ${c.status}`)).toEqual([
      'GET /data/core/ais/external-audience/{id}/runs 400',
      'POST /ims/token/v3 200',
      'GET /data/core/ais/external-audience/{id}/runs 200',
    ]);
    const tokenCalls = sim.calls.filter((c) => c.route === 'POST /ims/token/v3');
    expect(tokenCalls.length).toBeGreaterThanOrEqual(2);
  });

  it('fails with AepAuthError for wrong credentials, and names no secret', async () => {
    const aep = client({ clientSecret: 'marker-secret-6f1d' });
    const error = await aep.createAudience(audienceInput('never')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AepAuthError);
    expect(String((error as Error).message)).not.toContain('marker-secret-6f1d');
  });

  it('resolves a create that failed after AEP applied it: a 409 for our name means it was created', async () => {
    names += 1;
    const name = `ambiguous-${names}`;
    sim.faults.add({
      route: 'POST /data/core/ais/external-audience/',
      status: 502,
      times: 1,
      applyBeforeFailing: true,
    });
    const aep = client();
    expect(await aep.createAudience(audienceInput(name))).toEqual({ kind: 'ALREADY_CREATED' });
    sim.advance(60);
    const found = await aep.findAudienceByName(name);
    expect(found?.audienceId).toBe(sim.audiences().find((a) => a.name === name)?.audienceId);
    expect(sim.audiences().filter((a) => a.name === name)).toHaveLength(1);
  });

  it('tells the three 422s apart: run in progress, runs per audience, bad request', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    await aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_600 });
    await expect(aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_601 })).rejects.toBeInstanceOf(
      AepRunInProgressError,
    );
    for (let i = 1; i < 10; i++) {
      sim.advance(200);
      await aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_600 + i * 10 });
    }
    sim.advance(200);
    const limit = await aep
      .startRun(audienceId, { dataFilterStartTime: 1_767_226_000 })
      .catch((e: unknown) => e);
    expect(limit).toBeInstanceOf(AepLimitError);
    expect((limit as AepLimitError).limit).toBe('AUDIENCE_RUNS');
    await expect(aep.createAudience({ ...audienceInput('bad'), ttlInDays: 91 })).rejects.toBeInstanceOf(
      AepRequestError,
    );
  });

  it('answers 409 for a duplicate name and 404 for an unknown dataflow', async () => {
    const aep = client();
    names += 1;
    await aep.createAudience(audienceInput(`dup-${names}`));
    await expect(aep.createAudience(audienceInput(`dup-${names}`))).rejects.toBeInstanceOf(AepConflictError);
    const audienceId = await createdAudience(aep);
    await expect(aep.addAudienceToDataflow({ flowId: 'no-such-flow', audienceId })).rejects.toBeInstanceOf(
      AepNotFoundError,
    );
  });

  it('re-reads the dataflow and retries when someone else edits it between GET and PATCH', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    sim.faults.concurrentFlowEdit(streamingFlow.id);
    expect(await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId })).toBe('ADDED');
    const patches = sim.calls
      .filter((c) => c.route === 'PATCH /data/foundation/flowservice/flows/{id}')
      .slice(-2);
    expect(patches.map((c) => c.status)).toEqual([412, 200]);
    expect(sim.flow(streamingFlow.id)!.selectors.filter((id) => id === audienceId)).toHaveLength(1);
  });

  it('refuses a batch selector whose schedule breaks the rules', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    const error = await aep
      .addAudienceToDataflow({
        flowId: batchFlow.id,
        audienceId,
        batch: {
          exportMode: 'DAILY_FULL_EXPORT',
          schedule: { frequency: 'EVERY_3_HOURS', startDate: '2026-12-01', startTime: '20:00' },
          filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AepRequestError);
    expect((error as Error).message).toMatch(/frequency/);
  });

  it('adds an incremental export without triggerType and an after-segmentation full export without startTime', async () => {
    const aep = client();
    const incremental = await createdAudience(aep);
    const afterSegmentation = await createdAudience(aep);
    const template = '%DESTINATION_NAME%_%SEGMENT_ID%';
    await aep.addAudienceToDataflow({
      flowId: batchFlow.id,
      audienceId: incremental,
      batch: {
        exportMode: 'FIRST_FULL_THEN_INCREMENTAL',
        schedule: { frequency: 'EVERY_8_HOURS', startDate: '2026-12-01', startTime: '04:00' },
        filenameTemplate: template,
      },
    });
    await aep.addAudienceToDataflow({
      flowId: batchFlow.id,
      audienceId: afterSegmentation,
      batch: {
        exportMode: 'DAILY_FULL_EXPORT',
        schedule: { frequency: 'DAILY', triggerType: 'AFTER_SEGMENT_EVAL', startDate: '2026-12-01' },
        filenameTemplate: template,
      },
    });
    const stored = sim.flow(batchFlow.id)!.segmentSelectors;
    const scheduleOf = (id: string) => stored.find((s) => s.value.id === id)?.value.schedule;
    expect(scheduleOf(incremental)).toEqual({
      frequency: 'EVERY_8_HOURS',
      startDate: '2026-12-01',
      startTime: '04:00',
    });
    expect(scheduleOf(afterSegmentation)).toEqual({
      frequency: 'DAILY',
      triggerType: 'AFTER_SEGMENT_EVAL',
      startDate: '2026-12-01',
    });
    expect(sim.violations).toEqual([]);
  });

  it('swaps one audience for another in one PATCH: in place, with the old batch settings, idempotently', async () => {
    const aep = client();
    const [oldId, newId, otherId] = [
      await createdAudience(aep),
      await createdAudience(aep),
      await createdAudience(aep),
    ];
    const batch = DAILY_BATCH;
    await aep.addAudienceToDataflow({ flowId: batchFlow.id, audienceId: oldId, batch });
    await aep.addAudienceToDataflow({ flowId: batchFlow.id, audienceId: otherId, batch });
    const patchesBefore = sim.calls.filter((c) => c.method === 'PATCH').length;

    expect(
      await aep.addAudienceToDataflow({
        flowId: batchFlow.id,
        audienceId: newId,
        audienceName: 'next generation',
        replacesAudienceIds: [oldId],
        onlyWhereReplaced: true,
      }),
    ).toBe('REPLACED');
    const flow = sim.flow(batchFlow.id)!;
    expect(flow.selectors.filter((id) => [oldId, newId, otherId].includes(id))).toEqual([newId, otherId]);
    const swapped = flow.segmentSelectors.find((s) => s.value.id === newId)!.value;
    expect(swapped).toMatchObject({ name: 'next generation', ...batch });
    expect(sim.calls.filter((c) => c.method === 'PATCH').length).toBe(patchesBefore + 1);

    // Done already: nothing to write. Where neither is selected, a carried-over flow is left alone.
    expect(
      await aep.addAudienceToDataflow({
        flowId: batchFlow.id,
        audienceId: newId,
        replacesAudienceIds: [oldId],
      }),
    ).toBe('ALREADY_PRESENT');
    expect(
      await aep.addAudienceToDataflow({
        flowId: streamingFlow.id,
        audienceId: newId,
        replacesAudienceIds: [oldId],
        onlyWhereReplaced: true,
      }),
    ).toBe('NOT_PRESENT');
    expect(sim.calls.filter((c) => c.method === 'PATCH').length).toBe(patchesBefore + 1);
    expect(sim.violations).toEqual([]);
  });

  it('both selected (an earlier add without the swap): removes the old one, re-reading after a concurrent edit', async () => {
    const aep = client();
    const [oldId, newId] = [await createdAudience(aep), await createdAudience(aep)];
    await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId: oldId });
    await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId: newId });
    sim.faults.concurrentFlowEdit(streamingFlow.id);
    expect(
      await aep.addAudienceToDataflow({
        flowId: streamingFlow.id,
        audienceId: newId,
        replacesAudienceIds: [oldId],
      }),
    ).toBe('REPLACED');
    const patches = sim.calls
      .filter((c) => c.route === 'PATCH /data/foundation/flowservice/flows/{id}')
      .slice(-2);
    expect(patches.map((c) => c.status)).toEqual([412, 200]);
    const selectors = sim.flow(streamingFlow.id)!.selectors;
    expect(selectors).toContain(newId);
    expect(selectors).not.toContain(oldId);
  });

  it('replaces several earlier generations at once: the first in place, the others removed', async () => {
    const aep = client();
    const [g1, g2, g3, kept] = [
      await createdAudience(aep),
      await createdAudience(aep),
      await createdAudience(aep),
      await createdAudience(aep),
    ];
    // g1 was never swapped out (its successor g2 was superseded before its own activation).
    await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId: g1 });
    await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId: kept });
    await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId: g2 });
    expect(
      await aep.addAudienceToDataflow({
        flowId: streamingFlow.id,
        audienceId: g3,
        replacesAudienceIds: [g2, g1],
      }),
    ).toBe('REPLACED');
    const selectors = sim.flow(streamingFlow.id)!.selectors.filter((id) => [g1, g2, g3, kept].includes(id));
    expect(selectors).toEqual([g3, kept]);
    expect(sim.violations).toEqual([]);
  });
});

describe('upkeep: extend-ttl, leaving dataflows, delete', () => {
  it('extends only an audience with a finished successful run, and deletes it out of its dataflows', async () => {
    const aep = client();
    const audienceId = await createdAudience(aep);
    // Nothing to re-ingest yet: refused, and a run still in progress does not count.
    await expect(aep.extendTtl(audienceId)).rejects.toBeInstanceOf(AepRequestError);
    await aep.startRun(audienceId, { dataFilterStartTime: 1_767_225_600 });
    await expect(aep.extendTtl(audienceId)).rejects.toBeInstanceOf(AepRequestError);
    sim.advance(200);
    expect(await aep.extendTtl(audienceId)).toMatchObject({ audienceId, name: expect.any(String) });

    await aep.addAudienceToDataflow({ flowId: streamingFlow.id, audienceId });
    expect(await aep.removeAudienceFromDataflow(streamingFlow.id, audienceId)).toBe('REMOVED');
    expect(sim.flow(streamingFlow.id)?.selectors).not.toContain(audienceId);
    expect(await aep.removeAudienceFromDataflow(streamingFlow.id, audienceId)).toBe('NOT_PRESENT');

    expect(await aep.deleteAudience(audienceId)).toBe('DELETED');
    expect(sim.calls.filter((c) => c.method === 'DELETE').at(-1)?.status).toBe(204);
    // Gone for AEP: a second delete finds nothing, and extend-ttl is a 404.
    expect(await aep.deleteAudience(audienceId)).toBe('NOT_FOUND');
    await expect(aep.extendTtl(audienceId)).rejects.toBeInstanceOf(AepNotFoundError);
  });
});
