// ActivateDestinations with a fake AEP: added in order, idempotent on a re-run, readable failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activateDestinations } from '../../functions/activate-destinations/activate-destinations.ts';
import { AepRequestError, AepUnavailableError } from '../../functions/shared/aep/errors.ts';
import type { AudienceState, Destination } from '../../functions/shared/state.ts';
import { rejection, startTestRegistry, type TestRegistry, taskDeps, taskEvent } from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

const audience: AudienceState = {
  status: 'READY',
  audienceId: 'aud-42',
  name: 'teamA/churn',
  refreshed: false,
  poll: { attempt: 0, waitSeconds: 15 },
};
const batch: Destination = {
  flowId: 'flow-batch',
  kind: 'batch',
  batch: {
    exportMode: 'DAILY_FULL_EXPORT',
    schedule: { frequency: 'DAILY', startDate: '2026-12-01', startTime: '20:00' },
    filenameTemplate: '%DESTINATION_NAME%_%SEGMENT_ID%',
  },
};
const streaming: Destination = { flowId: 'flow-stream', kind: 'streaming' };
let store: TestRegistry;

beforeAll(async () => {
  store = await startTestRegistry();
  await store.registry.claimCreation(
    {
      name: 'teamA/churn',
      registryKey: 'teama/churn',
      stagingPrefix: 'staging/audiences/teama-churn/',
      sourcePath: 'drop/staging/audiences/teama-churn',
      ttlInDays: 30,
    },
    'exec-0',
  );
  await store.registry.markReady('teama/churn', 'aud-42');
});

afterAll(async () => {
  await store?.close();
});

function event(destinations: Destination[]) {
  return taskEvent({ name: 'teamA/churn', execution: 'exec-1', destinations, state: { audience } });
}

describe('activate-destinations', () => {
  it('adds the audience to each dataflow in order, batch settings included', async () => {
    const aep = new FakeAep(['flow-stream', 'flow-batch']);
    const result = await activateDestinations(event([streaming, batch]), taskDeps(aep, store.registry));
    expect(result).toEqual({
      destinations: [
        { flowId: 'flow-stream', kind: 'streaming', status: 'ADDED' },
        { flowId: 'flow-batch', kind: 'batch', status: 'ADDED' },
      ],
    });
    expect(aep.callsOf('addAudienceToDataflow')).toEqual([
      [{ flowId: 'flow-stream', audienceId: 'aud-42', audienceName: 'teamA/churn' }],
      [{ flowId: 'flow-batch', audienceId: 'aud-42', audienceName: 'teamA/churn', batch: batch.batch }],
    ]);
  });

  it('a re-run reports ALREADY_PRESENT and adds nothing twice', async () => {
    const aep = new FakeAep(['flow-stream', 'flow-batch']);
    await activateDestinations(event([streaming, batch]), taskDeps(aep, store.registry));
    const again = await activateDestinations(event([streaming, batch]), taskDeps(aep, store.registry));
    expect(again.destinations.map((d) => d.status)).toEqual(['ALREADY_PRESENT', 'ALREADY_PRESENT']);
    expect(aep.flows.get('flow-stream')).toEqual(['aud-42']);
  });

  it('no destinations: nothing to do', async () => {
    const aep = new FakeAep();
    expect(await activateDestinations(event([]), taskDeps(aep, store.registry))).toEqual({
      destinations: [],
    });
    expect(aep.calls).toHaveLength(0);
  });

  it('an unknown dataflow: ACTIVATION_FAILED naming it and the sandbox', async () => {
    const aep = new FakeAep(['flow-stream']);
    const error = await rejection(
      activateDestinations(event([streaming, batch]), taskDeps(aep, store.registry)),
    );
    expect(error.name).toBe('ACTIVATION_FAILED');
    expect(error.message).toContain('Dataflow flow-batch was not found in sandbox "dev-sandbox"');
  });

  it('AEP refusing the selector: ACTIVATION_FAILED with its detail', async () => {
    const aep = new FakeAep(['flow-stream']);
    aep.failNext(
      'addAudienceToDataflow',
      new AepRequestError('AEP answered 400', { status: 400, detail: 'origin CUSTOM_UPLOAD not supported' }),
    );
    const error = await rejection(activateDestinations(event([streaming]), taskDeps(aep, store.registry)));
    expect(error.name).toBe('ACTIVATION_FAILED');
    expect(error.message).toContain('origin CUSTOM_UPLOAD not supported');
    expect(error.message).toContain('flow-stream');
  });

  it('an outage propagates unmapped, for the task handler and a retry', async () => {
    const aep = new FakeAep(['flow-stream']);
    aep.failNext('addAudienceToDataflow', new AepUnavailableError('AEP answered 503', { status: 503 }));
    await expect(
      activateDestinations(event([streaming]), taskDeps(aep, store.registry)),
    ).rejects.toBeInstanceOf(AepUnavailableError);
  });

  it('records each dataflow the audience was added to, for a later rollover', async () => {
    const aep = new FakeAep(['flow-stream', 'flow-batch']);
    await activateDestinations(event([streaming, batch]), taskDeps(aep, store.registry));
    expect((await store.registry.get('teama/churn'))?.flows).toMatchObject({
      'flow-stream': 'streaming',
      'flow-batch': 'batch',
    });
  });
});

describe('activate-destinations after a rollover', () => {
  const successor: AudienceState = {
    status: 'READY',
    audienceId: 'aud-43',
    name: 'teamA/churn #2',
    registryKey: 'teama/churn #2',
    replaces: [{ registryKey: 'teama/churn', audienceId: 'aud-42', name: 'teamA/churn' }],
    refreshed: false,
    poll: { attempt: 0, waitSeconds: 15 },
  };
  const plan = {
    name: 'teamA/churn #2',
    registryKey: 'teama/churn #2',
    stagingPrefix: 'staging/audiences/teama-churn/',
    sourcePath: 'drop/staging/audiences/teama-churn',
    ttlInDays: 30,
  };
  const lineage = {
    generation: 2,
    chainKey: 'teama/churn',
    chainName: 'teamA/churn',
    replaces: successor.replaces!,
  };

  it("swaps the new generation in for the old, in the file's dataflows and in the old one's other dataflows", async () => {
    await store.registry.recordFlow('teama/churn', 'flow-old-only', 'streaming');
    await store.registry.recordFlow('teama/churn', 'flow-gone', 'streaming');
    await store.registry.claimCreation(plan, 'exec-2', lineage);
    const aep = new FakeAep(['flow-stream', 'flow-batch', 'flow-old-only', 'flow-elsewhere']);
    aep.flows.get('flow-stream')!.push('aud-42');
    aep.flows.get('flow-old-only')!.push('aud-7', 'aud-42');
    const swap = taskEvent({
      name: 'teamA/churn',
      execution: 'exec-2',
      destinations: [streaming, batch],
      state: { audience: successor },
    });
    const result = await activateDestinations(swap, taskDeps(aep, store.registry));

    expect(result.destinations).toEqual([
      { flowId: 'flow-stream', kind: 'streaming', status: 'REPLACED' },
      // Recorded for the old generation earlier in this file, but it is not selected there now: added fresh.
      { flowId: 'flow-batch', kind: 'batch', status: 'ADDED' },
      { flowId: 'flow-old-only', kind: 'streaming', status: 'REPLACED' },
      // Deleted since: nothing to carry over.
      { flowId: 'flow-gone', kind: 'streaming', status: 'NOT_PRESENT' },
    ]);
    expect(aep.flows.get('flow-stream')).toEqual(['aud-43']);
    expect(aep.flows.get('flow-batch')).toEqual(['aud-43']);
    expect(aep.flows.get('flow-old-only')).toEqual(['aud-7', 'aud-43']);
    expect(aep.flows.get('flow-elsewhere')).toEqual([]);
    const calls = aep.callsOf('addAudienceToDataflow').map(([input]) => input);
    expect(calls[2]).toEqual({
      flowId: 'flow-old-only',
      audienceId: 'aud-43',
      audienceName: 'teamA/churn #2',
      replacesAudienceIds: ['aud-42'],
      onlyWhereReplaced: true,
    });
    expect((await store.registry.get('teama/churn #2'))?.flows).toEqual({
      'flow-stream': 'streaming',
      'flow-batch': 'batch',
      'flow-old-only': 'streaming',
    });

    // A re-run (a redrive) changes nothing.
    const again = await activateDestinations(swap, taskDeps(aep, store.registry));
    expect(again.destinations.map((d) => d.status)).toEqual([
      'ALREADY_PRESENT',
      'ALREADY_PRESENT',
      'ALREADY_PRESENT',
      'NOT_PRESENT',
    ]);
  });

  it('a superseded generation is added nowhere', async () => {
    await store.registry.markReady('teama/churn #2', 'aud-43');
    expect((await store.registry.get('teama/churn'))?.rolledOverTo).toBe('teama/churn #2');
    const aep = new FakeAep(['flow-stream']);
    const late = await activateDestinations(event([streaming]), taskDeps(aep, store.registry));
    expect(late).toEqual({
      destinations: [{ flowId: 'flow-stream', kind: 'streaming', status: 'SUPERSEDED' }],
    });
    expect(aep.calls).toHaveLength(0);
  });

  it('superseded while being added: hands its dataflows over to the next generation', async () => {
    const g3 = { ...plan, name: 'teamA/churn #3', registryKey: 'teama/churn #3' };
    await store.registry.claimCreation(g3, 'exec-3', {
      generation: 3,
      chainKey: 'teama/churn',
      chainName: 'teamA/churn',
      replaces: [
        { registryKey: 'teama/churn #2', audienceId: 'aud-43', name: 'teamA/churn #2' },
        { registryKey: 'teama/churn', audienceId: 'aud-42', name: 'teamA/churn' },
      ],
    });
    const aep = new FakeAep(['flow-stream']);
    // Generation 3 becomes READY (and did its own swap, finding nothing) just before #2's PATCH lands.
    const add = aep.addAudienceToDataflow.bind(aep);
    let first = true;
    aep.addAudienceToDataflow = async (input) => {
      if (first) {
        first = false;
        await store.registry.markReady('teama/churn #3', 'aud-44');
      }
      return add(input);
    };
    // A refresh of generation 2 (its swap of generation 1 done by an earlier file).
    const { replaces: _done, ...refreshOfSecond } = successor;
    const late = taskEvent({
      name: 'teamA/churn',
      execution: 'exec-late',
      destinations: [streaming],
      state: { audience: refreshOfSecond },
    });
    const result = await activateDestinations(late, taskDeps(aep, store.registry));

    expect(result.destinations).toEqual([{ flowId: 'flow-stream', kind: 'streaming', status: 'SUPERSEDED' }]);
    expect(aep.flows.get('flow-stream')).toEqual(['aud-44']);
    expect((await store.registry.get('teama/churn #3'))?.flows).toMatchObject({ 'flow-stream': 'streaming' });
  });
});

describe('activate-destinations and the dataflow lock', () => {
  // An audience of its own: the one above has been superseded by now.
  const own: AudienceState = { ...audience, audienceId: 'aud-90', name: 'teamB/locks' };
  const lockEvent = (destinations: Destination[]) =>
    taskEvent({ name: 'teamB/locks', execution: 'exec-1', destinations, state: { audience: own } });

  beforeAll(async () => {
    await store.registry.registerExisting(
      {
        name: 'teamB/locks',
        registryKey: 'teamb/locks',
        stagingPrefix: 'staging/audiences/teamb-locks/',
        sourcePath: 'drop/staging/audiences/teamb-locks',
        ttlInDays: 30,
      },
      'aud-90',
      'exec-0',
    );
  });

  it("waits for another execution's edit of the same dataflow, edits after it, and frees the lock", async () => {
    const coordination = store.registry.coordination();
    expect(await coordination.acquire('dataflow', 'flow-stream', 'exec-other', 120)).toEqual({
      acquired: true,
    });
    const aep = new FakeAep(['flow-stream']);
    const order: string[] = [];
    const add = aep.addAudienceToDataflow.bind(aep);
    aep.addAudienceToDataflow = async (input) => {
      order.push('edit');
      return add(input);
    };
    const activation = activateDestinations(lockEvent([streaming]), taskDeps(aep, store.registry));
    await new Promise((resolve) => setTimeout(resolve, 300));
    order.push('released by the other');
    await coordination.release('dataflow', 'flow-stream', 'exec-other');

    expect((await activation).destinations).toEqual([
      { flowId: 'flow-stream', kind: 'streaming', status: 'ADDED' },
    ]);
    expect(order).toEqual(['released by the other', 'edit']);
    // Free for the next execution.
    expect(await coordination.acquire('dataflow', 'flow-stream', 'exec-next', 120)).toEqual({
      acquired: true,
    });
    await coordination.release('dataflow', 'flow-stream', 'exec-next');
  });

  it('a dataflow busy past the wait: AEP_BUSY naming the holder, for the state machine to retry; nothing edited', async () => {
    const coordination = store.registry.coordination();
    await coordination.acquire('dataflow', 'flow-batch', 'exec-stuck', 120);
    const aep = new FakeAep(['flow-batch']);
    let clock = Date.now();
    // The task's clock jumps 20 s per look: the 30 s wait is over at the third.
    const deps = { ...taskDeps(aep, store.registry), now: () => (clock += 20_000) };
    const error = await rejection(activateDestinations(lockEvent([batch]), deps));
    expect(error.name).toBe('AEP_BUSY');
    expect(error.message).toBe(
      'Dataflow flow-batch is being edited by another file (execution exec-stuck); retrying',
    );
    expect(aep.calls).toHaveLength(0);
    await coordination.release('dataflow', 'flow-batch', 'exec-stuck');
  });
});
