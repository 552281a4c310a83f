// Starts the services a local pipeline runs on, in order, each added to the closers as it starts: the S3
// backend, dynalite with the registry table, Step Functions and its endpoint, the AWS endpoint, the AEP
// target, and the functions' execution environments.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { TEAMS_ENV, type TeamRuntimeSettings } from '../../functions/shared/teams.ts';
import type { GatewayDecision, PublishedMessage } from '../iam/gateway.ts';
import type { AepTarget } from './aep-target.ts';
import { type AwsEndpoint, startAwsEndpoint } from './aws-endpoint.ts';
import type { ObjectCreated } from './events.ts';
import { functionSpecs } from './function-environments.ts';
import { LambdaPool } from './lambda-pool.ts';
import { LOCAL_PHYSICAL_NAMES, LOCAL_STATE_MACHINE, LOCAL_TABLE } from './local-names.ts';
import type { LocalPipelineOptions } from './options.ts';
import { startS3Backend } from './s3-backend.ts';
import { startSfnEndpoint } from './sfn-endpoint.ts';
import { type HistoryEvent, type LocalExecution, LocalStepFunctions } from './step-functions.ts';
import {
  type Json,
  LOCAL_REGION,
  readSynthesizedPipeline,
  resolveIntrinsics,
  type TaskFunction,
} from './synthesized.ts';
import { loadTemplate } from './template.ts';

export type Closer = () => Promise<void> | void;

/** What the services call back into the pipeline for. */
export interface BootHooks {
  /** An S3 write the embedded server reports (before the pipeline is ready, it may ignore it). */
  objectCreated(event: ObjectCreated): void;
  invoke(fn: TaskFunction, payload: unknown): Promise<unknown>;
  stateEvent(execution: LocalExecution, event: HistoryEvent): void;
  executionClosed(execution: LocalExecution): Promise<void>;
  published(message: PublishedMessage): void;
  decided(decision: GatewayDecision): void;
  logLine(line: string): void;
}

export interface LocalServices {
  /** The handler folder → its function, for every function in the template. */
  functions: Record<string, TaskFunction>;
  /** The synthesized EventBridge patterns: uploads to the bucket, and the state machine's status changes. */
  uploadRule: Json;
  statusRule: Json;
  s3Url: string;
  dynamoUrl: string;
  sfn: LocalStepFunctions;
  sfnUrl: string;
  endpoint: AwsEndpoint;
  /** The administrator's S3 client, through the AWS endpoint. */
  s3: S3Client;
  aep: AepTarget;
  /** The AEP credentials secret the functions read (from their environment's AEP_SECRET_ARN). */
  aepSecretArn: string | undefined;
  pool: LambdaPool;
}

/** The teams' own secrets and topics, from the functions' PIPELINE_TEAMS (functions/shared/teams.ts). */
export function teamResources(functions: Record<string, TaskFunction>): {
  secretArns: string[];
  topicArns: string[];
  sandboxNames: string[];
  baseConnectionIds: string[];
  identityNamespaces: string[];
} {
  const secretArns = new Set<string>();
  const topicArns = new Set<string>();
  const sandboxNames = new Set<string>();
  const baseConnectionIds = new Set<string>();
  const identityNamespaces = new Set<string>();
  for (const fn of Object.values(functions)) {
    const raw = fn.environment[TEAMS_ENV];
    if (!raw) continue;
    for (const team of Object.values(JSON.parse(raw) as Record<string, TeamRuntimeSettings>)) {
      if (team.secretArn) secretArns.add(team.secretArn);
      if (team.topicArn) topicArns.add(team.topicArn);
      if (team.sandboxName) sandboxNames.add(team.sandboxName);
      if (team.baseConnectionId) baseConnectionIds.add(team.baseConnectionId);
      for (const namespace of Object.values(team.identityNamespaces ?? {})) identityNamespaces.add(namespace);
    }
  }
  return {
    secretArns: [...secretArns],
    topicArns: [...topicArns],
    sandboxNames: [...sandboxNames],
    baseConnectionIds: [...baseConnectionIds],
    identityNamespaces: [...identityNamespaces],
  };
}

/** The synthesized rules' event patterns, resolved, by what they listen to. */
function eventRules(template: Json): { uploadRule: Json; statusRule: Json } {
  const rules: { uploadRule: Json; statusRule: Json } = { uploadRule: undefined, statusRule: undefined };
  for (const resource of Object.values<Json>(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const pattern = resolveIntrinsics(resource.Properties.EventPattern, template, LOCAL_PHYSICAL_NAMES);
    if (pattern?.source?.includes('aws.s3')) rules.uploadRule = pattern;
    if (pattern?.source?.includes('aws.states')) rules.statusRule = pattern;
  }
  return rules;
}

/**
 * Starts everything; whatever started is in `closers` (in start order) even when a later step throws, so the
 * caller closes it in reverse.
 */
export async function bootServices(
  options: LocalPipelineOptions,
  settings: { timeScale: number; dataRoot: string },
  hooks: BootHooks,
  closers: Closer[],
): Promise<LocalServices> {
  const { timeScale, dataRoot } = settings;
  const [{ startDynalite, ensureRegistryTable }, iam] = await Promise.all([
    import('../dynamo.ts'),
    import('../iam/template-policies.ts'),
  ]);
  mkdirSync(dataRoot, { recursive: true });

  const cacheDir = path.join(path.dirname(options.stateDir), '.cache');
  const bundles =
    options.code === 'bundle'
      ? await (await import('./bundles.ts')).buildBundles({ cacheDir, context: options.context })
      : undefined;
  const template = bundles?.template ?? (await loadTemplate({ cacheDir, context: options.context }));
  const synthesized = readSynthesizedPipeline(template, LOCAL_PHYSICAL_NAMES);
  const policies = iam.readTemplatePolicies(template, LOCAL_PHYSICAL_NAMES);
  const teams = teamResources(synthesized.functions);
  // A team's existing topic (`notifications.topicArn`) is not in the template: it exists, as in AWS.
  for (const arn of teams.topicArns) policies.topics[arn] ??= { logicalId: `TeamTopic(${arn})` };

  const s3Backend = await startS3Backend({
    ...(options.s3Endpoint ? { s3Endpoint: options.s3Endpoint } : {}),
    dataRoot,
    ...(options.s3Host ? { host: options.s3Host } : {}),
    ...(options.s3Port !== undefined ? { port: options.s3Port } : {}),
    policies,
    onObjectCreated: (event) => hooks.objectCreated(event),
  });
  closers.push(() => s3Backend.close());

  const dynamo = await startDynalite(options.ephemeral ? {} : { path: path.join(dataRoot, 'registry') });
  closers.push(() => dynamo.close());
  const ddb = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureRegistryTable(ddb, LOCAL_TABLE);
  ddb.destroy();

  const sfn = new LocalStepFunctions({
    definition: synthesized.definition,
    stateMachineName: LOCAL_STATE_MACHINE,
    timeScale,
    invokeTask: (stateName, payload) => hooks.invoke(synthesized.taskStates[stateName]!, payload),
    onEvent: (execution, event) => hooks.stateEvent(execution, event),
    onClosed: (execution) => hooks.executionClosed(execution),
  });
  const sfnEndpoint = await startSfnEndpoint(sfn);
  closers.push(() => sfnEndpoint.close());

  // Every AWS call of every function goes through the gateway, which authorizes it against the function's
  // synthesized statements and the resource policies, then passes it to S3, DynamoDB or Step Functions, or
  // answers it itself (Secrets Manager's GetSecretValue, SNS Publish).
  const endpoint = await startAwsEndpoint({
    policies,
    backends: { s3: s3Backend.url, dynamodb: dynamo.endpoint, states: sfnEndpoint.url },
    admin: s3Backend.admin,
    resignForMoto: s3Backend.judge !== undefined,
    onPublish: (message) => hooks.published(message),
    onDecision: (decision) => hooks.decided(decision),
  });
  closers.push(() => endpoint.gateway.close());
  const s3 = new S3Client({
    endpoint: endpoint.gateway.url,
    region: LOCAL_REGION,
    forcePathStyle: true,
    credentials: s3Backend.admin,
  });
  closers.push(() => s3.destroy());

  const { startAepTarget } = await import('./aep-target.ts');
  const { SIMULATOR_DEFAULT_CREDENTIALS } = await import('../aep-simulator/index.ts');
  // The simulator lets the client into the teams' sandboxes too, and knows their base connections.
  const teamSimulator = teams.sandboxNames.length
    ? {
        extraSandboxNames: teams.sandboxNames,
        baseConnectionIds: [SIMULATOR_DEFAULT_CREDENTIALS.baseConnectionId, ...teams.baseConnectionIds],
      }
    : {};
  // The stack's and the teams' custom identity namespaces (CRMID…) exist in the simulated sandbox, as an
  // operator creates them in the real one; the standard ones the simulator knows.
  const customNamespaces = [
    ...new Set([
      ...Object.values(synthesized.functions).flatMap((fn) =>
        Object.values(JSON.parse(fn.environment.IDENTITY_NAMESPACES ?? '{}') as Record<string, string>),
      ),
      ...teams.identityNamespaces,
    ]),
  ];
  const aep = await startAepTarget({
    ...(options.aepUrl ? { aepUrl: options.aepUrl } : {}),
    timeScale,
    ...(options.ephemeral ? {} : { dataRoot }),
    simulator: { ...teamSimulator, customNamespaces, ...options.simulator },
    s3: () => s3,
  });
  closers.push(() => aep.close());
  // The AEP credentials secret holds what Secrets Manager would: the functions fetch it through the endpoint.
  const aepSecretArn = Object.values(synthesized.functions)
    .map((fn) => fn.environment.AEP_SECRET_ARN)
    .find((arn) => arn !== undefined);
  if (aepSecretArn) endpoint.gateway.putSecretValue(aepSecretArn, JSON.stringify(aep.secret));
  // A team's own secret (another organization in AWS) holds the same local credentials: the team's sandbox
  // and base connection come from its settings, not from the secret.
  const { sandboxName: _sandbox, baseConnectionId: _connection, ...credentialsOnly } = aep.secret;
  for (const arn of teams.secretArns) {
    if (arn !== aepSecretArn) endpoint.gateway.putSecretValue(arn, JSON.stringify(credentialsOnly));
  }

  const pool = new LambdaPool({
    code: options.code ?? 'source',
    functions: functionSpecs({
      functions: synthesized.functions,
      policies,
      endpoint,
      ...(s3Backend.judge ? { judge: s3Backend.judge } : {}),
      ...(bundles
        ? {
            bundleDirs: Object.fromEntries(
              Object.entries(bundles.functions).map(([name, fn]) => [name, fn.bundleDir]),
            ),
          }
        : {}),
      aepEnvironment: aep.environment,
      ...(options.functionEnvironment ? { extraEnvironment: options.functionEnvironment } : {}),
    }),
    onLogLine: (_fn, line) => hooks.logLine(line),
  });
  closers.push(() => pool.close());

  return {
    functions: synthesized.functions,
    ...eventRules(template),
    s3Url: s3Backend.url,
    dynamoUrl: dynamo.endpoint,
    sfn,
    sfnUrl: sfnEndpoint.url,
    endpoint,
    s3,
    aep,
    aepSecretArn,
    pool,
  };
}
