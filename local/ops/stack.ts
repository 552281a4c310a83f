// Finds the deployed pipeline by its CloudFormation stack: the outputs lib/pipeline-stack.ts declares.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { PROJECT_ROOT } from '../runner/template.ts';
import { OpsError } from './aws.ts';

/** lib/config.ts's default `stackName`, used when cdk.json does not set one. */
const CONFIG_DEFAULT_STACK_NAME = 'AepAudiencePipeline';

export interface PipelineStackOutputs {
  stackName: string;
  bucketName: string;
  stateMachineArn: string;
  /** The registry table and the function `audiences delete` invokes (absent on stacks deployed before them). */
  registryTableName?: string;
  deleteAudienceFunctionName?: string;
}

/** The stack name this app deploys: cdk.json's `pipeline.stackName`, else the configuration's default. */
export function appStackName(cdkJsonPath = path.join(PROJECT_ROOT, 'cdk.json')): string {
  try {
    const cdkJson = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as {
      context?: { pipeline?: { stackName?: unknown } };
    };
    const name = cdkJson.context?.pipeline?.stackName;
    return typeof name === 'string' && name ? name : CONFIG_DEFAULT_STACK_NAME;
  } catch {
    return CONFIG_DEFAULT_STACK_NAME;
  }
}

export async function resolveStack(
  cfn: CloudFormationClient,
  stackName: string,
): Promise<PipelineStackOutputs> {
  let outputs: Record<string, string>;
  try {
    const { Stacks } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries(
      (Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
    if ((error as Error).name === 'ValidationError' && /does not exist/i.test((error as Error).message)) {
      const region = await cfn.config.region().catch(() => 'the current region');
      throw new OpsError(
        `stack "${stackName}" was not found in ${region}: deploy it (npx cdk deploy), or name the deployed ` +
          'one with --stack NAME and its region with --region',
        2,
      );
    }
    throw error;
  }
  const bucketName = outputs.BucketName;
  const stateMachineArn = outputs.StateMachineArn;
  if (!bucketName || !stateMachineArn) {
    throw new OpsError(
      `stack "${stackName}" has no BucketName/StateMachineArn outputs: is it this pipeline's stack?`,
      2,
    );
  }
  return {
    stackName,
    bucketName,
    stateMachineArn,
    ...(outputs.RegistryTableName ? { registryTableName: outputs.RegistryTableName } : {}),
    ...(outputs.DeleteAudienceFunctionName
      ? { deleteAudienceFunctionName: outputs.DeleteAudienceFunctionName }
      : {}),
  };
}
