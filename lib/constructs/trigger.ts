// Starts one execution per CSV: S3 "Object Created" under incoming/ → EventBridge → start-pipeline, with
// every way an event can be lost ending in a queue.
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { KeyEncoding } from '../../functions/start-pipeline/start-pipeline.ts';
import { allowListUnder } from './pipeline-tasks.ts';
import { TaskFunction } from './task-function.ts';
import { allowDescribeExecutions } from './workflow.ts';

export interface TriggerProps {
  bucket: s3.IBucket;
  stateMachine: sfn.IStateMachine;
  logRetention: logs.RetentionDays;
}

export class Trigger extends Construct {
  readonly rule: events.Rule;
  readonly startPipeline: TaskFunction;
  /** Events EventBridge could not deliver to the function. */
  readonly deadLetterQueue: sqs.Queue;
  /** Events the function failed on after its own retries. */
  readonly failureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: TriggerProps) {
    super(scope, id);
    const queue = (queueId: string) =>
      new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
    this.deadLetterQueue = queue('DeliveryDeadLetterQueue');
    this.failureQueue = queue('StartFailureQueue');

    this.startPipeline = new TaskFunction(this, 'StartPipeline', {
      name: 'start-pipeline',
      description: 'Starts one state machine execution per uploaded CSV, named after the file',
      logRetention: props.logRetention,
      environment: {
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
        BUCKET_NAME: props.bucket.bucketName,
        // EventBridge sends keys as stored: start-pipeline.ts DEFAULT_KEY_ENCODING gives the evidence. Set here
        // too, so the deployed function does not depend on the code's default and an operator can see and flip it.
        S3_EVENT_KEY_ENCODING: 'raw' satisfies KeyEncoding,
      },
    });
    const fn = this.startPipeline.function;
    fn.configureAsyncInvoke({
      onFailure: new lambdaDestinations.SqsDestination(this.failureQueue),
      retryAttempts: 2,
    });
    props.stateMachine.grantStartExecution(fn);
    allowDescribeExecutions(this.startPipeline, props.stateMachine);
    // A folder drop's marker starts the run: the folder is listed to size it (the LargeFile? Choice).
    allowListUnder(this.startPipeline, props.bucket, ['incoming/']);
    for (const deadEnd of [this.deadLetterQueue, this.failureQueue]) {
      Validations.of(deadEnd).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter destination of the trigger; it holds events for an operator',
      });
    }

    this.rule = new events.Rule(this, 'ObjectCreated', {
      description: 'A file uploaded under incoming/ of the drop bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.bucket.bucketName] },
          object: { key: [{ prefix: 'incoming/' }] },
        },
      },
    });
    this.rule.addTarget(
      new targets.LambdaFunction(fn, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );
  }
}
