// The audience registry against real dynalite: conditional claims and run budgets under concurrency.
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryConflictError, registryFromEnvironment } from '../../functions/shared/registry.ts';
import type { AudiencePlan } from '../../functions/shared/state.ts';
import { startTestRegistry, type TestRegistry, uniqueName } from './support/aep-tasks.ts';

let store: TestRegistry;
let endpoint: string;

beforeAll(async () => {
  store = await startTestRegistry();
  endpoint = store.endpoint;
});

afterAll(async () => {
  await store?.close();
});

function plan(name = uniqueName()): AudiencePlan {
  const registryKey = name.toLowerCase();
  return {
    name,
    registryKey,
    stagingPrefix: `staging/audiences/${registryKey.replace(/\W+/g, '-')}/`,
    sourcePath: `drop/staging/audiences/${registryKey.replace(/\W+/g, '-')}`,
    ttlInDays: 30,
  };
}

describe('Registry', () => {
  it('claims a new name once; a second claim gets the first claim back', async () => {
    const p = plan('TeamA/Churn-claim');
    expect(await store.registry.claimCreation(p, 'exec-1')).toBe('CLAIMED');
    const second = await store.registry.claimCreation(p, 'exec-2');
    expect(second).toMatchObject({
      pk: 'AUDIENCE#teama/churn-claim',
      status: 'CREATING',
      createdByExecution: 'exec-1',
      audienceName: 'TeamA/Churn-claim',
      // The creator's run is reserved with the claim, so no later file can take the new audience's last run.
      runCount: 1,
      runs: { 'exec-1': { reservedAt: expect.any(String) } },
      generation: 1,
      chainKey: 'teama/churn-claim',
      chainName: 'TeamA/Churn-claim',
      flows: {},
    });
  });

  it('two concurrent claims: exactly one CLAIMED', async () => {
    const p = plan();
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.registry.claimCreation(p, `exec-${i}`)),
    );
    expect(outcomes.filter((o) => o === 'CLAIMED')).toHaveLength(1);
    const winner = outcomes.indexOf('CLAIMED');
    for (const outcome of outcomes) {
      if (outcome !== 'CLAIMED') expect(outcome.createdByExecution).toBe(`exec-${winner}`);
    }
  });

  it('records the operation only for the claiming execution, then marks ready', async () => {
    const p = plan();
    await store.registry.claimCreation(p, 'exec-1');
    expect(await store.registry.recordOperation(p.registryKey, 'exec-2', 'op-x')).toBe(false);
    expect(await store.registry.recordOperation(p.registryKey, 'exec-1', 'op-1')).toBe(true);
    await store.registry.markReady(p.registryKey, 'aud-1');
    await store.registry.markReady(p.registryKey, 'aud-1');
    expect(await store.registry.get(p.registryKey)).toMatchObject({
      status: 'READY',
      operationId: 'op-1',
      audienceId: 'aud-1',
    });
    await expect(store.registry.markReady(p.registryKey, 'aud-2')).rejects.toBeInstanceOf(
      RegistryConflictError,
    );
  });

  it('releases a failed creation only while it is still CREATING by that execution', async () => {
    const p = plan();
    await store.registry.claimCreation(p, 'exec-1');
    expect(await store.registry.releaseFailedCreation(p.registryKey, 'exec-2')).toBe(false);
    expect(await store.registry.releaseFailedCreation(p.registryKey, 'exec-1')).toBe(true);
    expect(await store.registry.get(p.registryKey)).toBeUndefined();
    expect(await store.registry.claimCreation(p, 'exec-3')).toBe('CLAIMED');
    await store.registry.markReady(p.registryKey, 'aud-3');
    expect(await store.registry.releaseFailedCreation(p.registryKey, 'exec-3')).toBe(false);
    expect(await store.registry.get(p.registryKey)).toMatchObject({ status: 'READY' });
  });

  it('registers an existing audience once, and returns the item to a later caller', async () => {
    const p = plan();
    expect(await store.registry.registerExisting(p, 'aud-m', 'exec-1')).toBe('REGISTERED');
    expect(await store.registry.registerExisting(p, 'aud-m', 'exec-2')).toMatchObject({
      status: 'READY',
      audienceId: 'aud-m',
      createdByExecution: 'exec-1',
    });
  });

  it('reserves runs up to the limit, recognises a retry, and counts nothing twice', async () => {
    const p = plan();
    await store.registry.claimCreation(p, 'exec-0');
    await store.registry.markReady(p.registryKey, 'aud-r');
    expect(await store.registry.reserveRun(p.registryKey, 'exec-0', 3)).toBe('ALREADY_RESERVED');
    expect(await store.registry.reserveRun(p.registryKey, 'exec-1', 3)).toBe('RESERVED');
    expect(await store.registry.reserveRun(p.registryKey, 'exec-1', 3)).toBe('ALREADY_RESERVED');
    expect(await store.registry.reserveRun(p.registryKey, 'exec-2', 3)).toBe('RESERVED');
    expect(await store.registry.reserveRun(p.registryKey, 'exec-3', 3)).toBe('LIMIT_REACHED');
    expect(await store.registry.reserveRun(p.registryKey, 'exec-2', 3)).toBe('ALREADY_RESERVED');
    await store.registry.recordRun(p.registryKey, 'exec-1', 'run-1');
    const item = await store.registry.get(p.registryKey);
    expect(item?.runCount).toBe(3);
    expect(item?.runs['exec-1']?.runId).toBe('run-1');
    expect(item?.runs['exec-2']?.runId).toBeUndefined();
    await expect(store.registry.recordRun(p.registryKey, 'exec-3', 'run-3')).rejects.toBeInstanceOf(
      RegistryConflictError,
    );
  });

  it('concurrent reservations at the limit: exactly the budget is granted', async () => {
    const p = plan();
    await store.registry.claimCreation(p, 'exec-0');
    await store.registry.markReady(p.registryKey, 'aud-c');
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.registry.reserveRun(p.registryKey, `exec-${i + 1}`, 3)),
    );
    // The creator holds one of the three.
    expect(outcomes.filter((o) => o === 'RESERVED')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'LIMIT_REACHED')).toHaveLength(6);
    expect((await store.registry.get(p.registryKey))?.runCount).toBe(3);
  });

  it('a later generation marks the one it replaces as superseded once it is READY, and only then', async () => {
    const first = plan();
    await store.registry.claimCreation(first, 'exec-1');
    await store.registry.markReady(first.registryKey, 'aud-g1');
    const second = plan(`${first.name} #2`);
    const lineage = {
      generation: 2,
      chainKey: first.registryKey,
      chainName: first.name,
      replaces: [{ registryKey: first.registryKey, audienceId: 'aud-g1', name: first.name }],
    };
    expect(await store.registry.claimCreation(second, 'exec-2', lineage)).toBe('CLAIMED');
    expect((await store.registry.get(first.registryKey))?.rolledOverTo).toBeUndefined();
    await store.registry.markReady(second.registryKey, 'aud-g2');
    await store.registry.markReady(second.registryKey, 'aud-g2');
    expect(await store.registry.get(first.registryKey)).toMatchObject({ rolledOverTo: second.registryKey });
    expect(await store.registry.get(second.registryKey)).toMatchObject({
      generation: 2,
      chainKey: first.registryKey,
      replaces: lineage.replaces,
      status: 'READY',
    });
    // One generation has one successor.
    const other = plan(`${first.name} #2b`);
    await store.registry.claimCreation(other, 'exec-3', lineage);
    await expect(store.registry.markReady(other.registryKey, 'aud-x')).rejects.toThrow(/already rolled over/);
  });

  it('records dataflows, also on items written before the flows map existed', async () => {
    const p = plan();
    await store.registry.claimCreation(p, 'exec-1');
    await store.registry.recordFlow(p.registryKey, 'flow-a', 'streaming');
    await store.registry.recordFlow(p.registryKey, 'flow-b', 'batch');
    await store.registry.recordFlow(p.registryKey, 'flow-a', 'streaming');
    expect((await store.registry.get(p.registryKey))?.flows).toEqual({
      'flow-a': 'streaming',
      'flow-b': 'batch',
    });

    const legacy = plan();
    await store.client.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          pk: `AUDIENCE#${legacy.registryKey}`,
          registryKey: legacy.registryKey,
          runCount: 0,
          runs: {},
        },
      }),
    );
    await store.registry.recordFlow(legacy.registryKey, 'flow-c', 'streaming');
    expect((await store.registry.get(legacy.registryKey))?.flows).toEqual({ 'flow-c': 'streaming' });
    await expect(store.registry.recordFlow(plan().registryKey, 'flow-d', 'batch')).rejects.toThrow(/missing/);
  });

  it('marks a reservation as starting, which a retry reads as "look in AEP first"', async () => {
    const p = plan();
    await store.registry.claimCreation(p, 'exec-1');
    await store.registry.markRunStarting(p.registryKey, 'exec-1');
    expect((await store.registry.get(p.registryKey))?.runs['exec-1']?.startingAt).toEqual(expect.any(String));
    await expect(store.registry.markRunStarting(p.registryKey, 'exec-2')).rejects.toBeInstanceOf(
      RegistryConflictError,
    );
  });
});

describe('registryFromEnvironment', () => {
  it('fails with CONFIG_INVALID without REGISTRY_TABLE_NAME', () => {
    const saved = process.env.REGISTRY_TABLE_NAME;
    delete process.env.REGISTRY_TABLE_NAME;
    try {
      expect(() => registryFromEnvironment()).toThrow(/REGISTRY_TABLE_NAME is not set/);
    } finally {
      if (saved !== undefined) process.env.REGISTRY_TABLE_NAME = saved;
    }
  });

  it('reaches the table through AWS_ENDPOINT_URL_DYNAMODB, as the local runner sets it', async () => {
    const saved = { table: process.env.REGISTRY_TABLE_NAME, endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB };
    process.env.REGISTRY_TABLE_NAME = 'registry-test';
    process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
    try {
      const p = plan();
      expect(await registryFromEnvironment().claimCreation(p, 'exec-env')).toBe('CLAIMED');
      expect(await store.registry.get(p.registryKey)).toMatchObject({ createdByExecution: 'exec-env' });
    } finally {
      for (const [name, value] of [
        ['REGISTRY_TABLE_NAME', saved.table],
        ['AWS_ENDPOINT_URL_DYNAMODB', saved.endpoint],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
