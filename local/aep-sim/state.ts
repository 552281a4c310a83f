// State of the AEP simulator: audiences, operations, runs, dataflows and guardrail counters, on a clock that
// can run faster than real time; persisted as one JSON file so local runs survive a restart.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface SimAudience {
  audienceId: string;
  name: string;
  status: 'PROCESSING' | 'SUCCESS' | 'FAILED';
  operationId: string;
  /** The create request as AEP echoes it. */
  details: Record<string, unknown>;
  sourcePath: string;
  createdAt: number;
  /** Simulated epoch seconds when the operation completes. */
  readyAt: number;
  failureReason?: string;
}

export interface SimRun {
  runId: string;
  audienceId: string;
  status: 'PROCESSING' | 'SUCCESS' | 'FAILED';
  dataFilterStartTime: number;
  dataFilterEndTime?: number;
  createdAt: number;
  /** Simulated epoch seconds at which each stage ends. */
  stageEnds: [number, number];
  failStage?: 'DATASET_INGEST' | 'PROFILE_STORE_INGEST';
  failureReason?: string;
}

export interface SimFlow {
  id: string;
  name: string;
  kind: 'streaming' | 'batch';
  etag: string;
  /** Audience ids in segmentSelectors, in order. */
  selectors: string[];
  /** The selectors as PATCHed (values), in order. */
  selectorValues: Record<string, unknown>[];
}

export interface SimData {
  audiences: SimAudience[];
  runs: SimRun[];
  flows: SimFlow[];
  /** Runs started per UTC day (YYYY-MM-DD of the simulated clock). */
  dailyRuns: Record<string, number>;
}

export class SimClock {
  private readonly realStart = Date.now();
  private readonly simStart = Date.now();
  private offsetMs = 0;

  constructor(private readonly timeScale: number) {}

  /** Simulated epoch milliseconds. */
  nowMs(): number {
    return this.simStart + (Date.now() - this.realStart) * this.timeScale + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }
}

export class SimStore {
  data: SimData;

  constructor(
    private readonly statePath: string | undefined,
    seed: SimData,
  ) {
    this.data = seed;
    if (statePath && existsSync(statePath)) {
      const saved = JSON.parse(readFileSync(statePath, 'utf8')) as SimData;
      const seededFlows = new Map(seed.flows.map((f) => [f.id, f]));
      for (const flow of saved.flows) seededFlows.set(flow.id, flow);
      this.data = { ...saved, flows: [...seededFlows.values()] };
    }
  }

  save(): void {
    if (!this.statePath) return;
    mkdirSync(path.dirname(this.statePath), { recursive: true });
    const tmp = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 2));
    renameSync(tmp, this.statePath);
  }
}
