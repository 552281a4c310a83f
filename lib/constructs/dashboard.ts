// One CloudWatch dashboard for the pipeline: files in and out, rows, time per stage, AEP latency and retries
// by route, function errors, and the queues of events that did not start an execution.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, ROUTE_DIMENSION, SERVICE_DIMENSION } from '../../functions/shared/metric-names.ts';
import type { FunctionName, TaskFunction } from './task-function.ts';

export interface PipelineDashboardProps {
  namespace: string;
  stateMachine: sfn.StateMachine;
  deadEndQueues: Record<string, sqs.IQueue>;
  functions: TaskFunction[];
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
    // Routes are only known at run time: a search graphs every one that has data.
    const byRoute = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${namespace},${SERVICE_DIMENSION},${ROUTE_DIMENSION}} MetricName="${metricName}"', '${statistic}', ${PERIOD.toSeconds()})`,
        label,
        period: PERIOD,
      });
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
            title: 'Rows validated and rejected',
            left: [
              custom(METRIC.rows, 'validate-file', 'Sum', 'rows'),
              custom(METRIC.invalidRows, 'validate-file', 'Sum', 'invalid rows'),
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
            title: 'Function errors',
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
            left: Object.entries(props.deadEndQueues).map(([name, queue]) =>
              queue.metricApproximateNumberOfMessagesVisible({
                period: PERIOD,
                statistic: 'Maximum',
                label: name,
              }),
            ),
          }),
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
