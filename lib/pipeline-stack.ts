// The pipeline's one stack: composes the constructs, each of which owns one concern.
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PipelineConfig } from './config.ts';
import { AepCredentials } from './constructs/aep-credentials.ts';
import { AepSourceAccess } from './constructs/aep-source-access.ts';
import { type DeadEndQueue, PipelineAlarms } from './constructs/alarms.ts';
import { AudienceRegistry } from './constructs/audience-registry.ts';
import { AudienceUpkeep } from './constructs/audience-upkeep.ts';
import { PipelineDashboard } from './constructs/dashboard.ts';
import { DropBucket } from './constructs/drop-bucket.ts';
import { ExecutionFailureRule } from './constructs/execution-failure-rule.ts';
import { NotificationTopics } from './constructs/notifications.ts';
import { PipelineTasks } from './constructs/pipeline-tasks.ts';
import { TaskFunction } from './constructs/task-function.ts';
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
  readonly upkeep: AudienceUpkeep;
  readonly topics: NotificationTopics;
  readonly alarms: PipelineAlarms;
  readonly dashboard: PipelineDashboard;

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
    this.registry = new AudienceRegistry(this, 'AudienceRegistry', {
      existingTableName: config.registryTableName,
    });
    this.credentials = new AepCredentials(this, 'AepCredentials', {
      secretName: config.secretName,
      secretArn: config.secretArn,
      teamSecretArns: Object.values(config.teams).flatMap((team) => (team.secretArn ? [team.secretArn] : [])),
    });
    this.tasks = new PipelineTasks(this, 'Tasks', {
      bucket,
      registry: this.registry,
      credentials: this.credentials,
      config,
      logRetention,
    });
    this.workflow = new Workflow(this, 'Workflow', {
      tasks: this.tasks,
      logRetention,
      largeFileThresholdBytes: config.largeFileThresholdBytes,
    });
    const stateMachine = this.workflow.stateMachine;
    this.trigger = new Trigger(this, 'Trigger', { bucket, stateMachine, logRetention });
    this.executionFailureRule = new ExecutionFailureRule(this, 'ExecutionFailures', {
      bucket,
      stateMachine,
      logRetention,
    });
    this.aepSourceAccess = new AepSourceAccess(this, 'AepSourceAccess', { bucket });
    this.upkeep = new AudienceUpkeep(this, 'Upkeep', {
      bucket,
      registry: this.registry,
      credentials: this.credentials,
      config,
      logRetention,
    });

    // Observability: every function publishes its metrics under one namespace; the three functions that end
    // a file publish its outcome; operators get alarms and a dashboard.
    const functions = this.node.findAll().filter((c): c is TaskFunction => c instanceof TaskFunction);
    for (const task of functions) {
      task.function.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', config.metricsNamespace);
    }
    this.topics = new NotificationTopics(this, 'Notifications', {
      alarmEmail: config.alarmEmail,
      teams: config.teams,
    });
    for (const ending of [
      this.tasks.archiveFile,
      this.tasks.handleFailure,
      this.executionFailureRule.recordExecutionFailure,
    ]) {
      this.topics.allowPublishOutcomes(ending);
    }
    // Expiry notices go to the teams on the same topics; KeepAlive's team settings stay beside them.
    this.topics.allowPublishOutcomes(this.upkeep.keepAlive, this.upkeep.teamSettings);
    const notStarted = (queue: string) =>
      `An uploaded file did not start an execution: its event is in ${queue}; read it, fix the cause, upload the file again`;
    const deadEndQueues: Record<string, DeadEndQueue> = {
      DeliveryDeadLetterQueue: {
        queue: this.trigger.deadLetterQueue,
        alarmDescription: notStarted('DeliveryDeadLetterQueue'),
      },
      StartFailureQueue: {
        queue: this.trigger.failureQueue,
        alarmDescription: notStarted('StartFailureQueue'),
      },
      FailureRecordDeadLetterQueue: {
        queue: this.executionFailureRule.deadLetterQueue,
        alarmDescription:
          'An execution failed, timed out or was aborted, and its event could not be delivered to ' +
          'record-execution-failure: no error.json was written and the team was not told. The event in ' +
          'FailureRecordDeadLetterQueue names the execution; read its history, tell the team, redrive or have the file uploaded again',
      },
    };
    // Every function but start-pipeline counts its faults (TaskFaults); start-pipeline's failures end in
    // StartFailureQueue, alarmed with the other queues.
    const recordExecutionFailure = this.executionFailureRule.recordExecutionFailure;
    const faultCounting = [
      this.tasks.validateFile,
      this.tasks.validateLargeFile,
      ...Object.values(this.tasks.aep),
      this.tasks.archiveFile,
      this.tasks.handleFailure,
      recordExecutionFailure,
      this.upkeep.keepAlive,
      this.upkeep.deleteAudience,
    ];
    this.alarms = new PipelineAlarms(this, 'Alarms', {
      topic: this.topics.alarms,
      namespace: config.metricsNamespace,
      stateMachine,
      deadEndQueues,
      faultCounting,
      recordExecutionFailure,
      keepAlive: this.upkeep.keepAlive,
    });
    this.dashboard = new PipelineDashboard(this, 'Dashboard', {
      namespace: config.metricsNamespace,
      stateMachine,
      notStartedQueues: {
        DeliveryDeadLetterQueue: this.trigger.deadLetterQueue,
        StartFailureQueue: this.trigger.failureQueue,
      },
      failureRecordQueue: {
        name: 'FailureRecordDeadLetterQueue',
        queue: this.executionFailureRule.deadLetterQueue,
      },
      functions,
      faultCounting,
    });

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

    new CfnOutput(this, 'OutcomeTopicArn', {
      value: this.topics.outcomes.topicArn,
      description: 'Subscribe here to hear about every file: success or failure, one message each',
    });
    new CfnOutput(this, 'DeleteAudienceFunctionName', {
      value: this.upkeep.deleteAudience.function.functionName,
      description: 'Invoked by `aep-audience audiences delete <name> --yes`',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.topics.alarms.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });

    acknowledgeNagFindings(this);
  }
}
