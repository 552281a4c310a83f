// Coordination across executions, in the registry's DynamoDB table (single-table items beside AUDIENCE#…):
//
//   LOCK#audience#<registryKey>   one ingestion run of an audience at a time (AEP allows one active run)
//   LOCK#dataflow#<flowId>        one edit (GET → PATCH) of a dataflow at a time among this pipeline's executions
//   BUDGET#<sandbox>#<yyyy-mm-dd> ingestion runs taken this UTC day (AEP allows 100 per sandbox and day)
//
// Every write is one conditional call. A lock's owner is the execution name, so a Lambda retry or a redrive of
// the same execution re-acquires its own lock; `expiresAt` lets another execution take over the lock of a holder
// that crashed (the holder renews it while it polls). A budget item counts each execution once.
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export type LockKind = 'audience' | 'dataflow';

/**
 * How long the audience lock outlives its last renewal. CheckIngestion renews it at every poll (at most 5 min
 * apart), so only a holder that stopped polling (crashed, failed uncaught) loses it, after this long.
 */
export const AUDIENCE_LOCK_TTL_SECONDS = 30 * 60;

/**
 * A dataflow edit is a GET and a PATCH, with at most a minute of AEP's Retry-After in between; a holder that
 * crashed mid-edit blocks the dataflow for this long at most. If-Match keeps edits correct even past it: the
 * lock only spares our own executions the 412s of editing one dataflow all at once.
 */
export const DATAFLOW_LOCK_TTL_SECONDS = 2 * 60;

export type AcquireOutcome = { acquired: true } | { acquired: false; holder: string; expiresAt: number };

export type BudgetOutcome = 'TAKEN' | 'ALREADY_TAKEN' | 'SPENT';

export interface CoordinationOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Milliseconds; default Date.now. */
  now?: () => number;
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

/** `yyyy-mm-dd` of the UTC day that holds `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Whole seconds from `ms` to the next 00:00 UTC (at least 1). */
export function secondsToNextUtcDay(ms: number): number {
  const next = new Date(ms);
  next.setUTCHours(24, 0, 0, 0);
  return Math.max(1, Math.ceil((next.getTime() - ms) / 1000));
}

export class Coordination {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: CoordinationOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
  }

  static lockKey(kind: LockKind, id: string): string {
    return `LOCK#${kind}#${id}`;
  }

  static budgetKey(sandbox: string, day: string): string {
    return `BUDGET#${sandbox}#${day}`;
  }

  /**
   * Take the lock for `owner` for `ttlSeconds`: free, expired, or already `owner`'s (then renewed). Otherwise
   * who holds it and until when.
   */
  async acquire(kind: LockKind, id: string, owner: string, ttlSeconds: number): Promise<AcquireOutcome> {
    const pk = Coordination.lockKey(kind, id);
    const now = this.now();
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET #owner = :owner, expiresAt = :expires, acquiredAt = :now',
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner OR expiresAt < :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':expires': now + ttlSeconds * 1000, ':now': now },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const item = await this.read(pk);
    return {
      acquired: false,
      holder: String(item?.owner ?? 'unknown'),
      expiresAt: Number(item?.expiresAt ?? now),
    };
  }

  /** Extend `owner`'s lock; false when it is no longer `owner`'s. */
  async renew(kind: LockKind, id: string, owner: string, ttlSeconds: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: Coordination.lockKey(kind, id) },
          UpdateExpression: 'SET expiresAt = :expires',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':expires': this.now() + ttlSeconds * 1000 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Free `owner`'s lock (expired at once, so the next acquire needs no delete). Idempotent. */
  async release(kind: LockKind, id: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: Coordination.lockKey(kind, id) },
          UpdateExpression: 'SET expiresAt = :zero REMOVE #owner',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Take one run from today's budget of `sandbox` for `execution`: TAKEN, ALREADY_TAKEN (a retry of the same
   * execution), or SPENT. The day is the UTC day of now.
   */
  async takeRun(sandbox: string, execution: string, budget: number): Promise<BudgetOutcome> {
    const pk = Coordination.budgetKey(sandbox, utcDay(this.now()));
    // The map must exist before a conditional SET can add this execution to it: a harmless upsert first.
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk },
        UpdateExpression: 'SET holders = if_not_exists(holders, :empty), used = if_not_exists(used, :zero)',
        ExpressionAttributeValues: { ':empty': {}, ':zero': 0 },
      }),
    );
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: 'SET holders.#e = :at ADD used :one',
          ConditionExpression: 'attribute_not_exists(holders.#e) AND used < :budget',
          ExpressionAttributeNames: { '#e': execution },
          ExpressionAttributeValues: {
            ':at': new Date(this.now()).toISOString(),
            ':one': 1,
            ':budget': budget,
          },
        }),
      );
      return 'TAKEN';
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const item = await this.read(pk);
    return item?.holders?.[execution] ? 'ALREADY_TAKEN' : 'SPENT';
  }

  /** Runs taken today for `sandbox`. */
  async runsUsed(sandbox: string): Promise<number> {
    return Number((await this.read(Coordination.budgetKey(sandbox, utcDay(this.now()))))?.used ?? 0);
  }

  // biome-ignore lint/suspicious/noExplicitAny: DynamoDB items are untyped documents.
  private async read(pk: string): Promise<Record<string, any> | undefined> {
    const answer = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    return answer.Item;
  }
}
