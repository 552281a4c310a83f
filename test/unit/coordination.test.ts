// Locks and the daily run budget across executions, on dynalite (conditional writes behave as in DynamoDB).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordination, secondsToNextUtcDay, utcDay } from '../../functions/shared/coordination.ts';
import { ensureRegistryTable, startDynalite } from '../../local/dynamo.ts';

const TABLE = 'coordination-test';
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let raw: DynamoDBClient;
let client: DynamoDBDocumentClient;
let clock = Date.parse('2026-11-28T10:00:00Z');
let coordination: Coordination;
let ids = 0;
const id = () => `audience-${++ids}`;

beforeAll(async () => {
  dynamo = await startDynalite();
  raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await ensureRegistryTable(raw, TABLE);
  client = DynamoDBDocumentClient.from(raw);
  coordination = new Coordination({ client, tableName: TABLE, now: () => clock });
});

afterAll(async () => {
  raw?.destroy();
  await dynamo?.close();
});

describe('audience lock', () => {
  it('is taken by one execution; another is told who holds it and until when', async () => {
    const key = id();
    expect(await coordination.acquire('audience', key, 'exec-a', 60)).toEqual({ acquired: true });
    expect(await coordination.acquire('audience', key, 'exec-b', 60)).toEqual({
      acquired: false,
      holder: 'exec-a',
      expiresAt: clock + 60_000,
    });
  });

  it('is re-acquired by its own holder (a retry or a redrive), which renews it', async () => {
    const key = id();
    await coordination.acquire('audience', key, 'exec-a', 60);
    clock += 30_000;
    expect(await coordination.acquire('audience', key, 'exec-a', 60)).toEqual({ acquired: true });
    expect(await coordination.acquire('audience', key, 'exec-b', 60)).toMatchObject({
      acquired: false,
      expiresAt: clock + 60_000,
    });
  });

  it('of a holder that stopped renewing is taken over once it expired', async () => {
    const key = id();
    await coordination.acquire('audience', key, 'crashed', 60);
    clock += 59_000;
    expect(await coordination.acquire('audience', key, 'exec-b', 60)).toMatchObject({ acquired: false });
    clock += 2_000;
    expect(await coordination.acquire('audience', key, 'exec-b', 60)).toEqual({ acquired: true });
    // The old holder has lost it: its renewal says so, and its release frees nothing.
    expect(await coordination.renew('audience', key, 'crashed', 60)).toBe(false);
    await coordination.release('audience', key, 'crashed');
    expect(await coordination.acquire('audience', key, 'exec-c', 60)).toMatchObject({
      acquired: false,
      holder: 'exec-b',
    });
  });

  it('renewed while its holder polls, it does not expire', async () => {
    const key = id();
    await coordination.acquire('audience', key, 'exec-a', 60);
    for (let i = 0; i < 3; i++) {
      clock += 50_000;
      expect(await coordination.renew('audience', key, 'exec-a', 60)).toBe(true);
    }
    expect(await coordination.acquire('audience', key, 'exec-b', 60)).toMatchObject({ acquired: false });
  });

  it('released by its holder is free at once; a second release is harmless', async () => {
    const key = id();
    await coordination.acquire('audience', key, 'exec-a', 60);
    await coordination.release('audience', key, 'exec-a');
    await coordination.release('audience', key, 'exec-a');
    expect(await coordination.acquire('audience', key, 'exec-b', 60)).toEqual({ acquired: true });
  });

  it('goes to exactly one of many executions asking at once', async () => {
    const key = id();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => coordination.acquire('audience', key, `exec-${i}`, 60)),
    );
    expect(outcomes.filter((o) => o.acquired)).toHaveLength(1);
  });
});

describe('daily run budget', () => {
  it('counts each execution once, and is spent at the budget', async () => {
    const sandbox = `sandbox-${id()}`;
    expect(await coordination.takeRun(sandbox, 'exec-1', 2)).toBe('TAKEN');
    expect(await coordination.takeRun(sandbox, 'exec-1', 2)).toBe('ALREADY_TAKEN');
    expect(await coordination.takeRun(sandbox, 'exec-2', 2)).toBe('TAKEN');
    expect(await coordination.takeRun(sandbox, 'exec-3', 2)).toBe('SPENT');
    // A retry of an execution that got its run still has it when the budget is spent.
    expect(await coordination.takeRun(sandbox, 'exec-2', 2)).toBe('ALREADY_TAKEN');
    expect(await coordination.runsUsed(sandbox)).toBe(2);
  });

  it('never gives more runs than the budget to executions asking at once', async () => {
    const sandbox = `sandbox-${id()}`;
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => coordination.takeRun(sandbox, `exec-${i}`, 5)),
    );
    expect(outcomes.filter((o) => o === 'TAKEN')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'SPENT')).toHaveLength(7);
  });

  it('starts afresh on the next UTC day', async () => {
    const sandbox = `sandbox-${id()}`;
    clock = Date.parse('2026-11-28T23:59:30Z');
    expect(await coordination.takeRun(sandbox, 'exec-1', 1)).toBe('TAKEN');
    expect(await coordination.takeRun(sandbox, 'exec-2', 1)).toBe('SPENT');
    expect(secondsToNextUtcDay(clock)).toBe(30);
    clock += 31_000;
    expect(utcDay(clock)).toBe('2026-11-29');
    expect(await coordination.takeRun(sandbox, 'exec-2', 1)).toBe('TAKEN');
  });
});
