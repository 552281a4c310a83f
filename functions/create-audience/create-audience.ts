// CreateAudience: turn the validated file's audience plan into an AEP audience, or find the one it refreshes.
// The registry's conditional claim makes sure concurrent executions never create one name twice, and each file's
// run is reserved here, atomically against AEP's 10 runs per audience. When an audience has had its runs,
// `onAudienceRunLimit: "rollover"` moves the name on to its next generation, `<name> #2`, created like any
// audience and swapped for the old one in the dataflows by ActivateDestinations.
import type { CreateAudienceResult } from '../shared/aep/api.ts';
import { AepConflictError, AepError } from '../shared/aep/errors.ts';
import { type AepTaskDeps, audienceRunLimitError, requirePart } from '../shared/aep-context.ts';
import { registryKey as registryKeyOf, scopeOf } from '../shared/naming.ts';
import { PipelineError } from '../shared/pipeline-errors.ts';
import { firstPoll } from '../shared/polling.ts';
import {
  firstGeneration,
  type Lineage,
  lineageOf,
  type RegistryItem,
  STACK_NAME_OWNER,
} from '../shared/registry.ts';
import type { AudiencePlan, AudienceState, TaskEvent, ValidationResult } from '../shared/state.ts';
import type { TaskContext } from '../shared/task-handler.ts';

const TASK = 'CreateAudience';
/** A bound on walking a name's generations: 100 generations are 1,000 runs, ten years of daily refreshes. */
const MAX_GENERATIONS = 100;

/** One generation of an audience name: the plan to create it with and its place in the chain. */
export interface Generation {
  plan: AudiencePlan;
  lineage: Lineage;
}

/** The generation an audience state belongs to, as far as the state can tell. */
function stateOf(
  generation: Generation,
  fields: Pick<AudienceState, 'status' | 'audienceId' | 'operationId' | 'refreshed'>,
): AudienceState {
  const { plan, lineage } = generation;
  return {
    ...fields,
    name: plan.name,
    registryKey: plan.registryKey,
    ...(lineage.replaces?.length ? { replaces: lineage.replaces } : {}),
    poll: firstPoll(),
  };
}

/** The file's plan under a generation's name: the same staging folder and TTL, no pinned audience id. */
function planNamed(plan: AudiencePlan, name: string, registryKey: string): AudiencePlan {
  const { audienceId: _pinned, ...rest } = plan;
  return { ...rest, name, registryKey };
}

/** A READY item's audience id; no correct sequence of tasks leaves a READY item without one. */
function readyAudienceId(item: RegistryItem): string {
  if (!item.audienceId) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `Registry item of "${item.audienceName}" is READY without an audience id`,
    );
  }
  return item.audienceId;
}

/** The generation a registry item records. */
export function generationOf(item: RegistryItem, plan: AudiencePlan): Generation {
  return { plan: planNamed(plan, item.audienceName, item.registryKey), lineage: lineageOf(item) };
}

/**
 * The generation after `item`: `<name> #N`. It shares the staging folder: each run selects its own file by time
 * window, so one folder serves every generation.
 */
function successorOf(item: RegistryItem, plan: AudiencePlan): Generation {
  const { generation, chainKey, chainName, replaces = [] } = lineageOf(item);
  const name = `${chainName} #${generation + 1}`;
  return {
    plan: planNamed(plan, name, registryKeyOf(name, scopeOf(plan))),
    lineage: {
      generation: generation + 1,
      chainKey,
      chainName,
      replaces: [
        { registryKey: item.registryKey, audienceId: readyAudienceId(item), name: item.audienceName },
        ...replaces,
      ],
    },
  };
}

/** The audience AEP says exists under our name: record it, or wait for AEP's listing to show it. */
async function adoptExisting(generation: Generation, deps: AepTaskDeps): Promise<AudienceState> {
  const { plan } = generation;
  const found = await deps.aep.findAudienceByName(plan.name);
  if (!found) {
    throw new PipelineError(
      'AEP_BUSY',
      `AEP reports that audience "${plan.name}" exists but does not list it yet; retrying`,
    );
  }
  await deps.registry.markReady(plan.registryKey, found.audienceId);
  return stateOf(generation, { status: 'READY', audienceId: found.audienceId, refreshed: false });
}

/**
 * Hold the audience's name in its sandbox for this file's team before AEP is asked to create it: a name
 * another team holds there is refused, with this execution's claim released, rather than met as AEP's 409 or,
 * worse, adopted as this team's.
 */
async function holdName(plan: AudiencePlan, execution: string, deps: AepTaskDeps): Promise<void> {
  const { sandboxName, team } = deps.config;
  const owner = team ?? STACK_NAME_OWNER;
  const holder = await deps.registry.claimName(sandboxName, plan.name, owner);
  if (holder === owner) return;
  await deps.registry.releaseFailedCreation(plan.registryKey, execution);
  const whose = holder === STACK_NAME_OWNER ? 'the files outside every team' : `team "${holder}"`;
  throw new PipelineError(
    'AEP_REQUEST_REJECTED',
    `The audience name "${plan.name}" in sandbox "${sandboxName}" belongs to ${whose}; two teams cannot ` +
      'share an audience name in one sandbox. Rename the file (or set "name" in its manifest)',
  );
}

/**
 * POST the audience. `resuming` is true when this execution's own claim was already there: an earlier attempt
 * may have created the audience without learning so, and a 409 then means "it did"
 * (docs/architecture.md#retries-and-idempotency).
 */
async function create(
  generation: Generation,
  validation: ValidationResult,
  execution: string,
  deps: AepTaskDeps,
  resuming: boolean,
): Promise<AudienceState> {
  const { plan } = generation;
  await holdName(plan, execution, deps);
  let result: CreateAudienceResult;
  try {
    result = await deps.aep.createAudience({
      name: plan.name,
      ...(plan.description === undefined ? {} : { description: plan.description }),
      fields: validation.fields,
      sourcePath: plan.sourcePath,
      sourceType: 'folder',
      ttlInDays: plan.ttlInDays,
      ...(plan.labels === undefined ? {} : { labels: plan.labels }),
    });
  } catch (error) {
    if (error instanceof AepConflictError && resuming) return adoptExisting(generation, deps);
    if (error instanceof AepError && !error.retryable) {
      // Terminal: nothing was created, so free the name for a fixed re-upload.
      await deps.registry.releaseFailedCreation(plan.registryKey, execution);
      await deps.registry.releaseName(
        deps.config.sandboxName,
        plan.name,
        deps.config.team ?? STACK_NAME_OWNER,
      );
    }
    if (error instanceof AepConflictError) {
      throw new PipelineError(
        'AEP_REQUEST_REJECTED',
        `An audience named "${plan.name}" already exists in AEP and was not created by this pipeline; ` +
          'rename the file (or set "name" in its manifest), or set "audienceId" in the manifest to refresh that audience',
        { cause: error },
      );
    }
    throw error;
  }
  if (result.kind === 'ALREADY_CREATED') return adoptExisting(generation, deps);
  const recorded = await deps.registry.recordOperation(plan.registryKey, execution, result.operationId);
  if (!recorded) {
    throw new PipelineError(
      'AEP_BUSY',
      `The registry claim on audience "${plan.name}" changed hands; retrying`,
    );
  }
  return stateOf(generation, { status: 'CREATING', operationId: result.operationId, refreshed: false });
}

/** A later generation's registry key taken by an audience that is not this chain's (a file named `X #2`). */
function checkLineage(generation: Generation, item: RegistryItem): void {
  const expected = generation.lineage.replaces?.[0]?.registryKey;
  if (expected === undefined || lineageOf(item).replaces?.[0]?.registryKey === expected) return;
  throw new PipelineError(
    'AEP_REQUEST_REJECTED',
    `Audience "${generation.lineage.chainName}" has had its runs and would roll over to "${generation.plan.name}", ` +
      'but another file already uses that name; rename one of the two files (or set "name" in a manifest)',
  );
}

/**
 * Refuse to refresh an audience with other identity namespaces than the file's: AEP fixes an audience's fields
 * at creation and cannot patch them, so a file hashed where the audience is not (or the reverse) would ingest
 * into identities the audience does not have. Items that did not record their namespaces are taken as they are.
 */
export function checkIdentityNamespaces(item: RegistryItem, plan: AudiencePlan): void {
  const had = item.identityNamespaces;
  const has = plan.identityNamespaces;
  if (!had || !has || (had.length === has.length && had.every((ns, i) => ns === has[i]))) return;
  const hashing = (list: string[]) => list.some((ns) => /_SHA256/i.test(ns));
  const why =
    hashing(had) === hashing(has)
      ? ''
      : hashing(has)
        ? ' (this file is hashed, hashIdentities, and the audience is not)'
        : ' (the audience is hashed, hashIdentities, and this file is not)';
  throw new PipelineError(
    'MANIFEST_INVALID',
    `Audience "${item.audienceName}" was created with identity namespaces ${had.join(', ')}; this file's are ` +
      `${has.join(', ')}${why}. AEP cannot change an audience's identity fields: upload the file under a new ` +
      'audience name (rename it, or set "name" in its manifest), or set hashIdentities as the audience has it',
  );
}

/**
 * Refuse to refresh an audience whose runs would not read this file: AEP fixed the audience's
 * `sourceSpec.params.path` when the pipeline created it, and a PATCH of the audience cannot change it, so each run
 * reads the folder that path names. An item staged in another bucket (the stack deployed again over a new drop
 * bucket) or created with another path (`sourcePathIncludesBucket` changed) would take a run and ingest whatever
 * the old folder holds. Items that recorded neither, written before they were, are taken as they are.
 */
export function checkStagingSource(
  item: RegistryItem,
  plan: AudiencePlan,
  stagingBucket: string | undefined,
): void {
  const otherBucket =
    item.stagingBucket !== undefined && stagingBucket !== undefined && item.stagingBucket !== stagingBucket;
  const otherPath = item.sourcePath !== undefined && item.sourcePath !== plan.sourcePath;
  if (!otherBucket && !otherPath) return;
  const created = item.sourcePath === undefined ? '' : ` with sourceSpec.path "${item.sourcePath}"`;
  const fixed =
    `Audience "${item.audienceName}" was created${created} from s3://${item.stagingBucket ?? '<its bucket>'}/` +
    `${item.stagingPrefix}; AEP fixed the audience's sourceSpec.path at creation and a PATCH cannot change it, ` +
    'so a refresh would ingest that folder, not this file';
  if (otherBucket) {
    throw new PipelineError(
      'AEP_REQUEST_REJECTED',
      `${fixed}, which was staged in bucket ${stagingBucket}. Upload the file under a new audience name (rename ` +
        'it, or set "name" in its manifest), or have an operator deploy the stack on the old bucket ' +
        `(existingBucketName "${item.stagingBucket}")`,
    );
  }
  throw new PipelineError(
    'AEP_REQUEST_REJECTED',
    `${fixed}, whose sourceSpec.path would now be "${plan.sourcePath}" (the pipeline's sourcePathIncludesBucket ` +
      'changed since). Upload the file under a new audience name (rename it, or set "name" in its manifest), ' +
      'or have an operator set sourcePathIncludesBucket back',
  );
}

/**
 * Settle on the generation of the file's audience name that this execution refreshes or creates, starting at
 * `start` and walking on past generations that are superseded or have had their runs (rollover).
 */
export async function settleGeneration(
  start: Generation,
  validation: ValidationResult,
  execution: string,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<AudienceState> {
  const { maxRunsPerAudience, onAudienceRunLimit } = deps.config;
  let generation = start;
  for (let hops = 0; hops < MAX_GENERATIONS; hops++) {
    const claim = await deps.registry.claimCreation(generation.plan, execution, generation.lineage);
    if (claim === 'CLAIMED') return create(generation, validation, execution, deps, false);
    checkLineage(generation, claim);
    // A generation walked past (superseded, or full under "rollover") is not refreshed: where it reads from
    // does not matter, and its successor is created for this file's folder.
    const passedOver =
      claim.status === 'READY' &&
      !claim.runs[execution] &&
      (claim.rolledOverTo !== undefined ||
        (onAudienceRunLimit === 'rollover' && claim.runCount >= maxRunsPerAudience));
    if (!passedOver) {
      checkStagingSource(claim, generation.plan, deps.registry.stagingBucket);
      checkIdentityNamespaces(claim, generation.plan);
    }
    if (claim.status === 'CREATING') {
      if (claim.createdByExecution === execution) {
        // This execution's own claim: a Lambda retry or a redrive of CreateAudience.
        if (claim.operationId) {
          return stateOf(generation, {
            status: 'CREATING',
            operationId: claim.operationId,
            refreshed: false,
          });
        }
        return create(generation, validation, execution, deps, true);
      }
      // Another execution creates it: wait in WaitForAudience (CREATING without an operation id tells
      // CheckAudience to watch the registry), then refresh it.
      context?.logger.info('waiting for another file to create the audience', {
        audience: generation.plan.name,
        creator: claim.createdByExecution,
      });
      return stateOf(generation, { status: 'CREATING', refreshed: true });
    }
    const audienceId = readyAudienceId(claim);
    const ready = stateOf(generationOf(claim, generation.plan), {
      status: 'READY',
      audienceId,
      refreshed: claim.createdByExecution !== execution,
    });
    if (claim.runs[execution]) return ready;
    if (claim.rolledOverTo === undefined) {
      const reservation = await deps.registry.reserveRun(claim.registryKey, execution, maxRunsPerAudience);
      if (reservation !== 'LIMIT_REACHED') {
        context?.logger.info('refreshing an existing audience', { audienceId });
        return ready;
      }
      if (onAudienceRunLimit !== 'rollover')
        throw audienceRunLimitError(claim.audienceName, maxRunsPerAudience);
    }
    generation = successorOf(claim, generation.plan);
    context?.logger.info('audience has had its runs; moving on to its next generation', {
      full: claim.audienceName,
      next: generation.plan.name,
    });
  }
  throw new PipelineError(
    'CONFIG_INVALID',
    `Audience "${start.plan.name}" has more than ${MAX_GENERATIONS} generations; clean up the registry`,
  );
}

/** A manifest `audienceId`: refresh that audience, create nothing (and never roll it over). */
async function registerManifestAudience(
  plan: AudiencePlan,
  audienceId: string,
  execution: string,
  deps: AepTaskDeps,
): Promise<AudienceState> {
  const generation: Generation = { plan, lineage: firstGeneration(plan) };
  const ready = stateOf(generation, { status: 'READY', audienceId, refreshed: true });
  const outcome = await deps.registry.registerExisting(plan, audienceId, execution);
  if (outcome === 'REGISTERED') return ready;
  if (outcome.status === 'CREATING') {
    throw new PipelineError(
      'AEP_BUSY',
      `another file (execution ${outcome.createdByExecution}) is creating audience "${plan.name}"; retrying`,
    );
  }
  if (outcome.audienceId !== audienceId) {
    throw new PipelineError(
      'AEP_REQUEST_REJECTED',
      `The manifest asks to refresh audience ${audienceId}, but the name "${plan.name}" belongs to audience ` +
        `${outcome.audienceId} in this pipeline's registry; remove "audienceId" or use a different name`,
    );
  }
  checkStagingSource(outcome, plan, deps.registry.stagingBucket);
  checkIdentityNamespaces(outcome, plan);
  if (outcome.runs[execution]) return ready;
  const { maxRunsPerAudience } = deps.config;
  if ((await deps.registry.reserveRun(plan.registryKey, execution, maxRunsPerAudience)) === 'LIMIT_REACHED') {
    throw audienceRunLimitError(
      plan.name,
      maxRunsPerAudience,
      'the manifest pins its "audienceId", so it is not rolled over: remove "audienceId" or pin a new audience',
    );
  }
  return ready;
}

export async function createAudience(
  event: TaskEvent,
  deps: AepTaskDeps,
  context?: TaskContext,
): Promise<AudienceState> {
  const validation = requirePart(event.state.validation, '$.validation', TASK);
  const plan = requirePart(validation.audience, '$.validation.audience', TASK);
  const execution = event.executionName;

  if (plan.audienceId) return registerManifestAudience(plan, plan.audienceId, execution, deps);
  return settleGeneration({ plan, lineage: firstGeneration(plan) }, validation, execution, deps, context);
}
