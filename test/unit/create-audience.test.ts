// CreateAudience and CheckAudience paths with a fake AEP and a real registry on in-memory dynalite.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkAudience } from '../../functions/check-audience/check-audience.ts';
import { createAudience } from '../../functions/create-audience/create-audience.ts';
import { AepRequestError, AepUnavailableError } from '../../functions/shared/aep/errors.ts';
import type { AudienceState } from '../../functions/shared/state.ts';
import {
  rejection,
  startTestRegistry,
  type TestRegistry,
  taskDeps,
  taskEvent,
  uniqueName,
} from './support/aep-tasks.ts';
import { FakeAep } from './support/fake-aep.ts';

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
});

/** CreateAudience then CheckAudience until READY, as the state machine would. */
async function createAndWait(name: string, execution: string): Promise<AudienceState> {
  const deps = taskDeps(aep, store.registry);
  let audience = await createAudience(taskEvent({ name, execution }), deps);
  for (let i = 0; i < 5 && audience.status === 'CREATING'; i += 1) {
    audience = await checkAudience(taskEvent({ name, execution, state: { audience } }), deps);
  }
  return audience;
}

describe('create-audience', () => {
  it('creates, polls, and becomes READY; the registry holds the audience', async () => {
    const name = uniqueName('TeamA/Spring');
    const deps = taskDeps(aep, store.registry);
    const created = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    expect(created).toEqual({
      status: 'CREATING',
      operationId: expect.any(String),
      name,
      registryKey: name.toLowerCase(),
      refreshed: false,
      poll: { attempt: 0, waitSeconds: 15 },
    });
    expect(aep.callsOf('createAudience')[0]?.[0]).toMatchObject({
      name,
      sourceType: 'folder',
      ttlInDays: 30,
      fields: [
        { name: 'email', type: 'string', identityNs: 'Email' },
        { name: 'score', type: 'number' },
      ],
    });
    expect(await store.registry.get(name.toLowerCase())).toMatchObject({
      status: 'CREATING',
      operationId: created.operationId,
    });

    const polled = await checkAudience(
      taskEvent({ name, execution: 'exec-1', state: { audience: created } }),
      deps,
    );
    expect(polled).toMatchObject({ status: 'CREATING', poll: { attempt: 1, waitSeconds: 30 } });

    const ready = await checkAudience(
      taskEvent({ name, execution: 'exec-1', state: { audience: polled } }),
      deps,
    );
    expect(ready).toMatchObject({ status: 'READY', audienceId: expect.any(String), refreshed: false });
    expect(await store.registry.get(name.toLowerCase())).toMatchObject({
      status: 'READY',
      audienceId: ready.audienceId,
    });
  });

  it('refreshes an audience already in the registry without creating one', async () => {
    const name = uniqueName();
    const first = await createAndWait(name, 'exec-1');
    const second = await createAudience(
      taskEvent({ name, execution: 'exec-2' }),
      taskDeps(aep, store.registry),
    );
    expect(second).toMatchObject({ status: 'READY', audienceId: first.audienceId, refreshed: true });
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('a manifest audienceId registers that audience and creates nothing', async () => {
    const name = uniqueName();
    const audienceId = aep.addForeignAudience(name);
    const deps = taskDeps(aep, store.registry);
    const result = await createAudience(taskEvent({ name, execution: 'exec-1', audienceId }), deps);
    expect(result).toMatchObject({ status: 'READY', audienceId, refreshed: true });
    expect(await store.registry.get(name.toLowerCase())).toMatchObject({ status: 'READY', audienceId });
    // A second file with the same manifest refreshes the same registry item.
    expect(await createAudience(taskEvent({ name, execution: 'exec-2', audienceId }), deps)).toMatchObject({
      audienceId,
    });
    expect(aep.callsOf('createAudience')).toHaveLength(0);
  });

  it('a manifest audienceId that contradicts the registry is rejected', async () => {
    const name = uniqueName();
    await createAndWait(name, 'exec-1');
    const error = await rejection(
      createAudience(
        taskEvent({ name, execution: 'exec-2', audienceId: 'aud-other' }),
        taskDeps(aep, store.registry),
      ),
    );
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toContain('aud-other');
  });

  it('another execution creating the same audience: waits for it (no operation of its own), nothing sent to AEP', async () => {
    const name = uniqueName();
    await createAudience(taskEvent({ name, execution: 'exec-1' }), taskDeps(aep, store.registry));
    const waiting = await createAudience(
      taskEvent({ name, execution: 'exec-2' }),
      taskDeps(aep, store.registry),
    );
    expect(waiting).toMatchObject({ status: 'CREATING', name, refreshed: true, poll: { attempt: 0 } });
    expect(waiting.operationId).toBeUndefined();
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('concurrent executions for one name: exactly one audience is created, the others wait for it', async () => {
    const name = uniqueName();
    const deps = taskDeps(aep, store.registry);
    const outcomes = await Promise.all(
      ['a', 'b', 'c', 'd'].map((e) => createAudience(taskEvent({ name, execution: `exec-${e}` }), deps)),
    );
    expect(outcomes.filter((o) => o.operationId !== undefined)).toHaveLength(1);
    expect(outcomes.filter((o) => o.operationId === undefined && o.refreshed)).toHaveLength(3);
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('a retry after the operation was recorded returns it without a second create', async () => {
    const name = uniqueName();
    const deps = taskDeps(aep, store.registry);
    const first = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    const again = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    expect(again).toEqual(first);
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });

  it('a redrive after an outage on create creates the audience then', async () => {
    const name = uniqueName();
    const deps = taskDeps(aep, store.registry);
    aep.failNext('createAudience', new AepUnavailableError('AEP answered 503', { status: 503 }));
    await expect(createAudience(taskEvent({ name, execution: 'exec-1' }), deps)).rejects.toBeInstanceOf(
      AepUnavailableError,
    );
    // The claim stays with the execution, so that its redrive resumes it.
    expect(await store.registry.get(name.toLowerCase())).toMatchObject({
      status: 'CREATING',
      createdByExecution: 'exec-1',
    });
    const resumed = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    expect(resumed).toMatchObject({ status: 'CREATING', operationId: expect.any(String) });
  });

  it('a redrive whose first create took effect unseen adopts the audience instead of failing on 409', async () => {
    const name = uniqueName();
    const deps = taskDeps(aep, store.registry);
    // The first attempt reached AEP, but its answer was lost.
    await store.registry.claimCreation(
      taskEvent({ name, execution: 'exec-1' }).state.validation!.audience!,
      'exec-1',
    );
    const audienceId = aep.addForeignAudience(name);
    const resumed = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    expect(resumed).toMatchObject({ status: 'READY', audienceId, refreshed: false });
    expect(await store.registry.get(name.toLowerCase())).toMatchObject({ status: 'READY', audienceId });
  });

  it('ALREADY_CREATED from the client resolves the id by name', async () => {
    const name = uniqueName();
    aep.answerNextCreateAsAlreadyCreated();
    const result = await createAudience(
      taskEvent({ name, execution: 'exec-1' }),
      taskDeps(aep, store.registry),
    );
    expect(result).toMatchObject({ status: 'READY', audienceId: expect.any(String), refreshed: false });
    expect(aep.callsOf('findAudienceByName')).toEqual([[name]]);
  });

  it('409 without a registry item: AEP_REQUEST_REJECTED explaining the foreign audience, claim released', async () => {
    const name = uniqueName();
    aep.addForeignAudience(name);
    const error = await rejection(
      createAudience(taskEvent({ name, execution: 'exec-1' }), taskDeps(aep, store.registry)),
    );
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toContain(
      `An audience named "${name}" already exists in AEP and was not created by this pipeline`,
    );
    expect(error.message).toContain('"audienceId"');
    expect(await store.registry.get(name.toLowerCase())).toBeUndefined();
  });

  it('a terminal AEP refusal frees the name; the error propagates for the task handler to map', async () => {
    const name = uniqueName();
    aep.failNext('createAudience', new AepRequestError('bad field', { status: 400, aepCode: '100910' }));
    await expect(
      createAudience(taskEvent({ name, execution: 'exec-1' }), taskDeps(aep, store.registry)),
    ).rejects.toBeInstanceOf(AepRequestError);
    expect(await store.registry.get(name.toLowerCase())).toBeUndefined();
  });

  it('refresh past 10 runs: AEP_AUDIENCE_RUN_LIMIT, unless this execution already holds a run', async () => {
    const name = uniqueName();
    // The creator's run and nine refreshes.
    await createAndWait(name, 'exec-0');
    for (let i = 1; i <= 9; i += 1) {
      expect(
        await createAudience(taskEvent({ name, execution: `exec-${i}` }), taskDeps(aep, store.registry)),
      ).toMatchObject({ status: 'READY', refreshed: true });
    }
    expect((await store.registry.get(name.toLowerCase()))?.runCount).toBe(10);
    const error = await rejection(
      createAudience(taskEvent({ name, execution: 'exec-10' }), taskDeps(aep, store.registry)),
    );
    expect(error.name).toBe('AEP_AUDIENCE_RUN_LIMIT');
    expect(error.message).toBe(
      `Audience "${name}" has had AEP's maximum of 10 ingestion runs; upload the file under a new name to create ` +
        'a new audience, or set onAudienceRunLimit to "rollover"',
    );
    // A redrive of an execution that already reserved its run goes on.
    expect(
      await createAudience(taskEvent({ name, execution: 'exec-9' }), taskDeps(aep, store.registry)),
    ).toMatchObject({ status: 'READY', refreshed: true });
    expect((await store.registry.get(name.toLowerCase()))?.runCount).toBe(10);
    expect(aep.callsOf('createAudience')).toHaveLength(1);
  });
});

describe('create-audience with onAudienceRunLimit "rollover"', () => {
  /** CreateAudience then CheckAudience until READY, with two runs per audience to roll over soon. */
  async function settle(name: string, execution: string): Promise<AudienceState> {
    const deps = taskDeps(aep, store.registry, 2, 'rollover');
    let audience = await createAudience(taskEvent({ name, execution }), deps);
    for (let i = 0; i < 50 && audience.status === 'CREATING'; i += 1) {
      audience = await checkAudience(taskEvent({ name, execution, state: { audience } }), deps);
    }
    return audience;
  }

  it('the file after the last run creates "<name> #2" from the same staging folder, which replaces the first', async () => {
    const name = uniqueName('TeamA/Weekly');
    const first = await settle(name, 'exec-1');
    await settle(name, 'exec-2');

    const third = await settle(name, 'exec-3');
    expect(third).toMatchObject({
      status: 'READY',
      name: `${name} #2`,
      registryKey: `${name.toLowerCase()} #2`,
      replaces: [{ registryKey: name.toLowerCase(), audienceId: first.audienceId, name }],
      refreshed: false,
    });
    const creates = aep
      .callsOf('createAudience')
      .map(([input]) => input as { name: string; sourcePath: string });
    expect(creates.map((c) => c.name)).toEqual([name, `${name} #2`]);
    expect(creates[1]?.sourcePath).toBe(creates[0]?.sourcePath);
    expect(await store.registry.get(name.toLowerCase())).toMatchObject({
      runCount: 2,
      rolledOverTo: `${name.toLowerCase()} #2`,
    });
    expect(await store.registry.get(`${name.toLowerCase()} #2`)).toMatchObject({
      generation: 2,
      chainKey: name.toLowerCase(),
      chainName: name,
      runCount: 1,
      runs: { 'exec-3': expect.anything() },
    });

    // The next file goes straight to generation 2; the one after that rolls over to #3.
    expect(await settle(name, 'exec-4')).toMatchObject({ name: `${name} #2`, refreshed: true });
    expect(await settle(name, 'exec-5')).toMatchObject({
      name: `${name} #3`,
      replaces: [
        { audienceId: third.audienceId, name: `${name} #2` },
        { audienceId: first.audienceId, name },
      ],
    });
    // A retry of a file that holds a run on a superseded generation stays there.
    expect(await settle(name, 'exec-2')).toMatchObject({ name, audienceId: first.audienceId });
    expect(aep.callsOf('createAudience')).toHaveLength(3);
  });

  it('many files at once: each generation gets its two runs, each is created once', async () => {
    const name = uniqueName('TeamA/Burst');
    await settle(name, 'exec-0');
    await settle(name, 'exec-1');
    const settled = await Promise.all(Array.from({ length: 6 }, (_, i) => settle(name, `exec-b${i}`)));

    expect(settled.every((a) => a.status === 'READY')).toBe(true);
    const byName = new Map<string, number>();
    for (const a of settled) byName.set(a.name, (byName.get(a.name) ?? 0) + 1);
    expect(Object.fromEntries(byName)).toEqual({ [`${name} #2`]: 2, [`${name} #3`]: 2, [`${name} #4`]: 2 });
    const created = aep.callsOf('createAudience').map(([input]) => (input as { name: string }).name);
    expect(created.sort()).toEqual([name, `${name} #2`, `${name} #3`, `${name} #4`].sort());
    for (const generation of [2, 3, 4]) {
      expect((await store.registry.get(`${name.toLowerCase()} #${generation}`))?.runCount).toBe(2);
    }
  });

  it('a name "<name> #2" already used by another file: AEP_REQUEST_REJECTED instead of refreshing the wrong audience', async () => {
    const name = uniqueName('TeamA/Taken');
    await settle(`${name} #2`, 'exec-other');
    await settle(name, 'exec-1');
    await settle(name, 'exec-2');
    const error = await rejection(
      createAudience(taskEvent({ name, execution: 'exec-3' }), taskDeps(aep, store.registry, 2, 'rollover')),
    );
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toContain(
      `would roll over to "${name} #2", but another file already uses that name`,
    );
  });

  it('an audience pinned by the manifest is never rolled over', async () => {
    const name = uniqueName();
    const audienceId = aep.addForeignAudience(name);
    const deps = taskDeps(aep, store.registry, 2, 'rollover');
    await createAudience(taskEvent({ name, execution: 'exec-1', audienceId }), deps);
    await createAudience(taskEvent({ name, execution: 'exec-2', audienceId }), deps);
    const error = await rejection(createAudience(taskEvent({ name, execution: 'exec-3', audienceId }), deps));
    expect(error.name).toBe('AEP_AUDIENCE_RUN_LIMIT');
    expect(error.message).toContain('the manifest pins its "audienceId", so it is not rolled over');
    expect(aep.callsOf('createAudience')).toHaveLength(0);
  });
});

describe('check-audience', () => {
  it('operation FAILED: AEP_OPERATION_FAILED with the reason, and the claim is released', async () => {
    const name = uniqueName();
    const deps = taskDeps(aep, store.registry);
    aep.checksBeforeDone = 0;
    aep.failNextOperation('the source path could not be read');
    const created = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    const error = await rejection(
      checkAudience(taskEvent({ name, execution: 'exec-1', state: { audience: created } }), deps),
    );
    expect(error.name).toBe('AEP_OPERATION_FAILED');
    expect(error.message).toContain(`AEP could not create audience "${name}"`);
    expect(error.message).toContain('the source path could not be read');
    expect(await store.registry.get(name.toLowerCase())).toBeUndefined();
    // A fixed re-upload can create the audience again.
    const retried = await createAudience(taskEvent({ name, execution: 'exec-2' }), deps);
    expect(retried.status).toBe('CREATING');
  });

  it('gives up with AEP_POLL_LIMIT after 40 checks', async () => {
    const name = uniqueName();
    const deps = taskDeps(aep, store.registry);
    aep.checksBeforeDone = 1000;
    const created = await createAudience(taskEvent({ name, execution: 'exec-1' }), deps);
    const atLimit = { ...created, poll: { attempt: 39, waitSeconds: 300 } };
    const error = await rejection(
      checkAudience(taskEvent({ name, execution: 'exec-1', state: { audience: atLimit } }), deps),
    );
    expect(error.name).toBe('AEP_POLL_LIMIT');
    expect(error.message).toMatch(/after 40 checks over about 3\.0 hours/);
  });

  it('returns a READY audience unchanged without calling AEP', async () => {
    const audience: AudienceState = {
      status: 'READY',
      audienceId: 'aud-1',
      name: 'x',
      refreshed: true,
      poll: { attempt: 0, waitSeconds: 15 },
    };
    const result = await checkAudience(
      taskEvent({ name: 'x', execution: 'exec-1', state: { audience } }),
      taskDeps(aep, store.registry),
    );
    expect(result).toEqual(audience);
    expect(aep.calls).toHaveLength(0);
  });
});

describe('create-audience handler', () => {
  it('parses the task event and reports a missing setting as CONFIG_INVALID', async () => {
    const { handler } = await import('../../functions/create-audience/handler.ts');
    const saved = { ...process.env };
    delete process.env.AEP_SECRET_ARN;
    delete process.env.REGISTRY_TABLE_NAME;
    Object.assign(process.env, {
      AEP_CLIENT_ID: 'c',
      AEP_CLIENT_SECRET: 's',
      AEP_ORG_ID: 'o',
      AEP_SANDBOX_NAME: 'dev',
      AEP_BASE_CONNECTION_ID: 'b',
    });
    try {
      const invoke = handler as unknown as (event: unknown, context: unknown) => Promise<unknown>;
      await expect(invoke(taskEvent({ name: uniqueName(), execution: 'exec-h' }), {})).rejects.toMatchObject({
        name: 'CONFIG_INVALID',
        message: expect.stringContaining('REGISTRY_TABLE_NAME'),
      });
      await expect(invoke({ executionName: 'exec-h' }, {})).rejects.toMatchObject({ name: 'CONFIG_INVALID' });
    } finally {
      process.env = saved;
    }
  });
});
