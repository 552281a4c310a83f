// Reports executions that end without HandleFailure (an outage past its retries, a timeout, an abort):
// the status-change event → record-execution-failure, which writes error.json for the file. An event EventBridge
// cannot deliver to the function ends in a dead-letter queue, alarmed like the trigger's (alarms.ts).
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { allowListUnder, allowUnder } from './pipeline-tasks.ts';
import { TaskFunction } from './task-function.ts';
import { allowDescribeExecutions } from './workflow.ts';

export interface ExecutionFailureRuleProps {
  bucket: s3.IBucket;
  stateMachine: sfn.IStateMachine;
  logRetention: logs.RetentionDays;
}

export class ExecutionFailureRule extends Construct {
  readonly rule: events.Rule;
  readonly recordExecutionFailure: TaskFunction;
  /** Failure events EventBridge could not deliver to record-execution-failure after its retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ExecutionFailureRuleProps) {
    super(scope, id);
    this.recordExecutionFailure = new TaskFunction(this, 'RecordExecutionFailure', {
      name: 'record-execution-failure',
      description:
        'Writes error.json for an execution that failed, timed out or was aborted outside HandleFailure',
      logRetention: props.logRetention,
      environment: {
        BUCKET_NAME: props.bucket.bucketName,
        STATE_MACHINE_ARN: props.stateMachine.stateMachineArn,
      },
    });
    const fn = this.recordExecutionFailure.function;
    allowUnder(
      this.recordExecutionFailure,
      ['s3:PutObject'],
      props.bucket,
      'reports/',
      "writes the failed execution's error.json",
    );
    // Whether HandleFailure already wrote error.json: a listing, since it is usually not there.
    allowListUnder(this.recordExecutionFailure, props.bucket, ['reports/']);
    allowDescribeExecutions(this.recordExecutionFailure, props.stateMachine);

    this.rule = new events.Rule(this, 'ExecutionFailed', {
      description: 'An execution of the pipeline state machine failed, timed out or was aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [props.stateMachine.stateMachineArn],
        },
      },
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the execution-failure rule; it holds events for an operator',
    });
    // CDK gives the queue a policy letting events.amazonaws.com sqs:SendMessage for this rule only (ArnEquals
    // aws:SourceArn): the statement of the EventBridge user guide, "Event retry policy and using dead-letter
    // queues" (eb-rule-event-delivery.html#eb-rule-dlq). The queue is encrypted with SQS-managed keys, like the
    // trigger's, so no key policy has to let EventBridge in.
    this.rule.addTarget(
      new targets.LambdaFunction(fn, { retryAttempts: 8, deadLetterQueue: this.deadLetterQueue }),
    );
  }
}
