// LocalPipeline: the whole pipeline on one machine, the API that run, serve, the tests and the benchmarks use;
// it starts the services (boot.ts) and routes their events to the parts beside it.
//
// Embedded S3 (or moto), dynalite, the AEP simulator (or any AEP-compatible URL), local Step Functions running
// the synthesized definition, and the real handlers, each function in execution environments of its own
// (lambda-pool.ts) with only its synthesized environment and its own credentials.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { NotificationMessage } from '../../functions/shared/notify.ts';
import type { AepSimulator } from '../aep-simulator/index.ts';
import type { AwsGateway, GatewayDecision } from '../iam/gateway.ts';
import { type BootHooks, bootServices, type Closer } from './boot.ts';
import { type DropPlan, planDrop } from './drop-plan.ts';
import { Drops, type StartedRecord } from './drops.ts';
import { type ExecutionSummary, summarizeExecution } from './execution-summary.ts';
import { recordFailure } from './failure-report.ts';
import { FunctionLogs } from './function-logs.ts';
import type { LambdaPool } from './lambda-pool.ts';
import { LOCAL_BUCKET, LOCAL_TABLE } from './local-names.ts';
import { NotificationLog } from './notifications.ts';
import type { LocalPipelineOptions } from './options.ts';
import { deniedLine, stateEventLine } from './progress.ts';
import { acquireStateLock } from './state-lock.ts';
import type { HistoryEvent, LocalExecution, LocalStepFunctions } from './step-functions.ts';
import type { Json, TaskFunction } from './synthesized.ts';
import { LocalUsageError } from './usage-error.ts';

export { LOCAL_BUCKET, LOCAL_STATE_MACHINE, LOCAL_TABLE } from './local-names.ts';
export { causeText } from './progress.ts';
export type { DropPlan, ExecutionSummary, LocalPipelineOptions, StartedRecord };
export { LocalUsageError };

export class LocalPipeline {
  /** The runner's own S3 client (the administrator's: it uploads as a team would and reads reports back). */
  s3!: S3Client;
  /** The endpoint every function's AWS calls go through, authorized as AWS would authorize them. */
  gateway!: AwsGateway;
  /** The AEP credentials secret the functions read, served by the gateway, and its value. */
  aepSecretArn: string | undefined;
  private aepSecret: Record<string, string> = {};
  /** The calls the gateway refused, in order (tests and the progress line read them). */
  readonly denials: GatewayDecision[] = [];
  readonly bucket = LOCAL_BUCKET;
  /** The S3 backend's endpoint (the embedded server's, or --s3-endpoint), for any S3 client. */
  s3Url = '';
  /** Where each started execution is recorded (JSON lines, see StartedRecord). */
  readonly startedFile: string;
  /** Lambda invocations in flight, so a stop can let them finish before the servers go. */
  private readonly inflight = new Set<Promise<unknown>>();
  simulator: AepSimulator | undefined;
  sfn!: LocalStepFunctions;
  private closers: Closer[] = [];
  /** The functions' execution environments. */
  pool!: LambdaPool;
  /** The local Step Functions API and the registry's DynamoDB endpoint, for clients of tests and tools. */
  sfnUrl = '';
  dynamoUrl = '';
  readonly tableName = LOCAL_TABLE;
  private drops: Drops | undefined;
  private functions: Record<string, TaskFunction> = {};
  private statusRule: Json;
  private readonly logs: FunctionLogs;
  private readonly notificationLog: NotificationLog;

  private constructor(
    private readonly options: LocalPipelineOptions,
    dataRoot: string,
  ) {
    this.logs = new FunctionLogs(path.join(options.stateDir, 'logs'));
    this.startedFile = path.join(dataRoot, 'started.jsonl');
    this.notificationLog = new NotificationLog(path.join(dataRoot, 'notifications.jsonl'), options.progress);
  }

  /** Where the functions' outcome notifications land (JSON lines). */
  get notificationsFile(): string {
    return this.notificationLog.file;
  }

  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    mkdirSync(options.stateDir, { recursive: true });
    const releaseLock = acquireStateLock(options.stateDir);
    const timeScale = options.timeScale ?? (options.aepUrl ? 10 : 1000);
    const dataRoot = options.ephemeral
      ? path.join(options.stateDir, `run-${process.pid}-${randomUUID().slice(0, 8)}`)
      : options.stateDir;
    const closers: Closer[] = [releaseLock];
    if (options.ephemeral) closers.push(() => rmSync(dataRoot, { recursive: true, force: true }));
    const pipeline = new LocalPipeline(options, dataRoot);
    try {
      mkdirSync(pipeline.logs.dir, { recursive: true });
      const services = await bootServices(options, { timeScale, dataRoot }, pipeline.hooks(), closers);
      pipeline.s3 = services.s3;
      pipeline.gateway = services.endpoint.gateway;
      pipeline.s3Url = services.s3Url;
      pipeline.dynamoUrl = services.dynamoUrl;
      pipeline.sfn = services.sfn;
      pipeline.sfnUrl = services.sfnUrl;
      pipeline.simulator = services.aep.simulator;
      pipeline.aepSecretArn = services.aepSecretArn;
      pipeline.aepSecret = services.aep.secret;
      pipeline.pool = services.pool;
      pipeline.functions = services.functions;
      pipeline.statusRule = services.statusRule;
      // Uploads start executions from here on: one the S3 server heard of while booting is not run.
      pipeline.drops = new Drops({
        bucket: LOCAL_BUCKET,
        startedFile: pipeline.startedFile,
        uploadRule: services.uploadRule,
        functions: services.functions,
        invoke: (fn, payload) => pipeline.invoke(fn, payload),
        sendsNoEvents: Boolean(options.s3Endpoint),
      });
    } catch (error) {
      for (const close of closers.reverse()) await close();
      throw error;
    }
    pipeline.closers = closers;
    return pipeline;
  }

  private hooks(): BootHooks {
    return {
      objectCreated: (event) => this.drops?.objectCreated(event),
      invoke: (fn, payload) => this.invoke(fn, payload),
      stateEvent: (execution, event) => this.report(execution, event),
      executionClosed: (execution) => this.executionClosed(execution),
      published: (message) => this.notificationLog.published(message),
      decided: (decision) => this.decided(decision),
      logLine: (line) => this.logs.line(line),
    };
  }

  /**
   * Invokes a function the way the Lambda service does: in one of its own execution environments, errors
   * shaped as Step Functions sees them (name = errorType, message = {"errorType","errorMessage"}).
   */
  async invoke(fn: TaskFunction, payload: unknown): Promise<unknown> {
    const call = this.pool.invoke(fn.logicalId, payload);
    this.inflight.add(call);
    try {
      return await call;
    } finally {
      this.inflight.delete(call);
    }
  }

  /** The template's function of a handler folder (`keep-alive`, `delete-audience`…), to invoke directly. */
  functionNamed(folder: string): TaskFunction | undefined {
    return this.functions[folder];
  }

  /**
   * Changes variables of every function's environment (or of the named ones) as UpdateFunctionConfiguration
   * does: later invocations run in new execution environments that read them at cold start.
   */
  updateFunctionEnvironment(vars: Record<string, string | undefined>, functions: string[] = ['*']): void {
    for (const name of functions) this.pool.updateEnvironment(name, vars);
  }

  /**
   * Sets the AEP credentials secret's value, as a rotation does, and starts the functions afresh: their
   * cached copy (functions/shared/secret.ts) would otherwise outlive the rotation by minutes, as in AWS.
   */
  rotateAepSecret(change: Record<string, string>): void {
    if (!this.aepSecretArn) throw new LocalUsageError('the template has no AEP credentials secret');
    this.aepSecret = { ...this.aepSecret, ...change };
    this.gateway.putSecretValue(this.aepSecretArn, JSON.stringify(this.aepSecret));
    this.pool.updateEnvironment('*', {});
  }

  /** A refused AWS call: said on the progress line and kept, naming the function, the action and the resource. */
  private decided(decision: GatewayDecision): void {
    if (decision.allowed) return;
    this.denials.push(decision);
    this.options.progress?.(deniedLine(decision));
    this.logs.denied(decision);
  }

  /** Uploads a CSV (and its manifest first) under incoming/, as a team would; resolves to the execution started. */
  async dropFile(file: string, options: { key?: string; manifest?: string } = {}): Promise<string> {
    return this.startedDrops().dropFile(this.s3, file, options);
  }

  /**
   * Uploads a local folder as a warehouse export (its files under `incoming/<name>.parts/`, then its
   * completion marker, an empty `_SUCCESS` unless it holds one), and the audience manifest first; resolves to
   * the execution the marker started.
   */
  async dropFolder(dir: string, options: { manifest?: string } = {}): Promise<string> {
    return this.drop(planDrop(dir, options.manifest));
  }

  /** Uploads what `aep-audience run` planned for one argument (drop-plan.ts). */
  async drop(plan: DropPlan): Promise<string> {
    return this.startedDrops().drop(this.s3, plan);
  }

  /** Waits until start-pipeline has answered every upload so far: each one started an execution, or not. */
  async uploadsSettled(): Promise<void> {
    await this.drops?.settled();
  }

  private startedDrops(): Drops {
    if (!this.drops) throw new LocalUsageError('the local pipeline has not started');
    return this.drops;
  }

  private report(execution: LocalExecution, event: HistoryEvent): void {
    const progress = this.options.progress;
    if (!progress) return;
    const line = stateEventLine(execution, event, this.options.progressWithFile);
    if (line) progress(line);
    if (event.type === 'StateExited' && event.stateName) this.notificationLog.showNew(execution.name);
  }

  private async executionClosed(execution: LocalExecution): Promise<void> {
    await recordFailure(execution, {
      stateMachineArn: this.sfn.stateMachineArn,
      statusRule: this.statusRule,
      functions: this.functions,
      invoke: (fn, payload) => this.invoke(fn, payload),
      reported: () => this.notificationLog.showNew(execution.name),
      ...(this.options.progress ? { progress: this.options.progress } : {}),
    });
    const onClosed = this.options.onExecutionClosed;
    if (onClosed) onClosed(await this.summarize(execution));
  }

  /** The outcome notifications published for an execution so far (the local stand-in for the SNS topic). */
  notifications(executionName: string): NotificationMessage[] {
    return this.notificationLog.forExecution(executionName);
  }

  /**
   * Waits for an execution to close and summarises it in the shape of `run --json`
   * (docs/contracts.md#json-output).
   */
  async waitFor(executionName: string): Promise<ExecutionSummary> {
    const execution = this.sfn.get(executionName);
    if (!execution) throw new LocalUsageError(`no execution named ${executionName}`);
    await execution.done;
    return this.summarize(execution);
  }

  summarize(execution: LocalExecution): Promise<ExecutionSummary> {
    return summarizeExecution(execution, (key) => this.readJson(key));
  }

  async readJson(key: string): Promise<Json | undefined> {
    const text = await this.readText(key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** An object of the drop bucket as text (undefined when missing). */
  async readText(key: string): Promise<string | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await object.Body!.transformToString();
    } catch {
      return undefined;
    }
  }

  /** Where a key of the drop bucket lives on disk, for people to open (at the endpoint, with --s3-endpoint). */
  localPath(key: string): string {
    if (this.options.s3Endpoint) return `s3://${this.bucket}/${key} at ${this.options.s3Endpoint}`;
    const root = this.options.ephemeral ? '(temporary)' : this.options.stateDir;
    return path.join(root, 's3', this.bucket, key);
  }

  /** What `started.jsonl` says, oldest first (empty before the first execution). */
  startedRecords(): StartedRecord[] {
    return this.startedDrops().records();
  }

  /**
   * Stops every running execution as StopExecution would (ABORTED, which the status rule reports in
   * error.json), and waits for them to close and for the handlers still running to return.
   */
  async interrupt(): Promise<LocalExecution[]> {
    // Uploads whose start-pipeline call is still going: let them start (or not) first, so none is missed.
    await this.drops?.settled();
    const running = (this.sfn?.list() ?? []).filter((e) => e.status === 'RUNNING');
    for (const execution of running) execution.abort();
    await Promise.all(running.map((e) => e.done));
    await Promise.allSettled([...this.inflight]);
    return running;
  }

  async close(): Promise<void> {
    for (const execution of this.sfn?.list() ?? []) {
      if (execution.status === 'RUNNING') execution.abort();
    }
    for (const close of this.closers.reverse()) {
      try {
        await close();
      } catch {
        // closing the rest matters more
      }
    }
  }
}
