// What the simulator remembers (audiences, runs, dataflows) and its atomic JSON persistence.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type SimStatus = 'PROCESSING' | 'SUCCESS' | 'FAILED';
export type RunStage = 'DATASET_INGEST' | 'PROFILE_STORE_INGEST';

export interface StoredAudience {
  audienceId: string;
  name: string;
  operationId: string;
  /** The create request as AEP echoes it in operationDetails. */
  details: Record<string, unknown>;
  sourcePath: string;
  ttlInDays: number;
  description?: string;
  labels?: unknown;
  fields: unknown[];
  createdAt: number;
  updatedAt: number;
  /** Simulated epoch seconds when the create operation ends. */
  readyAt: number;
  operationFails?: string;
  deleted?: boolean;
  /** Simulated epoch seconds of each extend-ttl it accepted. */
  ttlExtendedAt?: number[];
}

export interface StoredRun {
  runId: string;
  audienceId: string;
  dataFilterStartTime: number;
  dataFilterEndTime?: number;
  createdAt: number;
  /** Simulated epoch seconds at which each stage ends. */
  stageEnds: [number, number];
  failStage?: RunStage;
  failureReason?: string;
  flowRunIds: [string, string];
  /** What the failed stage's Flow Service run lists in `metrics.statusSummary.errors`. */
  flowRunErrors?: FlowRunErrorView[];
  /** The failed stage's Flow Service run answers 404 (its details cannot be read). */
  flowRunUnreadable?: boolean;
}

export interface FlowRunErrorView {
  code: string;
  message: string;
}

export interface StoredFlow {
  id: string;
  name: string;
  kind: 'streaming' | 'batch';
  etag: string;
  /** segmentSelectors.selectors exactly as stored. */
  selectors: { type: string; value: Record<string, unknown> }[];
  updatedAt: number;
}

/** Bumped when the file's shape changes; a file of another shape is not read. */
export const STATE_VERSION = 1;

export interface SimState {
  version: number;
  audiences: StoredAudience[];
  runs: StoredRun[];
  flows: StoredFlow[];
  /** Simulated ms at the last save, so a restarted clock never runs backwards. */
  clockMs: number;
}

export function emptyState(): SimState {
  return { version: STATE_VERSION, audiences: [], runs: [], flows: [], clockMs: 0 };
}

export function loadState(statePath: string | undefined): SimState | undefined {
  if (!statePath || !existsSync(statePath)) return undefined;
  const parsed = JSON.parse(readFileSync(statePath, 'utf8')) as Partial<SimState>;
  // A file written by an older simulator has other shapes; starting empty beats misreading it.
  if (parsed.version !== STATE_VERSION) return undefined;
  return {
    version: STATE_VERSION,
    audiences: parsed.audiences ?? [],
    runs: parsed.runs ?? [],
    flows: parsed.flows ?? [],
    clockMs: parsed.clockMs ?? 0,
  };
}

/** Writes a temp file then renames it, so a crash never leaves half a state file. */
export function saveState(statePath: string, state: SimState): void {
  mkdirSync(path.dirname(statePath), { recursive: true });
  const tmp = `${statePath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, statePath);
}
