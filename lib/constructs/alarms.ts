// Operator alarms, all to the alarm topic, for faults only: a function that failed with no pipeline code
// (TaskFaults, per function), an execution that ended outside HandleFailure (ExecutionsFailedUncaught, or
// RetriesExhausted for an outage past the state machine's retries), one past the state machine's timeout, and
// events lost on the way (the trigger's dead-letter and failure queues, the execution-failure rule's
// dead-letter queue). A rejected file is not a fault: its team hears of it by the outcome topic, and the
// dashboard graphs rejections per drop prefix. Neither AWS/States ExecutionsFailed (every rejected file ends in
// the Fail state) nor AWS/Lambda Errors (it counts the AEP_BUSY/AEP_UNAVAILABLE errors thrown on purpose to be
// retried, and cannot tell error names apart) is alarmed. The topic's and its key's policies let CloudWatch
// publish (notifications.ts).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, SERVICE_DIMENSION } from '../../functions/shared/metric-names.ts';
import type { TaskFunction } from './task-function.ts';

export interface PipelineAlarmsProps {
  topic: sns.ITopic;
  /** The functions' metrics namespace (`metricsNamespace`). */
  namespace: string;
  stateMachine: sfn.StateMachine;
  /** Queues whose every message is an event the pipeline lost: alarmed on the first one, by name. */
  deadEndQueues: Record<string, DeadEndQueue>;
  /** The functions that count their faults (TaskFaults): one alarm each. */
  faultCounting: TaskFunction[];
  /** The function that reports executions ended outside HandleFailure, and publishes their paging metrics. */
  recordExecutionFailure: TaskFunction;
  /** KeepAlive, which counts the audiences whose upkeep failed (KeepAliveFailures). */
  keepAlive?: TaskFunction | undefined;
}

export interface DeadEndQueue {
  queue: sqs.IQueue;
  /** What a message in the queue means and what the operator does about it: the alarm's description. */
  alarmDescription: string;
}

const PERIOD = Duration.minutes(5);

export class PipelineAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.topic);
    // Every alarm here fires on the first occurrence in 5 minutes: each counts something that needs a person.
    const add = (alarmId: string, alarmDescription: string, metric: cloudwatch.IMetric) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        metric,
        alarmDescription,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
    };
    const custom = (metricName: string, service: string) =>
      new cloudwatch.Metric({
        namespace: props.namespace,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: service },
        statistic: 'Sum',
        period: PERIOD,
      });
    const recorder = props.recordExecutionFailure.name;

    // One alarm per function rather than one over their sum: the alarm's name says which log group to read,
    // and a second function's fault still notifies while the first one's alarm is in ALARM.
    for (const task of props.faultCounting) {
      add(
        `${pascal(task.name)}Faults`,
        `${task.name} failed with an error that maps to no pipeline code (a bug, an AWS call refused, a malformed event), not a wrong file. ` +
          `Read its log group ${task.logGroup.logGroupName}: the "task failed" lines with "fault": true name the error. ` +
          'Fix it and deploy; then redrive the executions it stopped (the ExecutionsFailedUncaught alarm, npx aep-audience executions --status FAILED).',
        custom(METRIC.taskFaults, task.name),
      );
    }
    add(
      'ExecutionsFailedUncaught',
      'An execution failed or was aborted outside HandleFailure, for another reason than an outage: AEP refused the credentials (AEP_AUTH_FAILED), ' +
        "polling ran out (AEP_POLL_LIMIT), a task's fault (its Faults alarm fires too), a task timeout (States.Timeout), or a stop. The file waits in incoming/ and its team was told. " +
        'Read reports/<execution>/error.json (npx aep-audience executions --status FAILED --since 1h; show <execution>); fix the secret or the fault, then redrive.',
      custom(METRIC.executionsFailedUncaught, recorder),
    );
    add(
      'RetriesExhausted',
      'An execution failed with AEP_UNAVAILABLE, AEP_BUSY or a Lambda service error after the state machine retried it for minutes: ' +
        'AEP (or Lambda) stayed down or busy. The file waits in incoming/ and its team was told. Check AEP status, then redrive the execution (npx aep-audience redrive <execution>); it resumes at the failed task.',
      custom(METRIC.retriesExhausted, recorder),
    );
    add(
      'ExecutionsTimedOut',
      "An execution ran past the state machine's 48-hour timeout: a wait or a poll lasted longer than any planned one. " +
        'The file waits in incoming/. npx aep-audience show <execution> says where it stopped; redrive once the cause is clear.',
      props.stateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum' }),
    );
    if (props.keepAlive) {
      // KeepAlive runs once a day: a failure's datapoint stands alone in its 5 minutes, like the others here.
      add(
        'KeepAliveFailures',
        "KeepAlive could not extend a kept-alive audience (AEP refused or was down, or the day's run budget was " +
          'spent with the audience expiring before the next run), publish an expiry notice, or retag a staged copy. ' +
          `Read its log group ${props.keepAlive.logGroup.logGroupName} ("extend-ttl failed" lines name the audience). ` +
          'It tries again at its next daily run; to try now, invoke it (npx aep-audience keep-alive runs it locally). ' +
          'A kept-alive audience past its expiry (npx aep-audience audiences --stack) needs its file uploaded again.',
        custom(METRIC.keepAliveFailures, props.keepAlive.name),
      );
    }
    for (const [queueId, { queue, alarmDescription }] of Object.entries(props.deadEndQueues)) {
      add(
        queueId,
        alarmDescription,
        queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      );
    }
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, _dash, letter: string) => letter.toUpperCase());
}
