// One CloudWatch dashboard for the pipeline: files in and out, what pages (faults, executions ended outside
// HandleFailure) next to what does not (rejected files per drop prefix), rows, time per stage, AEP latency and
// retries by route, function errors, and the queues of lost events.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  METRIC,
  PREFIX_DIMENSION,
  ROUTE_DIMENSION,
  SERVICE_DIMENSION,
  TEAM_DIMENSION,
} from '../../functions/shared/metric-names.ts';
import type { FunctionName, TaskFunction } from './task-function.ts';

export interface PipelineDashboardProps {
  namespace: string;
  stateMachine: sfn.StateMachine;
  /** The trigger's queues: events of uploads that did not start an execution. */
  notStartedQueues: Record<string, sqs.IQueue>;
  /** Events of failed executions that could not be delivered to record-execution-failure. */
  failureRecordQueue: { name: string; queue: sqs.IQueue };
  functions: TaskFunction[];
  /** The functions that count their faults (TaskFaults). */
  faultCounting: TaskFunction[];
}

const PERIOD = Duration.minutes(5);
/** The functions that end a file, and so publish its outcome. */
const ENDING_FUNCTIONS: FunctionName[] = ['archive-file', 'handle-failure', 'record-execution-failure'];

export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineDashboardProps) {
    super(scope, id);
    const { namespace, stateMachine } = props;
    const custom = (metricName: string, service: string, statistic = 'Sum', label?: string) =>
      new cloudwatch.Metric({
        namespace,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: service },
        statistic,
        period: PERIOD,
        label: label ?? service,
      });
    // Routes and drop prefixes are only known at run time: a search graphs every one that has data.
    const search = (dimension: string, metricName: string, statistic: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${namespace},${SERVICE_DIMENSION},${dimension}} MetricName="${metricName}"', '${statistic}', ${PERIOD.toSeconds()})`,
        label,
        period: PERIOD,
      });
    const byRoute = (metricName: string, statistic: string, label: string) =>
      search(ROUTE_DIMENSION, metricName, statistic, label);
    const queueDepth = (name: string, queue: sqs.IQueue) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: name });
    const wide = { width: 12, height: 6 };

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Executions',
            left: [
              stateMachine.metricStarted({ period: PERIOD, label: 'started' }),
              stateMachine.metricSucceeded({ period: PERIOD, label: 'succeeded' }),
              stateMachine.metricFailed({ period: PERIOD, label: 'failed' }),
              stateMachine.metricTimedOut({ period: PERIOD, label: 'timed out' }),
              stateMachine.metricAborted({ period: PERIOD, label: 'aborted' }),
            ],
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'File outcomes (published by the function that ended the file)',
            left: [
              custom(METRIC.filesSucceeded, 'archive-file', 'Sum', 'succeeded'),
              ...ENDING_FUNCTIONS.slice(1).map((fn) =>
                custom(METRIC.filesFailed, fn, 'Sum', `failed (${fn})`),
              ),
            ],
            right: ENDING_FUNCTIONS.map((fn) =>
              custom(METRIC.notificationFailures, fn, 'Sum', `not notified (${fn})`),
            ),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Faults that page (any point above zero is an alarm)',
            left: [
              ...props.faultCounting.map((task) =>
                custom(METRIC.taskFaults, task.name, 'Sum', `faults (${task.name})`),
              ),
              custom(
                METRIC.executionsFailedUncaught,
                'record-execution-failure',
                'Sum',
                'executions failed uncaught',
              ),
              custom(METRIC.retriesExhausted, 'record-execution-failure', 'Sum', 'retries exhausted'),
            ],
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Files rejected by drop prefix (wrong file or manifest; not paged)',
            left: [
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch dynamic label (each series named by its prefix), not a template.
              search(PREFIX_DIMENSION, METRIC.filesRejected, 'Sum', "${PROP('Dim.prefix')}"),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Files succeeded by team (first folder under incoming/)',
            left: [
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch dynamic label, not a template.
              search(TEAM_DIMENSION, METRIC.filesSucceeded, 'Sum', "${PROP('Dim.team')}"),
            ],
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Files failed by team (first folder under incoming/)',
            left: [
              // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch dynamic label, not a template.
              search(TEAM_DIMENSION, METRIC.filesFailed, 'Sum', "${PROP('Dim.team')}"),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Rows validated and rejected; audience upkeep',
            left: [
              custom(METRIC.rows, 'validate-file', 'Sum', 'rows'),
              custom(METRIC.invalidRows, 'validate-file', 'Sum', 'invalid rows'),
              // Audience upkeep, once a day (KeepAlive): extended, warned of, failed.
              custom(METRIC.audiencesExtended, 'keep-alive', 'Sum', 'audiences extended'),
              custom(METRIC.expiryNotices, 'keep-alive', 'Sum', 'expiry notices'),
              custom(METRIC.keepAliveFailures, 'keep-alive', 'Sum', 'upkeep failures'),
            ],
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Time from upload to outcome (ms, p50 and max)',
            left: ENDING_FUNCTIONS.flatMap((fn) => [
              custom(METRIC.fileDuration, fn, 'p50', `${fn} p50`),
              custom(METRIC.fileDuration, fn, 'Maximum', `${fn} max`),
            ]),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Time per stage (ms, average per invocation)',
            left: props.functions.map((task) => custom(METRIC.stageDuration, task.name, 'Average')),
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            // Lambda's count: every thrown error, the coded ones a task throws on purpose included.
            title: 'Function errors (Lambda; includes the errors thrown on purpose, not paged)',
            left: props.functions.map((task) =>
              task.function.metricErrors({ period: PERIOD, label: task.name }),
            ),
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'AEP call latency by route (ms, p90)',
            left: [byRoute(METRIC.aepCallLatency, 'p90', 'p90')],
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'AEP calls and retries by route',
            left: [byRoute(METRIC.aepCalls, 'Sum', 'calls')],
            right: [byRoute(METRIC.aepRetries, 'Sum', 'retries')],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Events that did not start an execution (queue depth)',
            left: Object.entries(props.notStartedQueues).map(([name, queue]) => queueDepth(name, queue)),
          }),
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Failed executions whose event did not reach record-execution-failure (queue depth)',
            left: [queueDepth(props.failureRecordQueue.name, props.failureRecordQueue.queue)],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            ...wide,
            title: 'Execution time (ms)',
            left: [stateMachine.metricTime({ period: PERIOD, statistic: 'p50', label: 'p50' })],
            right: [stateMachine.metricTime({ period: PERIOD, statistic: 'Maximum', label: 'max' })],
          }),
        ],
      ],
    });
  }
}
