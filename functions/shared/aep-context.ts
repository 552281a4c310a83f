// Dependencies of the AEP-side tasks, built once per container: the AEP clients (one per set of credentials, the
// teams' sandboxes and secrets, each kept while they stay the same, so its IMS token cache survives between
// invocations) and the audience registry. A file's team (functions/shared/teams.ts) picks the credentials, the
// sandbox and the settings it overrides.
import { createHash } from 'node:crypto';
import type { AepApi, AepUpkeepApi } from './aep/api.ts';
import { AepClient } from './aep/client.ts';
import type { AepCallRecord, AepCredentials } from './aep/types.ts';
import type { Coordination } from './coordination.ts';
import type { Logger } from './log.ts';
import { PipelineError } from './pipeline-errors.ts';
import { MAX_RUNS_PER_AUDIENCE, type Registry, registryFromEnvironment } from './registry.ts';
import { loadAepCredentials, loadTeamCredentials } from './secret.ts';
import { type TeamOf, teamOf, teamsFromEnvironment } from './teams.ts';

export interface AepTaskConfig {
  /**
   * The file's sandbox: the day's run budget is counted per sandbox, audience names are claimed per sandbox,
   * and messages an operator reads name it ("dataflow … was not found in sandbox …").
   */
  sandboxName: string;
  /** The file's configured team; absent for a file that takes the stack's settings. */
  team?: string | undefined;
  maxRunsPerAudience: number;
  /** Ingestion runs this pipeline starts per sandbox and UTC day (AEP refuses the 101st). */
  dailyRunBudget: number;
  /** When the day's budget is spent: wait for the next UTC day, or fail with AEP_DAILY_RUN_LIMIT. */
  onDailyRunLimit: 'wait' | 'fail';
  /** When an audience has had its runs: fail with AEP_AUDIENCE_RUN_LIMIT, or create its next generation. */
  onAudienceRunLimit: 'fail' | 'rollover';
}

/** What every AEP-side task's logic takes; unit tests pass a fake `aep` and a registry on dynalite. */
export interface AepTaskDeps {
  aep: AepApi;
  registry: Registry;
  /** Locks and the daily run budget, in the registry's table. */
  coordination: Coordination;
  /** Milliseconds. */
  now: () => number;
  config: AepTaskConfig;
}

/** Clients by credentials fingerprint: one per team sandbox and secret; a rotated secret replaces its own. */
const cachedClients = new Map<string, AepClient>();
/** More distinct credentials than this in one container (rotations, many teams) start the cache afresh. */
const MAX_CACHED_CLIENTS = 32;
let cachedRegistry: Registry | undefined;
let cachedCoordination: Coordination | undefined;
/** The invocation's logger: the client outlives invocations, its call log must follow the current one. */
let currentLogger: Logger | undefined;
/** The invocation's observer of AEP calls (metrics), replaced the same way. */
let currentObserver: ((record: AepCallRecord) => void) | undefined;

function fingerprint(credentials: AepCredentials): string {
  return createHash('sha256').update(JSON.stringify(credentials)).digest('hex');
}

function optionalPositiveInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new PipelineError('CONFIG_INVALID', `Environment variable ${name} must be a positive integer`);
  }
  return value;
}

/** AEP's guardrail: 100 ingestion runs per sandbox and UTC day (docs/aep.md#guardrails). */
export const DEFAULT_DAILY_RUN_BUDGET = 100;

function choiceFromEnv<T extends string>(name: string, choices: readonly [T, ...T[]]): T {
  const raw = process.env[name]?.trim() || choices[0];
  const choice = choices.find((c) => c === raw);
  if (choice === undefined) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `Environment variable ${name} must be ${choices.map((c) => `"${c}"`).join(' or ')}`,
    );
  }
  return choice;
}

/** AEP's 10 runs per audience; a lower number only for tests and sandboxes that want rollovers sooner. */
function maxRunsPerAudienceFromEnv(): number {
  const value = optionalPositiveInt('MAX_RUNS_PER_AUDIENCE') ?? MAX_RUNS_PER_AUDIENCE;
  if (value > MAX_RUNS_PER_AUDIENCE) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `Environment variable MAX_RUNS_PER_AUDIENCE cannot exceed AEP's ${MAX_RUNS_PER_AUDIENCE}`,
    );
  }
  return value;
}

async function clientFor(credentials: AepCredentials, logger: Logger): Promise<AepClient> {
  currentLogger = logger;
  const print = fingerprint(credentials);
  const cached = cachedClients.get(print);
  if (cached) return cached;
  const retry: { baseDelayMs?: number; maxDelayMs?: number } = {};
  const baseDelayMs = optionalPositiveInt('AEP_RETRY_BASE_MS');
  const maxDelayMs = optionalPositiveInt('AEP_RETRY_MAX_DELAY_MS');
  if (baseDelayMs !== undefined) retry.baseDelayMs = baseDelayMs;
  if (maxDelayMs !== undefined) retry.maxDelayMs = maxDelayMs;
  const client = new AepClient({
    credentials,
    retry,
    onCall: (record) => currentObserver?.(record),
    logger: {
      debug: (message, fields) => currentLogger?.debug(message, { ...fields }),
      info: (message, fields) => currentLogger?.info(message, { ...fields }),
      warn: (message, fields) => currentLogger?.warn(message, { ...fields }),
    },
  });
  if (cachedClients.size >= MAX_CACHED_CLIENTS) cachedClients.clear();
  cachedClients.set(print, client);
  return client;
}

/** The container's AEP client, rebuilt only when the credentials changed (a rotated secret). */
export async function getAepClient(logger: Logger): Promise<AepApi> {
  return clientFor(await loadAepCredentials(), logger);
}

/**
 * Everything an AEP-side task needs; cheap after the first call in a container. `onAepCall` sees every HTTP
 * attempt of this invocation (the AEP latency and retry metrics).
 */
export async function aepTaskDeps(
  logger: Logger,
  onAepCall?: (record: AepCallRecord) => void,
  file?: { key: string },
): Promise<AepTaskDeps> {
  currentObserver = onAepCall;
  const team: TeamOf = file ? teamOf(file.key, teamsFromEnvironment()) : { kind: 'default' };
  // ValidateFile refused the file already; a task reached anyway (a redrive after a configuration change)
  // must not send it to AEP under the stack's settings.
  if (team.kind === 'rejected') throw new PipelineError('TEAM_UNKNOWN', team.message);
  const settings = team.kind === 'team' ? team.settings : undefined;
  const credentials = await loadTeamCredentials(settings);
  const aep = await clientFor(credentials, logger);
  cachedRegistry ??= registryFromEnvironment();
  cachedCoordination ??= cachedRegistry.coordination();
  return {
    aep,
    registry: cachedRegistry,
    coordination: cachedCoordination,
    now: Date.now,
    config: {
      sandboxName: credentials.sandboxName,
      ...(team.kind === 'team' ? { team: team.team } : {}),
      maxRunsPerAudience: maxRunsPerAudienceFromEnv(),
      dailyRunBudget: optionalPositiveInt('DAILY_RUN_BUDGET') ?? DEFAULT_DAILY_RUN_BUDGET,
      onDailyRunLimit: choiceFromEnv('ON_DAILY_RUN_LIMIT', ['wait', 'fail']),
      onAudienceRunLimit:
        settings?.onAudienceRunLimit ?? choiceFromEnv('ON_AUDIENCE_RUN_LIMIT', ['fail', 'rollover']),
    },
  };
}

/** The day's ingestion run budget of this deployment (DAILY_RUN_BUDGET, default AEP's 100). */
export function dailyRunBudgetFromEnv(): number {
  return optionalPositiveInt('DAILY_RUN_BUDGET') ?? DEFAULT_DAILY_RUN_BUDGET;
}

/**
 * The container's AEP client for the upkeep functions (KeepAlive, DeleteAudience), with the sandbox its
 * credentials name; `onAepCall` sees every HTTP attempt of this invocation.
 */
export async function aepUpkeepClient(
  logger: Logger,
  onAepCall?: (record: AepCallRecord) => void,
  team?: string,
): Promise<{ aep: AepApi & AepUpkeepApi; sandboxName: string }> {
  currentObserver = onAepCall;
  // An audience of a configured team is its team's: its secret, its sandbox (PIPELINE_TEAMS).
  const settings = team === undefined ? undefined : teamsFromEnvironment().teams[team];
  if (team !== undefined && !settings) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `The audience belongs to team "${team}", which is not in pipeline.teams any more`,
    );
  }
  const credentials = await loadTeamCredentials(settings);
  return { aep: await clientFor(credentials, logger), sandboxName: credentials.sandboxName };
}

/** A part of the state document an earlier task must have written; its absence is a wiring bug. */
export function requirePart<T>(value: T | undefined, path: string, task: string): T {
  if (value === undefined) {
    throw new PipelineError('CONFIG_INVALID', `${task} needs ${path} in its input, and it is absent`);
  }
  return value;
}

/** AEP allows this many ingestion runs per audience; the registry refuses the next one early. */
export function audienceRunLimitError(
  audienceName: string,
  maxRuns: number,
  advice = 'upload the file under a new name to create a new audience, or set onAudienceRunLimit to "rollover"',
): PipelineError {
  return new PipelineError(
    'AEP_AUDIENCE_RUN_LIMIT',
    `Audience "${audienceName}" has had AEP's maximum of ${maxRuns} ingestion runs; ${advice}`,
  );
}
