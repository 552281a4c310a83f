// What a local pipeline is started with: its state folder, its AEP and S3 targets, its code, its hooks.
import type { SimulatorOptions } from '../aep-simulator/index.ts';
import type { ExecutionSummary } from './execution-summary.ts';
import type { LambdaCodeMode } from './lambda-pool.ts';

export interface LocalPipelineOptions {
  /** Folder for everything this target keeps: S3 data, registry, simulator state, logs. */
  stateDir: string;
  /** Any AEP-compatible server; credentials then come from AEP_* environment variables. */
  aepUrl?: string;
  /** Simulated seconds per real second for Wait states, retries and the simulator's clock. */
  timeScale?: number;
  /** Extra simulator settings (tests: faults, durations). */
  simulator?: Partial<SimulatorOptions>;
  /** Keep S3 and the registry in a temp location that is deleted on close (tests). */
  ephemeral?: boolean;
  /** Progress lines, one per state. */
  progress?: (line: string) => void;
  /** cdk.json `context` to synthesize with instead of the project's. */
  context?: Record<string, unknown>;
  /** The embedded S3 server's address (default 127.0.0.1 and a free port); `serve` sets a fixed port. */
  s3Host?: string;
  s3Port?: number;
  /** Tag progress lines with the file's key as well as the execution name (`serve`, where files arrive unasked). */
  progressWithFile?: boolean;
  /** Called with each execution's summary once it has closed (and its failure report is written). */
  onExecutionClosed?: (summary: ExecutionSummary) => void;
  /** The functions' code: the TypeScript handlers (default) or the bundles `cdk synth` writes. */
  code?: LambdaCodeMode;
  /** Variables added to every function's environment (tests: a lower run limit, debug logging). */
  functionEnvironment?: Record<string, string>;
  /**
   * S3 at this endpoint instead of the embedded server: one with IAM and STS of its own (moto's server), where
   * the runner creates the bucket and each function's role, and each function signs with its role's
   * credentials. The administrator's credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
   */
  s3Endpoint?: string;
}
