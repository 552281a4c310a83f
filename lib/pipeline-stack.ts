// The pipeline's one stack: composes the constructs, each of which owns one concern.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config.ts';
import { AepCredentials } from './constructs/aep-credentials.ts';
import { AepSourceAccess } from './constructs/aep-source-access.ts';
import { AudienceRegistry } from './constructs/audience-registry.ts';
import { DropBucket } from './constructs/drop-bucket.ts';
import { ExecutionFailureRule } from './constructs/execution-failure-rule.ts';
import { PipelineTasks } from './constructs/pipeline-tasks.ts';
import { Trigger } from './constructs/trigger.ts';
import { Workflow } from './constructs/workflow.ts';
import { acknowledgeNagFindings } from './nag.ts';

export interface PipelineStackProps extends StackProps {
  config: PipelineConfig;
}

export class PipelineStack extends Stack {
  readonly dropBucket: DropBucket;
  readonly registry: AudienceRegistry;
  readonly credentials: AepCredentials;
  readonly tasks: PipelineTasks;
  readonly workflow: Workflow;
  readonly trigger: Trigger;
  readonly executionFailureRule: ExecutionFailureRule;
  readonly aepSourceAccess: AepSourceAccess;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, {
      description:
        'CSV in S3 → validated, ingested and activated Adobe Experience Platform external audience',
      ...props,
    });
    const { config } = props;
    // The schema admits only values of the RetentionDays enum.
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.dropBucket = new DropBucket(this, 'DropBucket', config);
    const bucket = this.dropBucket.bucket;
    this.registry = new AudienceRegistry(this, 'AudienceRegistry');
    this.credentials = new AepCredentials(this, 'AepCredentials', {
      secretName: config.secretName,
      secretArn: config.secretArn,
    });
    this.tasks = new PipelineTasks(this, 'Tasks', {
      bucket,
      registry: this.registry,
      credentials: this.credentials,
      config,
      logRetention,
    });
    this.workflow = new Workflow(this, 'Workflow', { tasks: this.tasks, logRetention });
    const stateMachine = this.workflow.stateMachine;
    this.trigger = new Trigger(this, 'Trigger', { bucket, stateMachine, logRetention });
    this.executionFailureRule = new ExecutionFailureRule(this, 'ExecutionFailures', {
      bucket,
      stateMachine,
      logRetention,
    });
    this.aepSourceAccess = new AepSourceAccess(this, 'AepSourceAccess', { bucket });

    new CfnOutput(this, 'BucketName', {
      value: bucket.bucketName,
      description: 'Drop bucket: upload to incoming/',
    });
    new CfnOutput(this, 'StateMachineArn', { value: stateMachine.stateMachineArn });
    new CfnOutput(this, 'RegistryTableName', { value: this.registry.tableName });
    new CfnOutput(this, 'SecretArn', {
      value: this.credentials.secretArn,
      description: 'Put the AEP credentials JSON here',
    });
    new CfnOutput(this, 'AepSourceUserName', {
      value: this.aepSourceAccess.user.userName,
      description: "Create an access key for this user and use it in AEP's S3 source connection",
    });

    acknowledgeNagFindings(this);
  }
}
