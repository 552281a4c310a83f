// Operator alarms, all to the alarm topic: executions that failed or timed out, events that were lost on the way
// (the trigger's dead-letter and failure queues, the execution-failure rule's dead-letter queue), and functions
// that keep throwing. The topic's and its key's policies let CloudWatch publish (notifications.ts).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { TaskFunction } from './task-function.ts';

export interface PipelineAlarmsProps {
  topic: sns.ITopic;
  stateMachine: sfn.StateMachine;
  /** Queues whose every message is an event the pipeline lost: alarmed on the first one, by name. */
  deadEndQueues: Record<string, DeadEndQueue>;
  functions: TaskFunction[];
}

export interface DeadEndQueue {
  queue: sqs.IQueue;
  /** What a message in the queue means and what the operator does about it: the alarm's description. */
  alarmDescription: string;
}

/**
 * A function alarms at this many errors in 15 minutes. One thrown error is how a task reports a wrong file or
 * request to the state machine (caught, reported to the team by an outcome notification), so one is normal;
 * several in a quarter of an hour mean a fault, or an outage the execution alarms will confirm.
 */
export const FUNCTION_ERRORS_THRESHOLD = 3;

export class PipelineAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.topic);
    const add = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
    };
    const anyIn5Minutes = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    };

    // Every failed execution also reached its team; the alarm is for the operator, who may have to redrive.
    add('ExecutionsFailed', {
      ...anyIn5Minutes,
      alarmDescription:
        'An execution of the audience pipeline failed: read reports/<execution>/error.json; an outage (AEP_UNAVAILABLE, AEP_BUSY) is redriven once AEP is back',
      metric: props.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    add('ExecutionsTimedOut', {
      ...anyIn5Minutes,
      alarmDescription: "An execution of the audience pipeline ran past the state machine's timeout",
      metric: props.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
    });
    for (const [queueId, { queue, alarmDescription }] of Object.entries(props.deadEndQueues)) {
      add(queueId, {
        ...anyIn5Minutes,
        alarmDescription,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
      });
    }
    for (const task of props.functions) {
      add(`${pascal(task.name)}Errors`, {
        threshold: FUNCTION_ERRORS_THRESHOLD,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `${task.name} threw ${FUNCTION_ERRORS_THRESHOLD} or more errors in 15 minutes: read its log group`,
        metric: task.function.metricErrors({ period: Duration.minutes(15), statistic: 'Sum' }),
      });
    }
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _dash, letter: string) => letter.toUpperCase());
}
