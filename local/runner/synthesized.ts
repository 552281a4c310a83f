// Reads the state machine and the task functions out of the CloudFormation template that `cdk synth`
// produces, so the local runner executes that very definition with the real handlers.
import type { StateMachineDefinition } from 'aws-local-stepfunctions';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Json = any;

export interface LocalPhysicalNames {
  bucketName: string;
  tableName: string;
  stateMachineArn: string;
}

export interface TaskFunction {
  logicalId: string;
  /** Repository-relative handler module, from the template metadata `aep:handler`. */
  handlerFile: string;
  /** The function's environment with every CloudFormation token resolved to its local stand-in. */
  environment: Record<string, string>;
  /** Lambda's defaults where the template sets none: 3 s, 128 MB. */
  timeoutSeconds: number;
  memoryMb: number;
}

export interface SynthesizedPipeline {
  definition: StateMachineDefinition;
  /** Task state name → the function it invokes. */
  taskStates: Record<string, TaskFunction>;
  /** Every function in the template that carries `aep:handler`, by handler folder name. */
  functions: Record<string, TaskFunction>;
}

const UNRESOLVED = Symbol('unresolved');

/** True for what `resolveIntrinsics` yields where a token has no local value. */
export function isUnresolved(value: unknown): value is typeof UNRESOLVED {
  return value === UNRESOLVED;
}

/**
 * The path (`.Statement[2].Resource`) of the first token in a resolved value that has no local value, or
 * undefined when everything resolved.
 */
export function unresolvedPath(value: unknown, path = ''): string | undefined {
  if (value === UNRESOLVED) return path || '(the value itself)';
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = unresolvedPath(item, `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, item] of Object.entries(value)) {
    const found = unresolvedPath(item, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/** Resolves the intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split). */
export function resolveIntrinsics(
  value: Json,
  template: Json,
  names: LocalPhysicalNames,
): Json | typeof UNRESOLVED {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, template, names));
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const [fn] = keys as [string];
    const arg = value[fn];
    if (fn === 'Ref') return resolveRef(arg, template, names);
    if (fn === 'Fn::GetAtt') {
      const [logicalId, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
      return resolveGetAtt(logicalId, attribute, template, names);
    }
    if (fn === 'Fn::Join') {
      const [separator, parts] = arg as [string, Json[]];
      const resolved = resolveIntrinsics(parts, template, names);
      if (!Array.isArray(resolved) || resolved.some((p) => p === UNRESOLVED)) return UNRESOLVED;
      return resolved.join(separator);
    }
    if (fn === 'Fn::Select') {
      const [index, list] = arg as [Json, Json];
      const resolvedIndex = resolveIntrinsics(index, template, names);
      const resolvedList = resolveIntrinsics(list, template, names);
      if (!Array.isArray(resolvedList) || resolvedIndex === UNRESOLVED) return UNRESOLVED;
      const item = resolvedList[Number(resolvedIndex)];
      return item === undefined ? UNRESOLVED : item;
    }
    if (fn === 'Fn::Split') {
      const [separator, source] = arg as [string, Json];
      const resolved = resolveIntrinsics(source, template, names);
      return typeof resolved === 'string' ? resolved.split(separator) : UNRESOLVED;
    }
    if (fn === 'Fn::Sub') {
      const [text, variables] = (typeof arg === 'string' ? [arg, {}] : arg) as [string, Record<string, Json>];
      let unresolved = false;
      const substituted = text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
        const [id = '', attr] = name.split('.');
        const r =
          name in variables
            ? resolveIntrinsics(variables[name], template, names)
            : attr
              ? resolveGetAtt(id, attr, template, names)
              : resolveRef(id, template, names);
        if (r === UNRESOLVED || typeof r === 'object') unresolved = true;
        return String(r);
      });
      return unresolved ? UNRESOLVED : substituted.replace(/\$\{!/g, '${');
    }
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolveIntrinsics(v, template, names);
  return out;
}

function resourceType(template: Json, logicalId: string): string | undefined {
  return template.Resources?.[logicalId]?.Type;
}

const arnPrefix = (service: string) => `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}`;

/** A name the resource sets itself, when it is a plain string, else its logical id. */
function ownName(template: Json, logicalId: string, property: string): string {
  const name = template.Resources?.[logicalId]?.Properties?.[property];
  return typeof name === 'string' ? name : logicalId;
}

/**
 * The local bucket name: the pipeline's bucket is `names.bucketName`; a bucket that only receives another
 * bucket's access logs gets `<bucketName>-<logicalid>`, so the two never share a name (and a policy).
 */
function bucketName(template: Json, logicalId: string, names: LocalPhysicalNames): string {
  const logTargets = new Set<string>();
  for (const resource of Object.values<Json>(template.Resources ?? {})) {
    const target = resource.Properties?.LoggingConfiguration?.DestinationBucketName?.Ref;
    if (resource.Type === 'AWS::S3::Bucket' && typeof target === 'string') logTargets.add(target);
  }
  return logTargets.has(logicalId) ? `${names.bucketName}-${logicalId.toLowerCase()}` : names.bucketName;
}

/** Secrets Manager appends six random characters to a secret's name in its ARN; locally always these. */
export const LOCAL_SECRET_SUFFIX = 'AbCdEf';

function resolveRef(id: string, template: Json, names: LocalPhysicalNames): Json {
  switch (id) {
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::Region':
      return LOCAL_REGION;
    case 'AWS::AccountId':
      return LOCAL_ACCOUNT;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return 'local';
  }
  switch (resourceType(template, id)) {
    case 'AWS::S3::Bucket':
      return bucketName(template, id, names);
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return names.tableName;
    case 'AWS::StepFunctions::StateMachine':
      return names.stateMachineArn;
    case 'AWS::Lambda::Function':
      return id;
    case 'AWS::SNS::Topic':
      return `${arnPrefix('sns')}:${ownName(template, id, 'TopicName')}`;
    case 'AWS::SecretsManager::Secret':
      return `${arnPrefix('secretsmanager')}:secret:${ownName(template, id, 'Name')}-${LOCAL_SECRET_SUFFIX}`;
    case 'AWS::SQS::Queue':
      return `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${ownName(template, id, 'QueueName')}`;
    case 'AWS::KMS::Key':
      return id;
    case 'AWS::IAM::Role':
      return ownName(template, id, 'RoleName');
    case 'AWS::IAM::User':
      return ownName(template, id, 'UserName');
    case 'AWS::Logs::LogGroup':
      return ownName(template, id, 'LogGroupName');
    case 'AWS::Events::Rule':
      return ownName(template, id, 'Name');
    default:
      // Alarms, dashboards, policies, permissions: nothing a handler or a policy names locally.
      return UNRESOLVED;
  }
}

function resolveGetAtt(
  id: string | undefined,
  attribute: string | undefined,
  template: Json,
  names: LocalPhysicalNames,
): Json {
  if (!id) return UNRESOLVED;
  const type = resourceType(template, id);
  const key = `${type} ${attribute}`;
  switch (key) {
    case 'AWS::Lambda::Function Arn':
      return `${arnPrefix('lambda')}:function:${id}`;
    case 'AWS::S3::Bucket Arn':
      return `arn:aws:s3:::${bucketName(template, id, names)}`;
    case 'AWS::StepFunctions::StateMachine Arn':
      return names.stateMachineArn;
    case 'AWS::StepFunctions::StateMachine Name':
      return names.stateMachineArn.split(':').pop();
    case 'AWS::DynamoDB::Table Arn':
    case 'AWS::DynamoDB::GlobalTable Arn':
      return `${arnPrefix('dynamodb')}:table/${names.tableName}`;
    case 'AWS::SNS::Topic TopicArn':
      return resolveRef(id, template, names);
    case 'AWS::SNS::Topic TopicName':
      return ownName(template, id, 'TopicName');
    case 'AWS::SQS::Queue Arn':
      return `${arnPrefix('sqs')}:${ownName(template, id, 'QueueName')}`;
    case 'AWS::SQS::Queue QueueName':
      return ownName(template, id, 'QueueName');
    case 'AWS::SQS::Queue QueueUrl':
      return resolveRef(id, template, names);
    case 'AWS::KMS::Key Arn':
      return `${arnPrefix('kms')}:key/${id}`;
    case 'AWS::KMS::Key KeyId':
      return id;
    case 'AWS::IAM::Role Arn':
      return `arn:aws:iam::${LOCAL_ACCOUNT}:role/${ownName(template, id, 'RoleName')}`;
    case 'AWS::IAM::User Arn':
      return `arn:aws:iam::${LOCAL_ACCOUNT}:user/${ownName(template, id, 'UserName')}`;
    case 'AWS::Logs::LogGroup Arn':
      return `${arnPrefix('logs')}:log-group:${ownName(template, id, 'LogGroupName')}:*`;
    case 'AWS::Events::Rule Arn':
      return `${arnPrefix('events')}:rule/${ownName(template, id, 'Name')}`;
    default:
      return UNRESOLVED;
  }
}

function lambdaLogicalIdFromArn(resource: string): string | undefined {
  const match = /^arn:aws:lambda:[^:]+:[^:]+:function:([^:]+)/.exec(resource);
  return match?.[1];
}

/** Extracts the definition and task functions from a synthesized template. */
export function readSynthesizedPipeline(template: Json, names: LocalPhysicalNames): SynthesizedPipeline {
  const resources: Record<string, Json> = template.Resources ?? {};
  const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) {
    throw new Error(`expected one state machine in the template, found ${machines.length}`);
  }
  const [, machine] = machines[0]!;
  const definitionString = resolveIntrinsics(machine.Properties.DefinitionString, template, names);
  if (typeof definitionString !== 'string')
    throw new Error('the state machine definition could not be resolved');
  const definition = JSON.parse(definitionString) as StateMachineDefinition;

  const functions: Record<string, TaskFunction> = {};
  const byLogicalId: Record<string, TaskFunction> = {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    const handlerFile = resource.Metadata?.['aep:handler'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof handlerFile !== 'string') continue;
    const environment: Record<string, string> = {};
    for (const [name, raw] of Object.entries(resource.Properties?.Environment?.Variables ?? {})) {
      const resolved = resolveIntrinsics(raw, template, names);
      if (resolved !== UNRESOLVED && resolved !== undefined) environment[name] = String(resolved);
    }
    const fn: TaskFunction = {
      logicalId,
      handlerFile,
      environment,
      timeoutSeconds: Number(resource.Properties?.Timeout ?? 3),
      memoryMb: Number(resource.Properties?.MemorySize ?? 128),
    };
    const folder = handlerFile.split('/').at(-2) ?? logicalId;
    functions[folder] = fn;
    byLogicalId[logicalId] = fn;
  }

  const taskStates: Record<string, TaskFunction> = {};
  for (const [stateName, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    const logicalId = lambdaLogicalIdFromArn(state.Resource);
    const fn = logicalId ? byLogicalId[logicalId] : undefined;
    if (!fn) throw new Error(`Task state ${stateName} invokes ${state.Resource}, which has no local handler`);
    taskStates[stateName] = fn;
  }
  return { definition, taskStates, functions };
}
