// The audience registry in DynamoDB: one item per audience, shared by all executions. Executions run
// concurrently, so every write that could race is one conditional call; a failed condition is re-read, never
// retried blindly.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { Coordination } from './coordination.ts';
import { PipelineError } from './pipeline-errors.ts';
import type { AudiencePlan } from './state.ts';

/** AEP's maximum number of ingestion runs per audience (docs/aep.md#guardrails). */
export const MAX_RUNS_PER_AUDIENCE = 10;

export type AudienceStatus = 'CREATING' | 'READY';

export interface RunReservation {
  runId?: string;
  /** ISO 8601. */
  reservedAt: string;
  /** ISO 8601: StartIngestion is about to ask AEP for the run (a retry must then look for it in AEP first). */
  startingAt?: string;
}

export type DestinationKind = 'streaming' | 'batch';

/**
 * Where an audience sits among the generations of one name (`onAudienceRunLimit: "rollover"`): generation 1 is
 * `<name>`, generation N is `<name> #N`, created when generation N-1 has used AEP's 10 runs.
 */
export interface Lineage {
  generation: number;
  /** The first generation's registry key and name. */
  chainKey: string;
  chainName: string;
  /** The generations this one replaces, the one it rolled over from first (generation 2 and later). */
  replaces?: GenerationRef[];
}

export interface GenerationRef {
  registryKey: string;
  audienceId: string;
  name: string;
}

export interface RegistryItem {
  pk: string;
  registryKey: string;
  audienceName: string;
  stagingPrefix: string;
  /**
   * The drop bucket the audience's files are staged in. Absent on items written before it was recorded, and by
   * a registry that was not told the bucket.
   */
  stagingBucket?: string;
  /**
   * The `sourceSpec.params.path` the pipeline created the audience with: AEP fixed it at creation, and every run
   * reads the folder it names. Absent on items written before it was recorded and on audiences created outside
   * the pipeline (a manifest `audienceId`), whose path the pipeline does not know.
   */
  sourcePath?: string;
  /**
   * The identity namespaces the audience was created with, sorted (a file with `hashIdentities` has hashed
   * ones). Absent on items written before they were recorded.
   */
  identityNamespaces?: string[];
  status: AudienceStatus;
  createdByExecution: string;
  operationId?: string;
  audienceId?: string;
  runCount: number;
  runs: Record<string, RunReservation>;
  /** Absent on items written before generations existed: generation 1 of its own name. */
  generation?: number;
  chainKey?: string;
  chainName?: string;
  replaces?: GenerationRef[];
  /** The next generation's registry key, set once that generation exists in AEP: this one is superseded. */
  rolledOverTo?: string;
  /** Dataflows the pipeline added this audience to, by flow id: a rollover carries them over. */
  flows?: Record<string, DestinationKind>;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601. */
  updatedAt: string;
  /**
   * The configured team and the sandbox of the audience (the parts of its key before the name); absent on the
   * items of files outside every team and on items written before teams existed.
   */
  team?: string;
  sandbox?: string;
  // Upkeep (docs/operations.md#audience-upkeep), all optional: absent on items written before it existed, and
  // until the audience's first successful run.
  /** The TTL of the audience's last successful run, in days: what extend-ttl extends it by. */
  ttlInDays?: number;
  /** Kept alive by KeepAlive: set from a manifest `keepAlive` or a team's setting, whichever the plan carried. */
  keepAlive?: boolean;
  /** ISO 8601: when the last successful run was seen to succeed. */
  lastRunAt?: string;
  lastRunExecution?: string;
  /** The staged copy the last successful run ingested: what extend-ttl re-ingests. */
  lastStagedKey?: string;
  /** ISO 8601: the last successful run or extension plus `ttlInDays`. */
  expiresAt?: string;
  /** ISO 8601: the last extend-ttl AEP accepted. */
  lastExtendedAt?: string;
  /** The `expiresAt` that extension was for: one extension per expiry period. */
  extendedFor?: string;
  /** A KeepAlive invocation is extending the audience whose expiry is this (claimed at `extendingAt`). */
  extendingFor?: string;
  extendingAt?: string;
  /** The `expiresAt` an expiry notice was published for: one notice per expiry period. */
  expiryNoticeFor?: string;
  /** The staged object KeepAlive tagged to outlive `stagingRetentionDays`. */
  keptStagedKey?: string;
  /** ISO 8601: deleted in AEP (`aep-audience audiences delete`); a later upload of the name creates anew. */
  deletedAt?: string;
}

/** What CheckIngestion records when a run succeeded. */
export interface SuccessfulRun {
  execution: string;
  stagedKey: string;
  ttlInDays: number;
  /** Absent: the item's own flag stays as it is. */
  keepAlive?: boolean | undefined;
}

/** How long a KeepAlive claim on an audience holds before another invocation may take it over. */
export const EXTENSION_CLAIM_SECONDS = 15 * 60;

const DAY_MS = 24 * 60 * 60 * 1000;

/** `at` plus `days` whole days, ISO 8601. */
export function expiryAfter(atMs: number, days: number): string {
  return new Date(atMs + days * DAY_MS).toISOString();
}

/** Who holds an audience name in a sandbox: a configured team, or the files outside every team. */
export const STACK_NAME_OWNER = '-';

export type ReserveRunOutcome = 'RESERVED' | 'ALREADY_RESERVED' | 'LIMIT_REACHED';

/** A registry write found the item in a state no correct sequence of tasks leaves it in. */
export class RegistryConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryConflictError';
  }
}

export interface RegistryOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** Milliseconds; default Date.now. */
  now?: () => number;
  /** The drop bucket this pipeline stages files in (BUCKET_NAME): recorded on every item it writes. */
  stagingBucket?: string | undefined;
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

export class Registry {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;
  /** The drop bucket this pipeline stages files in, when known: an item naming another was staged elsewhere. */
  readonly stagingBucket: string | undefined;

  constructor(options: RegistryOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
    this.stagingBucket = options.stagingBucket;
  }

  /** This registry on another clock: KeepAlive run "as of" a day computes expiries from that day. */
  withClock(now: () => number): Registry {
    return new Registry({
      client: this.client,
      tableName: this.tableName,
      now,
      stagingBucket: this.stagingBucket,
    });
  }

  /** Locks and run budgets, kept in the same table (coordination.ts). */
  coordination(): Coordination {
    return new Coordination({ client: this.client, tableName: this.tableName, now: this.now });
  }

  static key(registryKey: string): string {
    return `AUDIENCE#${registryKey}`;
  }

  /** The item that says which team an AEP audience name belongs to in a sandbox (AEP's names are per sandbox). */
  static nameKey(sandbox: string, audienceName: string): string {
    return `NAME#${sandbox}#${audienceName.toLowerCase()}`;
  }

  private timestamp(): string {
    return new Date(this.now()).toISOString();
  }

  async get(registryKey: string): Promise<RegistryItem | undefined> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: Registry.key(registryKey) },
        ConsistentRead: true,
      }),
    );
    return answer.Item as RegistryItem | undefined;
  }

  /**
   * A new item; its first run is reserved for the execution that writes it, so no later file can take it.
   * `sourcePath` is recorded for an audience the pipeline creates with it.
   */
  private newItem(
    plan: AudiencePlan,
    execution: string,
    status: AudienceStatus,
    lineage: Lineage = firstGeneration(plan),
    recordSourcePath = true,
  ): RegistryItem {
    const at = this.timestamp();
    return {
      pk: Registry.key(plan.registryKey),
      registryKey: plan.registryKey,
      audienceName: plan.name,
      stagingPrefix: plan.stagingPrefix,
      ...(this.stagingBucket === undefined ? {} : { stagingBucket: this.stagingBucket }),
      ...(recordSourcePath ? { sourcePath: plan.sourcePath } : {}),
      ...(plan.identityNamespaces ? { identityNamespaces: plan.identityNamespaces } : {}),
      status,
      createdByExecution: execution,
      runCount: 1,
      runs: { [execution]: { reservedAt: at } },
      generation: lineage.generation,
      chainKey: lineage.chainKey,
      chainName: lineage.chainName,
      ...(lineage.replaces?.length ? { replaces: lineage.replaces } : {}),
      flows: {},
      createdAt: at,
      updatedAt: at,
      ...(plan.team === undefined ? {} : { team: plan.team }),
      ...(plan.sandbox === undefined ? {} : { sandbox: plan.sandbox }),
    };
  }

  /**
   * Claim `audienceName` in `sandbox` for `owner` (a team, or STACK_NAME_OWNER) before the pipeline creates an
   * audience of that name there: the owner that holds it, `owner` itself when the claim is (or was) its own.
   * Two teams' registry keys differ, so only this item stops the second from creating a name the first has.
   */
  async claimName(sandbox: string, audienceName: string, owner: string): Promise<string> {
    const pk = Registry.nameKey(sandbox, audienceName);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, owner, sandbox, audienceName, createdAt: this.timestamp() },
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
      return owner;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const answer = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }),
    );
    // Released between the put and the read: nobody holds it, and the caller's retry claims it.
    return String(answer.Item?.owner ?? owner);
  }

  /** Give the name back (its creation failed for good); only `owner` can. */
  async releaseName(sandbox: string, audienceName: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: Registry.nameKey(sandbox, audienceName) },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Put `item` unless an item with its key exists; the existing item when it does. */
  private async putIfAbsent(item: RegistryItem): Promise<'PUT' | RegistryItem> {
    // An item deleted between the failed put and the read (a released claim) makes the put worth one more try.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            // An audience deleted in AEP is created anew under its name: its item is replaced.
            ConditionExpression: 'attribute_not_exists(pk) OR attribute_exists(deletedAt)',
          }),
        );
        return 'PUT';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const existing = await this.get(item.registryKey);
      if (existing && existing.deletedAt === undefined) return existing;
    }
    throw new RegistryConflictError(`Registry item ${item.pk} keeps appearing and disappearing`);
  }

  /**
   * One conditional update of the item of `registryKey`: true when applied, false when its condition failed
   * (the caller reads the item or reports why); any other error propagates.
   */
  private async updateIf(
    registryKey: string,
    update: Omit<UpdateCommandInput, 'TableName' | 'Key'>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({ TableName: this.tableName, Key: { pk: Registry.key(registryKey) }, ...update }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Claim the creation of this audience (and its first run) for `execution`: 'CLAIMED', or the item another
   * claim left.
   */
  async claimCreation(
    plan: AudiencePlan,
    execution: string,
    lineage?: Lineage,
  ): Promise<'CLAIMED' | RegistryItem> {
    const outcome = await this.putIfAbsent(this.newItem(plan, execution, 'CREATING', lineage));
    return outcome === 'PUT' ? 'CLAIMED' : outcome;
  }

  /** Register an audience created outside this registry (a manifest `audienceId`): 'REGISTERED' or the existing item. */
  async registerExisting(
    plan: AudiencePlan,
    audienceId: string,
    execution: string,
  ): Promise<'REGISTERED' | RegistryItem> {
    const outcome = await this.putIfAbsent({
      ...this.newItem(plan, execution, 'READY', firstGeneration(plan), false),
      audienceId,
    });
    return outcome === 'PUT' ? 'REGISTERED' : outcome;
  }

  /** Remember AEP's operation id; false when the claim is no longer this execution's. */
  async recordOperation(registryKey: string, execution: string, operationId: string): Promise<boolean> {
    return this.updateIf(registryKey, {
      UpdateExpression: 'SET operationId = :op, updatedAt = :now',
      ConditionExpression: 'createdByExecution = :e AND #status = :creating',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':op': operationId,
        ':now': this.timestamp(),
        ':e': execution,
        ':creating': 'CREATING',
      },
    });
  }

  /**
   * The audience exists in AEP with this id. Idempotent; refuses to overwrite a different id. A later generation
   * marks the one it replaces as superseded (`rolledOverTo`).
   */
  async markReady(registryKey: string, audienceId: string): Promise<void> {
    let item: RegistryItem;
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: Registry.key(registryKey) },
          UpdateExpression: 'SET #status = :ready, audienceId = :id, updatedAt = :now',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(audienceId) OR audienceId = :id)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':ready': 'READY', ':id': audienceId, ':now': this.timestamp() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      item = answer.Attributes as RegistryItem;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(registryKey);
      throw new RegistryConflictError(
        existing
          ? `Registry item for "${registryKey}" already holds audience ${existing.audienceId}, not ${audienceId}`
          : `Registry item for "${registryKey}" is missing; cannot record audience ${audienceId}`,
      );
    }
    const previous = item.replaces?.[0];
    if (previous) await this.markRolledOver(previous.registryKey, registryKey);
  }

  /** `registryKey` is superseded by `successorKey`. Idempotent; one generation has one successor. */
  private async markRolledOver(registryKey: string, successorKey: string): Promise<void> {
    const marked = await this.updateIf(registryKey, {
      UpdateExpression: 'SET rolledOverTo = :next, updatedAt = :now',
      ConditionExpression:
        'attribute_exists(pk) AND (attribute_not_exists(rolledOverTo) OR rolledOverTo = :next)',
      ExpressionAttributeValues: { ':next': successorKey, ':now': this.timestamp() },
    });
    if (!marked) {
      const existing = await this.get(registryKey);
      throw new RegistryConflictError(
        existing
          ? `Audience "${registryKey}" already rolled over to "${existing.rolledOverTo}", not "${successorKey}"`
          : `Registry item for "${registryKey}" is missing; cannot record its rollover to "${successorKey}"`,
      );
    }
  }

  /** StartIngestion is about to start `execution`'s run: from now on a retry must look for the run in AEP. */
  async markRunStarting(registryKey: string, execution: string): Promise<void> {
    const marked = await this.updateIf(registryKey, {
      UpdateExpression: 'SET runs.#e.startingAt = :now, updatedAt = :now',
      ConditionExpression: 'attribute_exists(runs.#e)',
      ExpressionAttributeNames: { '#e': execution },
      ExpressionAttributeValues: { ':now': this.timestamp() },
    });
    if (!marked) {
      throw new RegistryConflictError(`No run reservation of ${execution} on "${registryKey}" to start`);
    }
  }

  /** Remember that the audience is in this dataflow, so that its next generation is added there too. */
  async recordFlow(registryKey: string, flowId: string, kind: DestinationKind): Promise<void> {
    // Items written before `flows` existed get the map first; the nested SET needs it.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const recorded = await this.updateIf(registryKey, {
        UpdateExpression: 'SET flows.#f = :kind, updatedAt = :now',
        ConditionExpression: 'attribute_exists(flows)',
        ExpressionAttributeNames: { '#f': flowId },
        ExpressionAttributeValues: { ':kind': kind, ':now': this.timestamp() },
      });
      if (recorded) return;
      const mapped = await this.updateIf(registryKey, {
        UpdateExpression: 'SET flows = :empty',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(flows)',
        ExpressionAttributeValues: { ':empty': {} },
      });
      if (!mapped && !(await this.get(registryKey))) {
        throw new RegistryConflictError(
          `Registry item for "${registryKey}" is missing; cannot record flow ${flowId}`,
        );
      }
    }
    throw new RegistryConflictError(`Could not record flow ${flowId} on "${registryKey}"`);
  }

  /** Drop a claim whose creation failed, so a fixed re-upload can create again. False when not ours any more. */
  async releaseFailedCreation(registryKey: string, execution: string): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: Registry.key(registryKey) },
          ConditionExpression: '#status = :creating AND createdByExecution = :e',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':creating': 'CREATING', ':e': execution },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Count one ingestion run for `execution`, atomically against `maxRuns`. A retry or redrive of the same
   * execution finds its reservation: ALREADY_RESERVED, and nothing is counted twice.
   */
  async reserveRun(
    registryKey: string,
    execution: string,
    maxRuns = MAX_RUNS_PER_AUDIENCE,
  ): Promise<ReserveRunOutcome> {
    const reserved = await this.updateIf(registryKey, {
      UpdateExpression: 'SET runs.#e = :r, updatedAt = :now ADD runCount :one',
      ConditionExpression: 'attribute_not_exists(runs.#e) AND runCount < :max',
      ExpressionAttributeNames: { '#e': execution },
      ExpressionAttributeValues: {
        ':r': { reservedAt: this.timestamp() } satisfies RunReservation,
        ':now': this.timestamp(),
        ':one': 1,
        ':max': maxRuns,
      },
    });
    if (reserved) return 'RESERVED';
    const item = await this.get(registryKey);
    if (!item)
      throw new RegistryConflictError(`Registry item for "${registryKey}" is missing; cannot reserve a run`);
    if (item.runs[execution]) return 'ALREADY_RESERVED';
    if (item.runCount >= maxRuns) return 'LIMIT_REACHED';
    throw new RegistryConflictError(`Run reservation for "${registryKey}" failed for no visible reason`);
  }

  /**
   * Give back `execution`'s reservation when it is certain no run was started for it (the file failed before,
   * or AEP refused the run): AEP counts runs, not reservations. A reservation with a run id is kept.
   */
  async releaseRun(registryKey: string, execution: string): Promise<boolean> {
    return this.updateIf(registryKey, {
      UpdateExpression: 'REMOVE runs.#e SET updatedAt = :now ADD runCount :minus',
      ConditionExpression: 'attribute_exists(runs.#e) AND attribute_not_exists(runs.#e.runId)',
      ExpressionAttributeNames: { '#e': execution },
      ExpressionAttributeValues: { ':minus': -1, ':now': this.timestamp() },
    });
  }

  /** Remember the run AEP started for `execution`'s reservation. */
  async recordRun(registryKey: string, execution: string, runId: string): Promise<void> {
    const recorded = await this.updateIf(registryKey, {
      UpdateExpression: 'SET runs.#e.runId = :id, updatedAt = :now',
      ConditionExpression: 'attribute_exists(runs.#e)',
      ExpressionAttributeNames: { '#e': execution },
      ExpressionAttributeValues: { ':id': runId, ':now': this.timestamp() },
    });
    if (!recorded) {
      throw new RegistryConflictError(
        `No run reservation of ${execution} on "${registryKey}" to record run ${runId}`,
      );
    }
  }

  /**
   * Every audience item, in no particular order (a paginated Scan: the registry holds hundreds of audiences,
   * not millions; locks and budgets are left out by the filter).
   */
  async list(): Promise<RegistryItem[]> {
    const items: RegistryItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'begins_with(pk, :audience)',
          ExpressionAttributeValues: { ':audience': 'AUDIENCE#' },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...((page.Items ?? []) as RegistryItem[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /**
   * A run of the audience succeeded: its expiry is now plus its TTL. An older success recorded late (a redrive)
   * never moves the expiry back.
   */
  async recordSuccessfulRun(registryKey: string, run: SuccessfulRun): Promise<void> {
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const recorded = await this.updateIf(registryKey, {
      UpdateExpression:
        'SET lastRunAt = :at, lastRunExecution = :e, lastStagedKey = :staged, ttlInDays = :ttl, ' +
        `expiresAt = :expires, updatedAt = :at${run.keepAlive === undefined ? '' : ', keepAlive = :keep'}`,
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastRunAt) OR lastRunAt <= :at)',
      ExpressionAttributeValues: {
        ':at': at,
        ':e': run.execution,
        ':staged': run.stagedKey,
        ':ttl': run.ttlInDays,
        ':expires': expiryAfter(nowMs, run.ttlInDays),
        ...(run.keepAlive === undefined ? {} : { ':keep': run.keepAlive }),
      },
    });
    if (!recorded && !(await this.get(registryKey))) {
      throw new RegistryConflictError(`Registry item for "${registryKey}" is missing; cannot record its run`);
    }
  }

  /** Keep the audience alive, or stop: the per-audience flag either source (manifest, team) sets. */
  async setKeepAlive(registryKey: string, keepAlive: boolean): Promise<boolean> {
    return this.updateIf(registryKey, {
      UpdateExpression: 'SET keepAlive = :keep, updatedAt = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':keep': keepAlive, ':now': this.timestamp() },
    });
  }

  /**
   * Claim the extension of the audience's current expiry `expiresAt` for this invocation: false when it was
   * extended for it already, another invocation holds a fresh claim, the expiry moved, or it was deleted.
   */
  async claimExtension(registryKey: string, expiresAt: string): Promise<boolean> {
    const nowMs = this.now();
    return this.updateIf(registryKey, {
      UpdateExpression: 'SET extendingFor = :exp, extendingAt = :now',
      ConditionExpression:
        'expiresAt = :exp AND attribute_not_exists(deletedAt) AND ' +
        '(attribute_not_exists(extendedFor) OR extendedFor <> :exp) AND ' +
        '(attribute_not_exists(extendingFor) OR extendingFor <> :exp OR extendingAt < :stale)',
      ExpressionAttributeValues: {
        ':exp': expiresAt,
        ':now': new Date(nowMs).toISOString(),
        ':stale': new Date(nowMs - EXTENSION_CLAIM_SECONDS * 1000).toISOString(),
      },
    });
  }

  /**
   * AEP accepted the extension claimed for `claimedFor`: the new expiry is now plus the TTL (the earlier of
   * the two readings of "extended by the original TTL", docs/aep.md#audience-upkeep).
   */
  async recordExtension(registryKey: string, claimedFor: string, ttlInDays: number): Promise<string> {
    const nowMs = this.now();
    const expiresAt = expiryAfter(nowMs, ttlInDays);
    const recorded = await this.updateIf(registryKey, {
      UpdateExpression:
        'SET expiresAt = :expires, lastExtendedAt = :now, extendedFor = :old, updatedAt = :now ' +
        'REMOVE extendingFor, extendingAt',
      ConditionExpression: 'extendingFor = :old',
      ExpressionAttributeValues: {
        ':expires': expiresAt,
        ':now': new Date(nowMs).toISOString(),
        ':old': claimedFor,
      },
    });
    if (!recorded) {
      throw new RegistryConflictError(`The extension claim on "${registryKey}" for ${claimedFor} was lost`);
    }
    return expiresAt;
  }

  /** The extension failed: the next invocation may try again for the same expiry. */
  async releaseExtension(registryKey: string, claimedFor: string): Promise<void> {
    await this.updateIf(registryKey, {
      UpdateExpression: 'REMOVE extendingFor, extendingAt',
      ConditionExpression: 'extendingFor = :old',
      ExpressionAttributeValues: { ':old': claimedFor },
    });
  }

  /** Claim the expiry notice for `expiresAt`: false when it was sent (or is being sent) already. */
  async claimExpiryNotice(registryKey: string, expiresAt: string): Promise<boolean> {
    return this.updateIf(registryKey, {
      UpdateExpression: 'SET expiryNoticeFor = :exp',
      ConditionExpression:
        'expiresAt = :exp AND attribute_not_exists(deletedAt) AND ' +
        '(attribute_not_exists(expiryNoticeFor) OR expiryNoticeFor <> :exp)',
      ExpressionAttributeValues: { ':exp': expiresAt },
    });
  }

  /** The notice could not be published: let the next invocation send it. */
  async releaseExpiryNotice(registryKey: string, expiresAt: string): Promise<void> {
    await this.updateIf(registryKey, {
      UpdateExpression: 'REMOVE expiryNoticeFor',
      ConditionExpression: 'expiryNoticeFor = :exp',
      ExpressionAttributeValues: { ':exp': expiresAt },
    });
  }

  /** The staged object now tagged to be kept (undefined: none is). */
  async recordKeptStagedKey(registryKey: string, key: string | undefined): Promise<void> {
    await this.updateIf(registryKey, {
      UpdateExpression:
        key === undefined ? 'REMOVE keptStagedKey' : 'SET keptStagedKey = :key, updatedAt = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ...(key === undefined ? {} : { ExpressionAttributeValues: { ':key': key, ':now': this.timestamp() } }),
    });
  }

  /** The audience was deleted in AEP. Idempotent: the first deletion's time stays. */
  async markDeleted(registryKey: string): Promise<string> {
    const at = this.timestamp();
    await this.updateIf(registryKey, {
      UpdateExpression: 'SET deletedAt = if_not_exists(deletedAt, :at), updatedAt = :at',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':at': at },
    });
    return (await this.get(registryKey))?.deletedAt ?? at;
  }
}

/** Generation 1 of the plan's own name. */
export function firstGeneration(plan: Pick<AudiencePlan, 'registryKey' | 'name'>): Lineage {
  return { generation: 1, chainKey: plan.registryKey, chainName: plan.name };
}

/** The lineage an item records (items written before generations existed are generation 1). */
export function lineageOf(item: RegistryItem): Lineage {
  return {
    generation: item.generation ?? 1,
    chainKey: item.chainKey ?? item.registryKey,
    chainName: item.chainName ?? item.audienceName,
    ...(item.replaces?.length ? { replaces: item.replaces } : {}),
  };
}

/**
 * The registry of `REGISTRY_TABLE_NAME`, for the drop bucket `BUCKET_NAME`; the SDK finds region and endpoint
 * (AWS_ENDPOINT_URL_DYNAMODB locally).
 */
export function registryFromEnvironment(): Registry {
  const tableName = process.env.REGISTRY_TABLE_NAME?.trim();
  if (!tableName) {
    throw new PipelineError('CONFIG_INVALID', 'Environment variable REGISTRY_TABLE_NAME is not set');
  }
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return new Registry({ client, tableName, stagingBucket: process.env.BUCKET_NAME?.trim() || undefined });
}
