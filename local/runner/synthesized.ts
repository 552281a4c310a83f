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

/** Resolves the intrinsic functions CDK emits (Ref, Fn::GetAtt, Fn::Join, Fn::Sub) to local values. */
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
      const resolved = parts.map((p) => resolveIntrinsics(p, template, names));
      if (resolved.some((p) => p === UNRESOLVED)) return UNRESOLVED;
      return resolved.join(separator);
    }
    if (fn === 'Fn::Sub' && typeof arg === 'string') {
      return arg.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        const [id, attr] = name.split('.');
        const r = attr ? resolveGetAtt(id, attr, template, names) : resolveRef(id ?? '', template, names);
        return r === UNRESOLVED ? '' : String(r);
      });
    }
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolveIntrinsics(v, template, names);
  return out;
}

function resourceType(template: Json, logicalId: string): string | undefined {
  return template.Resources?.[logicalId]?.Type;
}

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
      return names.bucketName;
    case 'AWS::DynamoDB::Table':
    case 'AWS::DynamoDB::GlobalTable':
      return names.tableName;
    case 'AWS::StepFunctions::StateMachine':
      return names.stateMachineArn;
    case 'AWS::Lambda::Function':
      return id;
    default:
      // Secrets, queues, topics: locally there is no such resource. The variable is left out.
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
  if (type === 'AWS::Lambda::Function' && attribute === 'Arn') {
    return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}`;
  }
  if (type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:aws:s3:::${names.bucketName}`;
  if (type === 'AWS::StepFunctions::StateMachine' && attribute === 'Name') {
    return names.stateMachineArn.split(':').pop();
  }
  return UNRESOLVED;
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
