// The whole pipeline on one machine: embedded S3, dynalite, the AEP simulator (or any AEP-compatible URL),
// local Step Functions running the synthesized definition, and the real handlers, each function in execution
// environments of its own (lambda-pool.ts) with only its synthesized environment and its own credentials.
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { NotificationMessage } from '../../functions/shared/notify.ts';
import { type ActivationState, replacedOf } from '../../functions/shared/state.ts';
import type { AepSimulator, SimulatorOptions } from '../aep-simulator/index.ts';
import type { AwsGateway, GatewayDecision, PublishedMessage } from '../iam/gateway.ts';
import { matchesEventPattern } from './event-pattern.ts';
import { type LambdaCodeMode, type LambdaFunctionSpec, LambdaPool } from './lambda-pool.ts';
import type { AwsCredentials, S3JudgeTarget } from './moto.ts';
import { motoAuthorization, needsMotoSignature } from './moto-signing.ts';
import { startSfnEndpoint } from './sfn-endpoint.ts';
import { type LocalExecution, LocalStepFunctions } from './step-functions.ts';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  readSynthesizedPipeline,
  resolveIntrinsics,
  type TaskFunction,
} from './synthesized.ts';
import { loadTemplate } from './template.ts';

export const LOCAL_BUCKET = 'aep-audience-local';
export const LOCAL_TABLE = 'aep-audience-registry';
export const LOCAL_STATE_MACHINE = 'AepAudiencePipeline';

export class LocalUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalUsageError';
  }
}

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

/** One line of `started.jsonl`: which upload started which execution, so a later start can say what became of it. */
export interface StartedRecord {
  key: string;
  versionId?: string;
  execution: string;
  startedAt: string;
}

export interface ExecutionSummary {
  status: 'SUCCEEDED' | 'FAILED';
  execution: string;
  executionArn: string;
  file: string;
  audienceId: string | null;
  /** The audience's name in AEP: the file's, or a later generation's (`<name> #2`) after a rollover. */
  audienceName: string | null;
  /** The generation this audience replaced in its dataflows, after a rollover. */
  replaced: { audienceId: string; name: string } | null;
  runId: string | null;
  refreshed: boolean;
  destinations: { flowId: string; status: ActivationState['destinations'][number]['status'] | 'FAILED' }[];
  validation: {
    valid: boolean;
    rows: number;
    invalidRows: number;
    invalidByCode: Record<string, number>;
    identities: Record<string, number>;
  } | null;
  reports: Record<string, string>;
  error?: { code: string; message: string };
}

// biome-ignore lint/suspicious/noExplicitAny: state documents and templates are JSON.
type Json = any;

interface Drop {
  key: string;
  sequencer: string;
  started: Promise<{ status: string; executionName?: string; reason?: string }>;
}

function lockFile(stateDir: string): string {
  return path.join(stateDir, 'lock');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One process at a time owns a target's state (dynalite's on-disk store allows one opener). */
function acquireLock(stateDir: string): void {
  const file = lockFile(stateDir);
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid && pid !== process.pid && processAlive(pid)) {
      throw new LocalUsageError(
        `${stateDir} is in use by process ${pid} (another 'aep-audience run' or 'serve'); wait for it or stop it`,
      );
    }
  }
  writeFileSync(file, String(process.pid));
}

/** Each function's own access key: the key is how the AWS endpoints tell which function sent a call. */
function localAccessKeyId(logicalId: string): string {
  return `ASIA${logicalId.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`.slice(0, 32);
}

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
  /** The embedded S3 server's endpoint, for any S3 client. */
  s3Url = '';
  /** Where each started execution is recorded (JSON lines, see StartedRecord). */
  startedFile = '';
  /** Lambda invocations in flight, so a stop can let them finish before the servers go. */
  private readonly inflight = new Set<Promise<unknown>>();
  simulator: AepSimulator | undefined;
  sfn!: LocalStepFunctions;
  private readonly closers: (() => Promise<void> | void)[] = [];
  /** The functions' execution environments. */
  pool!: LambdaPool;
  /** The local Step Functions API and the registry's DynamoDB endpoint, for clients of tests and tools. */
  sfnUrl = '';
  dynamoUrl = '';
  readonly tableName = LOCAL_TABLE;
  private readonly drops: Drop[] = [];
  private functions: Record<string, TaskFunction> = {};
  private uploadRule: Json;
  private statusRule: Json;
  private readonly logDir: string;
  /** Where the functions' outcome notifications land (JSON lines), and how many of each were shown. */
  notificationsFile = '';
  private readonly notificationsShown = new Map<string, number>();

  private constructor(private readonly options: LocalPipelineOptions) {
    this.logDir = path.join(options.stateDir, 'logs');
  }

  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    mkdirSync(options.stateDir, { recursive: true });
    acquireLock(options.stateDir);
    const timeScale = options.timeScale ?? (options.aepUrl ? 10 : 1000);
    const dataRoot = options.ephemeral
      ? path.join(options.stateDir, `run-${process.pid}-${randomUUID().slice(0, 8)}`)
      : options.stateDir;
    const cleanup: (() => Promise<void> | void)[] = [
      () => rmSync(lockFile(options.stateDir), { force: true }),
    ];
    if (options.ephemeral) cleanup.push(() => rmSync(dataRoot, { recursive: true, force: true }));
    try {
      return await LocalPipeline.boot(options, timeScale, dataRoot, cleanup);
    } catch (error) {
      for (const close of cleanup.reverse()) await close();
      throw error;
    }
  }

  private static async boot(
    options: LocalPipelineOptions,
    timeScale: number,
    dataRoot: string,
    cleanup: (() => Promise<void> | void)[],
  ): Promise<LocalPipeline> {
    const [{ startS3Server }, { startDynalite, ensureRegistryTable }, { startAwsGateway }, iam] =
      await Promise.all([
        import('../s3-server/index.ts'),
        import('../dynamo.ts'),
        import('../iam/gateway.ts'),
        import('../iam/template-policies.ts'),
      ]);
    let pipeline: LocalPipeline | undefined;
    mkdirSync(dataRoot, { recursive: true });

    const cacheDir = path.join(path.dirname(options.stateDir), '.cache');
    const bundles =
      options.code === 'bundle'
        ? await (await import('./bundles.ts')).buildBundles({ cacheDir, context: options.context })
        : undefined;
    const template = bundles?.template ?? (await loadTemplate({ cacheDir, context: options.context }));
    const names = {
      bucketName: LOCAL_BUCKET,
      tableName: LOCAL_TABLE,
      stateMachineArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE}`,
    };
    const synthesized = readSynthesizedPipeline(template, names);
    const policies = iam.readTemplatePolicies(template, names);

    // S3: the embedded server, or an endpoint with IAM of its own (moto) that judges every function's calls
    // by the role the runner makes there from the function's statements.
    let s3Backend: string;
    let judge: S3JudgeTarget | undefined;
    let admin: AwsCredentials;
    if (options.s3Endpoint) {
      const moto = await import('./moto.ts');
      admin = moto.adminCredentialsFromEnvironment();
      s3Backend = options.s3Endpoint.replace(/\/+$/, '');
      judge = await moto.prepareS3Judge({
        endpoint: s3Backend,
        region: LOCAL_REGION,
        admin,
        bucket: LOCAL_BUCKET,
        roles: Object.values(policies.functions).map((fn) => ({
          functionName: fn.function,
          roleName: fn.roleLogicalId,
          policies: fn.identityPolicies.map((p) => ({ name: p.name, document: p.policy })),
        })),
      });
    } else {
      admin = { accessKeyId: 'LOCALADMINISTRATOR', secretAccessKey: 'local' };
      const s3Server = await startS3Server({
        dataDir: path.join(dataRoot, 's3'),
        buckets: [LOCAL_BUCKET],
        ...(options.s3Host ? { host: options.s3Host } : {}),
        ...(options.s3Port !== undefined ? { port: options.s3Port } : {}),
        onObjectCreated: (event) => pipeline?.objectCreated(event),
      });
      cleanup.push(() => s3Server.close());
      s3Backend = s3Server.url;
    }

    const dynamo = await startDynalite(options.ephemeral ? {} : { path: path.join(dataRoot, 'registry') });
    cleanup.push(() => dynamo.close());

    const created = new LocalPipeline(options);
    created.s3Url = s3Backend;
    created.startedFile = path.join(dataRoot, 'started.jsonl');
    created.notificationsFile = path.join(dataRoot, 'notifications.jsonl');
    created.dynamoUrl = dynamo.endpoint;
    created.functions = synthesized.functions;
    for (const resource of Object.values<Json>(template.Resources)) {
      if (resource.Type !== 'AWS::Events::Rule') continue;
      const pattern = resolveIntrinsics(resource.Properties.EventPattern, template, names);
      if (pattern?.source?.includes('aws.s3')) created.uploadRule = pattern;
      if (pattern?.source?.includes('aws.states')) created.statusRule = pattern;
    }

    const ddb = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await ensureRegistryTable(ddb, LOCAL_TABLE);
    ddb.destroy();
    mkdirSync(created.logDir, { recursive: true });

    created.sfn = new LocalStepFunctions({
      definition: synthesized.definition,
      stateMachineName: LOCAL_STATE_MACHINE,
      timeScale,
      invokeTask: (stateName, payload) => {
        const fn = synthesized.taskStates[stateName]!;
        return created.invoke(fn, payload);
      },
      onEvent: (execution, event) => created.report(execution, event),
      onClosed: (execution) => created.executionClosed(execution),
    });
    const endpoint = await startSfnEndpoint(created.sfn);
    cleanup.push(() => endpoint.close());
    created.sfnUrl = endpoint.url;

    // Every AWS call of every function goes through the gateway, which authorizes it against the function's
    // synthesized statements and the resource policies, then passes it to S3, DynamoDB or Step Functions, or
    // answers it itself (Secrets Manager's GetSecretValue, SNS Publish).
    const secretKeys = new Map<string, string>([[admin.accessKeyId, admin.secretAccessKey]]);
    const gateway = await startAwsGateway({
      policies,
      backends: { s3: s3Backend, dynamodb: dynamo.endpoint, states: endpoint.url },
      onPublish: (message) => created.published(message),
      onDecision: (decision) => created.decided(decision),
      ...(judge
        ? {
            resignS3: (request, accessKeyId) => {
              const secret = secretKeys.get(accessKeyId);
              return secret && needsMotoSignature(request.path, request.query)
                ? motoAuthorization(request, secret)
                : undefined;
            },
          }
        : {}),
    });
    cleanup.push(() => gateway.close());
    created.gateway = gateway;
    gateway.registerAdministrator(admin.accessKeyId);
    created.s3 = new S3Client({
      endpoint: gateway.url,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: admin,
    });
    cleanup.push(() => created.s3.destroy());

    let simulator: AepSimulator | undefined;
    let aep: { secret: Record<string, string>; environment: Record<string, string> };
    if (options.aepUrl) {
      aep = aepSettingsFromProcess(options.aepUrl);
    } else {
      const { startAepSimulator, SIMULATOR_DEFAULT_CREDENTIALS } = await import('../aep-simulator/index.ts');
      simulator = await startAepSimulator({
        timeScale,
        statePath: options.ephemeral ? undefined : path.join(dataRoot, 'aep-simulator.json'),
        // Like AEP, a run only finds the files that the S3 source connection can see in its time window.
        sourceFiles: (sourcePath, start, end) => countSourceFiles(created.s3, sourcePath, start, end),
        ...options.simulator,
      });
      cleanup.push(() => simulator?.close());
      const creds = SIMULATOR_DEFAULT_CREDENTIALS;
      aep = {
        secret: { ...creds, imsUrl: simulator.url, platformUrl: simulator.url },
        environment: {
          // Client backoff is simulated time too, so an outage past all retries takes milliseconds.
          AEP_RETRY_BASE_MS: String(Math.max(1, Math.round(1000 / timeScale))),
          AEP_RETRY_MAX_DELAY_MS: String(Math.max(1, Math.round(60_000 / timeScale))),
        },
      };
    }
    created.simulator = simulator;
    // The AEP credentials secret holds what Secrets Manager would: the functions fetch it through their port.
    created.aepSecretArn = Object.values(synthesized.functions)
      .map((fn) => fn.environment.AEP_SECRET_ARN)
      .find((arn) => arn !== undefined);
    created.aepSecret = aep.secret;
    if (created.aepSecretArn) gateway.putSecretValue(created.aepSecretArn, JSON.stringify(aep.secret));

    // Each function's environment is its synthesized one, with the local endpoint and its own credentials in
    // place of what Lambda gives it; the handlers read it at cold start, as in Lambda.
    const specs: LambdaFunctionSpec[] = Object.entries(synthesized.functions).map(([name, fn]) => {
      const principal = policies.functions[name];
      if (!principal) throw new Error(`the template gives function ${name} no role the runner can read`);
      const credentials: AwsCredentials = judge?.credentials.get(name) ?? {
        accessKeyId: localAccessKeyId(fn.logicalId),
        secretAccessKey: 'local',
      };
      gateway.registerPrincipal(credentials.accessKeyId, principal);
      secretKeys.set(credentials.accessKeyId, credentials.secretAccessKey);
      return {
        name,
        logicalId: fn.logicalId,
        handlerFile: fn.handlerFile,
        ...(bundles ? { bundleDir: bundles.functions[name]?.bundleDir } : {}),
        environment: {
          ...fn.environment,
          AWS_REGION: LOCAL_REGION,
          AWS_ENDPOINT_URL: gateway.url,
          S3_FORCE_PATH_STYLE: 'true',
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
          ...aep.environment,
          ...options.functionEnvironment,
        },
        timeoutSeconds: fn.timeoutSeconds,
        memoryMb: fn.memoryMb,
      };
    });
    created.pool = new LambdaPool({
      code: options.code ?? 'source',
      functions: specs,
      onLogLine: (_fn, line) => created.logLine(line),
    });
    cleanup.push(() => created.pool.close());

    created.closers.push(...cleanup);
    pipeline = created;
    return created;
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

  /** An SNS Publish to the outcome topic, kept as one JSON line per message (the local topic's subscriber). */
  private published(message: PublishedMessage): void {
    const body = JSON.parse(message.message) as { default?: string; email?: string };
    const attribute = (name: string) => message.messageAttributes[name]?.stringValue ?? '';
    const record: NotificationMessage = {
      subject: message.subject ?? '',
      text: body.email ?? '',
      document: JSON.parse(body.default ?? '{}'),
      attributes: {
        outcome: attribute('outcome') as NotificationMessage['attributes']['outcome'],
        folder: attribute('folder') === '-' ? '' : attribute('folder'),
      },
    };
    appendFileSync(this.notificationsFile, `${JSON.stringify(record)}\n`);
  }

  /** A refused AWS call: said on the progress line and kept, naming the function, the action and the resource. */
  private decided(decision: GatewayDecision): void {
    if (decision.allowed) return;
    this.denials.push(decision);
    const what = decision.action ? `${decision.action} on ${decision.resource}` : decision.operation;
    this.options.progress?.(
      `[aws] ${decision.function ?? '(unknown caller)'} was refused ${what}: ${decision.message}`,
    );
    void appendFile(path.join(this.logDir, 'aws-denials.log'), `${JSON.stringify(decision)}\n`);
  }

  /** A line a function wrote: JSON lines go to the log of their execution (correlationId), others to one log. */
  private logLine(line: string): void {
    let correlation = 'pipeline';
    try {
      correlation = (JSON.parse(line) as { correlationId?: string }).correlationId ?? 'pipeline';
    } catch {
      // not JSON: goes to the shared log
    }
    void appendFile(path.join(this.logDir, `${correlation}.log`), `${line}\n`);
  }

  private objectCreated(event: {
    bucket: string;
    key: string;
    size: number;
    etag: string;
    versionId?: string;
    sequencer: string;
    reason: string;
    time: string;
  }): void {
    const bridgeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: LOCAL_ACCOUNT,
      time: event.time,
      region: LOCAL_REGION,
      resources: [`arn:aws:s3:::${event.bucket}`],
      detail: {
        version: '0',
        bucket: { name: event.bucket },
        object: {
          key: encodeEventKey(event.key),
          size: event.size,
          etag: event.etag.replaceAll('"', ''),
          'version-id': event.versionId,
          sequencer: event.sequencer,
        },
        'request-id': randomUUID(),
        requester: LOCAL_ACCOUNT,
        'source-ip-address': '127.0.0.1',
        reason: event.reason,
      },
    };
    if (!this.uploadRule || !matchesEventPattern(this.uploadRule, bridgeEvent)) return;
    const fn = this.functions['start-pipeline'];
    if (!fn) throw new Error('the template has no start-pipeline function');
    const started = this.invoke(fn, bridgeEvent) as Drop['started'];
    started.then(
      (result) => {
        if (result.status !== 'STARTED' || !result.executionName) return;
        const record: StartedRecord = {
          key: event.key,
          ...(event.versionId ? { versionId: event.versionId } : {}),
          execution: result.executionName,
          startedAt: new Date().toISOString(),
        };
        appendFileSync(this.startedFile, `${JSON.stringify(record)}\n`);
      },
      () => undefined,
    );
    this.drops.push({ key: event.key, sequencer: event.sequencer, started });
  }

  /** Uploads a CSV (and its manifest first) under incoming/, as a team would; resolves to the execution started. */
  async dropFile(file: string, options: { key?: string; manifest?: string } = {}): Promise<string> {
    const key = options.key ?? `incoming/${path.basename(file)}`;
    if (options.manifest) {
      const manifestKey = key.replace(/\.csv$/i, '.manifest.json');
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: manifestKey, Body: readFileSync(options.manifest) }),
      );
    }
    const before = this.drops.length;
    const size = statSync(file).size;
    const put = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: 'text/csv',
      }),
    );
    // An endpoint such as moto emits no EventBridge events: the runner sends the Object Created event S3
    // would, with a sequencer of its own that grows with every write, as S3's does.
    if (this.options.s3Endpoint) {
      this.objectCreated({
        bucket: this.bucket,
        key,
        size,
        etag: put.ETag ?? '',
        ...(put.VersionId ? { versionId: put.VersionId } : {}),
        sequencer: nextSequencer(),
        reason: 'PutObject',
        time: new Date().toISOString(),
      });
    }
    const drop = this.drops.slice(before).find((d) => d.key === key);
    if (!drop) throw new LocalUsageError(`no pipeline was triggered for s3://${this.bucket}/${key}`);
    const result = await drop.started;
    if (result.status !== 'STARTED' || !result.executionName) {
      throw new LocalUsageError(
        `start-pipeline did not start an execution for ${key}: ${result.reason ?? result.status}`,
      );
    }
    return result.executionName;
  }

  private report(
    execution: LocalExecution,
    event: {
      type: string;
      stateName?: string;
      error?: string;
      cause?: string;
      output?: unknown;
      retryAttempt?: number;
    },
  ): void {
    const progress = this.options.progress;
    if (!progress) return;
    const tag = this.options.progressWithFile
      ? `[${execution.name} ${fileKeyOf(execution)}]`
      : `[${execution.name}]`;
    if (event.type === 'StateExited' && event.stateName) {
      const detail = describeState(event.stateName, event.output);
      if (detail) progress(`${tag} ${event.stateName}: ${detail}`);
      this.showNotifications(execution.name);
    } else if (event.type === 'StateRetried') {
      progress(`${tag} ${event.stateName}: retrying (attempt ${(event.retryAttempt ?? 0) + 1})`);
    } else if (event.type === 'StateFailed') {
      progress(`${tag} ${event.stateName}: ${event.error}: ${causeText(event.cause)}`);
    }
  }

  private async executionClosed(execution: LocalExecution): Promise<void> {
    await this.recordFailure(execution);
    const onClosed = this.options.onExecutionClosed;
    if (onClosed) onClosed(await this.summarize(execution));
  }

  private async recordFailure(execution: LocalExecution): Promise<void> {
    if (execution.status === 'SUCCEEDED') return;
    // The EventBridge rule on the execution's status: only for FAILED/TIMED_OUT/ABORTED, as in AWS.
    const statusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: LOCAL_ACCOUNT,
      time: new Date().toISOString(),
      region: LOCAL_REGION,
      resources: [execution.arn],
      detail: {
        executionArn: execution.arn,
        stateMachineArn: this.sfn.stateMachineArn,
        name: execution.name,
        status: execution.status,
        startDate: execution.startDate.getTime(),
        stopDate: execution.stopDate?.getTime() ?? Date.now(),
        input: execution.input,
        output: null,
        error: execution.error ?? null,
        cause: execution.cause ?? null,
      },
    };
    const fn = this.functions['record-execution-failure'];
    if (fn && this.statusRule && matchesEventPattern(this.statusRule, statusEvent)) {
      try {
        await this.invoke(fn, statusEvent);
        this.showNotifications(execution.name);
      } catch (error) {
        this.options.progress?.(
          `[${execution.name}] the failure report could not be written: ${(error as Error).message}`,
        );
      }
    }
  }

  /** The outcome notifications published for an execution so far (the local stand-in for the SNS topic). */
  notifications(executionName: string): NotificationMessage[] {
    if (!existsSync(this.notificationsFile)) return [];
    return readFileSync(this.notificationsFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as NotificationMessage)
      .filter((message) => message.document.execution === executionName);
  }

  /** Progress lines for the notifications of an execution not shown yet. */
  private showNotifications(executionName: string): void {
    const progress = this.options.progress;
    if (!progress) return;
    const messages = this.notifications(executionName);
    const shown = this.notificationsShown.get(executionName) ?? 0;
    for (const message of messages.slice(shown)) {
      progress(`[${executionName}] notified (${this.notificationsFile}): ${message.subject}`);
    }
    this.notificationsShown.set(executionName, messages.length);
  }

  /** Waits for an execution to close and summarises it in the shape of `run --json` (DESIGN §5). */
  async waitFor(executionName: string): Promise<ExecutionSummary> {
    const execution = this.sfn.get(executionName);
    if (!execution) throw new LocalUsageError(`no execution named ${executionName}`);
    await execution.done;
    return this.summarize(execution);
  }

  async summarize(execution: LocalExecution): Promise<ExecutionSummary> {
    const lastState: Json =
      execution.status === 'SUCCEEDED'
        ? execution.output
        : ([...execution.history].reverse().find((e) => e.type === 'StateExited' && e.output)?.output ??
          JSON.parse(execution.input));
    const validation = lastState?.validation;
    const reports: Record<string, string> = {};
    if (validation?.reports?.validation) reports.validation = validation.reports.validation;
    if (validation?.reports?.rejects) reports.rejects = validation.reports.rejects;
    const summary: ExecutionSummary = {
      status: execution.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
      execution: execution.name,
      executionArn: execution.arn,
      file: lastState?.file?.key ?? '',
      audienceId: lastState?.audience?.audienceId ?? null,
      audienceName: lastState?.audience?.name ?? validation?.audience?.name ?? null,
      replaced: replacedOf(lastState?.audience?.replaces),
      runId: lastState?.ingestion?.runId ?? null,
      refreshed: Boolean(lastState?.audience?.refreshed),
      destinations: [],
      validation: validation
        ? {
            valid: validation.valid,
            rows: validation.rows,
            invalidRows: validation.invalidRows,
            invalidByCode: validation.invalidByCode,
            identities: validation.identities,
          }
        : null,
      reports,
    };
    if (execution.status === 'SUCCEEDED') {
      summary.destinations = (lastState.activation?.destinations ?? []).map((d: Json) => ({
        flowId: d.flowId,
        status: d.status,
      }));
      reports.result = lastState.result?.resultKey ?? `reports/${execution.name}/result.json`;
      return summary;
    }
    reports.error = `reports/${execution.name}/error.json`;
    const errorReport = await this.readJson(reports.error);
    summary.error = {
      code: errorReport?.code ?? execution.error ?? 'UNKNOWN',
      message: errorReport?.message ?? causeText(execution.cause),
    };
    summary.destinations = (lastState?.activation?.destinations ?? validation?.destinations ?? []).map(
      (d: Json) => ({
        flowId: d.flowId,
        status: d.status ?? 'FAILED',
      }),
    );
    return summary;
  }

  async readJson(key: string): Promise<Json | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await object.Body!.transformToString());
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
    if (!existsSync(this.startedFile)) return [];
    return readFileSync(this.startedFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as StartedRecord);
  }

  /**
   * Stops every running execution as StopExecution would (ABORTED, which the status rule reports in
   * error.json), and waits for them to close and for the handlers still running to return.
   */
  async interrupt(): Promise<LocalExecution[]> {
    // Uploads whose start-pipeline call is still going: let them start (or not) first, so none is missed.
    await Promise.allSettled(this.drops.map((d) => d.started));
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

let sequence = 0;
/** S3's sequencer: hexadecimal, larger for each later write (the time, then a counter within this process). */
function nextSequencer(): string {
  sequence += 1;
  return `${Date.now().toString(16)}${sequence.toString(16).padStart(8, '0')}`.toUpperCase();
}

/** The `incoming/…` key an execution was started for, from its input. */
function fileKeyOf(execution: LocalExecution): string {
  try {
    return (JSON.parse(execution.input) as { file?: { key?: string } }).file?.key ?? '';
  } catch {
    return '';
  }
}

/**
 * Keys in S3 event notifications are URL-encoded as a form (`red flower.jpg` → `red+flower.jpg`, `/` kept);
 * start-pipeline decodes them (S3_EVENT_KEY_ENCODING=url), so the local events carry them the same way.
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
}

/** Objects in the staging folder `sourcePath` (with or without the bucket) modified within [start, end]. */
async function countSourceFiles(
  s3: S3Client,
  sourcePath: string,
  startSec: number,
  endSec?: number,
): Promise<number> {
  const folder = sourcePath.startsWith(`${LOCAL_BUCKET}/`)
    ? sourcePath.slice(LOCAL_BUCKET.length + 1)
    : sourcePath;
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, Prefix: `${folder.replace(/\/+$/, '')}/` }),
  );
  return (listed.Contents ?? []).filter((o) => {
    const modified = Math.floor((o.LastModified?.getTime() ?? 0) / 1000);
    return modified >= startSec && (endSec === undefined || modified <= endSec);
  }).length;
}

/** With --aep-url: the secret's value from the AEP_* variables, and the client's retry settings if set. */
function aepSettingsFromProcess(aepUrl: string): {
  secret: Record<string, string>;
  environment: Record<string, string>;
} {
  const keys = {
    clientId: 'AEP_CLIENT_ID',
    clientSecret: 'AEP_CLIENT_SECRET',
    orgId: 'AEP_ORG_ID',
    sandboxName: 'AEP_SANDBOX_NAME',
    baseConnectionId: 'AEP_BASE_CONNECTION_ID',
  };
  const missing = Object.values(keys).filter((name) => !process.env[name]);
  if (missing.length) {
    throw new LocalUsageError(`--aep-url needs the environment variables ${missing.join(', ')}`);
  }
  const base = aepUrl.replace(/\/+$/, '');
  const secret: Record<string, string> = { imsUrl: base, platformUrl: base };
  for (const [key, name] of Object.entries(keys)) secret[key] = process.env[name] ?? '';
  if (process.env.AEP_SCOPES) secret.scopes = process.env.AEP_SCOPES;
  const environment: Record<string, string> = {};
  for (const name of ['AEP_RETRY_BASE_MS', 'AEP_RETRY_MAX_DELAY_MS']) {
    const value = process.env[name];
    if (value) environment[name] = value;
  }
  return { secret, environment };
}

export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

function formatCount(n: unknown): string {
  return typeof n === 'number' ? n.toLocaleString('en-US') : String(n);
}

/** One readable line for a state that just finished, from the part of the state it wrote. */
function describeState(stateName: string, output: Json): string | undefined {
  switch (stateName) {
    case 'ValidateFile': {
      const v = output?.validation;
      if (!v) return undefined;
      const ids = Object.entries(v.identities ?? {})
        .map(([ns, n]) => `${ns} ${formatCount(n)}`)
        .join(', ');
      return v.valid
        ? `${formatCount(v.rows)} rows, ${formatCount(v.invalidRows)} invalid; identities: ${ids || 'none'}`
        : `rejected: ${v.failure?.code}: ${v.failure?.message}`;
    }
    case 'CreateAudience':
    case 'CheckAudience': {
      const a = output?.audience;
      if (!a) return undefined;
      if (a.status === 'READY') {
        const replacing = a.replaces?.length
          ? `, replacing "${a.replaces[0].name}" (it has had its runs)`
          : '';
        return `${a.refreshed ? 'refreshing' : 'created'} audience "${a.name}" (${a.audienceId})${replacing}`;
      }
      return `AEP is creating audience "${a.name}" (check ${a.poll?.attempt ?? 0}, next in ${a.poll?.waitSeconds}s)`;
    }
    case 'StartIngestion':
    case 'CheckIngestion': {
      const i = output?.ingestion;
      if (!i) return undefined;
      if (i.status === 'SUCCESS') return `ingestion run ${i.runId} succeeded`;
      if (i.status === 'WAITING') return `waiting for ${i.waitingFor}, next check in ${i.poll?.waitSeconds}s`;
      const stages = (i.details ?? []).map((d: Json) => `${d.stage} ${d.status}`).join(', ');
      return `ingestion run ${i.runId} in progress${stages ? ` (${stages})` : ''}, next check in ${i.poll?.waitSeconds}s`;
    }
    case 'ActivateDestinations': {
      const d = output?.activation?.destinations ?? [];
      if (d.length === 0) return 'no destinations to activate';
      return d.map((x: Json) => `${x.flowId} ${x.status}`).join(', ');
    }
    case 'ArchiveFile':
      return output?.result ? `original moved to ${output.result.archivedKey}` : undefined;
    case 'HandleFailure':
      return output?.failure
        ? `original moved to ${output.failure.failedKey ?? 'failed/'}; ${output.failure.code}`
        : undefined;
    default:
      return undefined;
  }
}
