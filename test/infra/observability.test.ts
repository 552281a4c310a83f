// Alarms, topics, dashboard, metrics settings and retention, in the default configuration and in one that sets
// an alarm e-mail, a metrics namespace and other retentions.
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../functions/shared/metric-names.ts';
import { buildApp, readCdkJsonContext } from '../../lib/app-factory.ts';
import { FUNCTION_NAMES } from '../../lib/constructs/task-function.ts';
import { flatten, functionsByLogicalId, type Json, logicalIdOfType } from './template-helpers.ts';

let byDefault: Template;
let configured: Template;

function synth(overrides: Record<string, unknown>): Template {
  const context = readCdkJsonContext();
  const pipeline = { ...(context.pipeline as object), ...overrides };
  const { stack } = buildApp({ skipBundling: true, context: { ...context, pipeline } });
  return Template.fromStack(stack);
}

beforeAll(() => {
  byDefault = synth({});
  configured = synth({
    alarmEmail: 'ops@example.com',
    metricsNamespace: 'Acme/Audiences',
    processedRetentionDays: 10,
    failedRetentionDays: 20,
    reportsRetentionDays: 30,
    noncurrentVersionRetentionDays: 3,
    accessLogsRetentionDays: 400,
  });
});

/** The condition on CloudWatch's statements: on behalf of an alarm of this account, in this region. */
const thisAccountsAlarms = {
  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
  ArnLike: {
    'aws:SourceArn': {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudwatch:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':alarm:*',
        ],
      ],
    },
  },
};

const topicId = (json: Json, kind: 'Outcomes' | 'Alarms') =>
  logicalIdOfType(json, 'AWS::SNS::Topic', new RegExp(`^Notifications${kind}`));

describe('topics', () => {
  it('encrypts the outcome and alarm topics with one rotated customer key that CloudWatch may use', () => {
    const json = byDefault.toJSON();
    const keyId = logicalIdOfType(json, 'AWS::KMS::Key');
    byDefault.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: thisAccountsAlarms,
          }),
        ]),
      },
    });
    for (const kind of ['Outcomes', 'Alarms'] as const) {
      expect(json.Resources[topicId(json, kind)].Properties.KmsMasterKeyId).toEqual({
        'Fn::GetAtt': [keyId, 'Arn'],
      });
    }
  });

  it("lets this account's CloudWatch alarms publish to the alarm topic, and no service the outcome topic", () => {
    const json = byDefault.toJSON();
    byDefault.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId(json, 'Alarms') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsOfThisAccountPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId(json, 'Alarms') },
            Condition: thisAccountsAlarms,
          },
        ]),
      },
    });
    const outcomePolicy = Object.values<Json>(json.Resources).find(
      (r) => r.Type === 'AWS::SNS::TopicPolicy' && r.Properties.Topics[0].Ref === topicId(json, 'Outcomes'),
    );
    expect(outcomePolicy.Properties.PolicyDocument.Statement.map((st: Json) => st.Effect)).toEqual(['Deny']);
  });

  it('refuses publishing over plain HTTP on both topics', () => {
    const json = byDefault.toJSON();
    for (const kind of ['Outcomes', 'Alarms'] as const) {
      byDefault.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: topicId(json, kind) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('subscribes the alarm e-mail only when the configuration sets one', () => {
    byDefault.resourceCountIs('AWS::SNS::Subscription', 0);
    const json = configured.toJSON();
    configured.resourceCountIs('AWS::SNS::Subscription', 1);
    configured.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId(json, 'Alarms') },
    });
  });

  it('outputs the outcome topic for teams to subscribe to', () => {
    const json = byDefault.toJSON();
    expect(json.Outputs.OutcomeTopicArn.Value).toEqual({ Ref: topicId(json, 'Outcomes') });
  });
});

describe('functions', () => {
  it('publish their metrics under the configured namespace', () => {
    for (const [template, namespace] of [
      [byDefault, 'AepAudiencePipeline'],
      [configured, 'Acme/Audiences'],
    ] as const) {
      template.resourcePropertiesCountIs(
        'AWS::Lambda::Function',
        { Environment: { Variables: Match.objectLike({ POWERTOOLS_METRICS_NAMESPACE: namespace }) } },
        FUNCTION_NAMES.length,
      );
    }
  });

  it('only the three functions that end a file, and keep-alive, know the outcome topic', () => {
    const json = byDefault.toJSON();
    const outcomes = topicId(json, 'Outcomes');
    const names = Object.entries(functionsByLogicalId(json))
      .filter(([id]) => json.Resources[id].Properties.Environment.Variables.NOTIFICATION_TOPIC_ARN)
      .map(([id, name]) => {
        expect(json.Resources[id].Properties.Environment.Variables.NOTIFICATION_TOPIC_ARN).toEqual({
          Ref: outcomes,
        });
        return name;
      });
    // And keep-alive, whose expiry notices go to the teams on the same topic.
    expect(names.sort()).toEqual([
      'archive-file',
      'handle-failure',
      'keep-alive',
      'record-execution-failure',
    ]);
  });
});

describe('alarms', () => {
  const alarmTopic = () => ({ Ref: topicId(byDefault.toJSON(), 'Alarms') });
  const alarmsOf = (template: Template) =>
    Object.values<Json>(template.toJSON().Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  /** Fires on the first occurrence in 5 minutes, to the alarm topic, in ALARM and back to OK. */
  const firstIn5Minutes = () => ({
    Statistic: expect.stringMatching(/^(Sum|Maximum)$/),
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    AlarmActions: [alarmTopic()],
    OKActions: [alarmTopic()],
  });
  /** Functions that count their faults: every one but start-pipeline, whose failures end in a queue. */
  const FAULT_COUNTING = FUNCTION_NAMES.filter((name) => name !== 'start-pipeline');

  it('do not page on failed executions nor on Lambda errors: a rejected file and a retried AEP_BUSY are no fault', () => {
    for (const template of [byDefault, configured]) {
      for (const alarm of alarmsOf(template)) {
        expect(alarm.Properties, alarm.Properties.AlarmDescription).not.toMatchObject({
          Namespace: 'AWS/States',
          MetricName: 'ExecutionsFailed',
        });
        expect(alarm.Properties.Namespace).not.toBe('AWS/Lambda');
        expect(alarm.Properties.MetricName).not.toBe('Errors');
        expect(alarm.Properties.Metrics).toBeUndefined();
      }
    }
  });

  it('fire on the first TaskFaults of each function that counts them, in the configured namespace', () => {
    for (const [template, namespace] of [
      [byDefault, 'AepAudiencePipeline'],
      [configured, 'Acme/Audiences'],
    ] as const) {
      const alarmed = alarmsOf(template)
        .filter((alarm) => alarm.Properties.MetricName === METRIC.taskFaults)
        .map((alarm) => {
          expect(alarm.Properties).toMatchObject({
            ...firstIn5Minutes(),
            Namespace: namespace,
            Statistic: 'Sum',
          });
          expect(flatten(alarm.Properties.AlarmDescription)).toMatch(/log group <.*Logs.*>.*"fault": true/);
          const [dimension] = alarm.Properties.Dimensions;
          expect(dimension.Name).toBe('service');
          return dimension.Value as string;
        });
      expect(alarmed.sort()).toEqual([...FAULT_COUNTING].sort());
    }
  });

  it('fire on the first execution ended outside HandleFailure, by what it needs: uncaught, retries exhausted', () => {
    for (const [metric, action] of [
      [METRIC.executionsFailedUncaught, /error\.json.*redrive/],
      [METRIC.retriesExhausted, /AEP_UNAVAILABLE, AEP_BUSY.*redrive/],
    ] as const) {
      byDefault.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...firstIn5Minutes(),
        Namespace: 'AepAudiencePipeline',
        MetricName: metric,
        Dimensions: [{ Name: 'service', Value: 'record-execution-failure' }],
        Statistic: 'Sum',
        AlarmDescription: Match.stringLikeRegexp(action.source),
      });
    }
  });

  it('fire on the first timed-out execution of the state machine', () => {
    const machine = logicalIdOfType(byDefault.toJSON(), 'AWS::StepFunctions::StateMachine');
    byDefault.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...firstIn5Minutes(),
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsTimedOut',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
      Statistic: 'Sum',
    });
  });

  it("fire on the first event in each queue of lost events: the trigger's two, the failure rule's one", () => {
    const json = byDefault.toJSON();
    for (const queue of [
      'TriggerDeliveryDeadLetterQueue',
      'TriggerStartFailureQueue',
      'ExecutionFailuresDeadLetterQueue',
    ]) {
      const queueId = logicalIdOfType(json, 'AWS::SQS::Queue', new RegExp(`^${queue}`));
      byDefault.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...firstIn5Minutes(),
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Statistic: 'Maximum',
      });
    }
  });

  it('are all sent to the alarm topic, each says what to do, and there are no others', () => {
    const alarms = alarmsOf(byDefault);
    // Faults per function, uncaught, retries exhausted, timed out, three queues, keep-alive failures.
    expect(alarms).toHaveLength(FAULT_COUNTING.length + 3 + 3 + 1);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([alarmTopic()]);
      expect(alarm.Properties.OKActions).toEqual([alarmTopic()]);
      const description = flatten(alarm.Properties.AlarmDescription);
      // What it means and a verb of what to do; CloudWatch caps descriptions at 1024 characters.
      expect(description).toMatch(/read|redrive|fix/i);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
  });
});

describe('keep-alive alarm', () => {
  it('pages on the first audience whose upkeep failed', () => {
    byDefault.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AepAudiencePipeline',
      MetricName: 'KeepAliveFailures',
      Dimensions: [{ Name: 'service', Value: 'keep-alive' }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('dashboard', () => {
  it('graphs the executions, every custom metric of the namespace, and the queues of lost events', () => {
    for (const [template, namespace] of [
      [byDefault, 'AepAudiencePipeline'],
      [configured, 'Acme/Audiences'],
    ] as const) {
      const json = template.toJSON();
      const dashboard = logicalIdOfType(json, 'AWS::CloudWatch::Dashboard');
      const body = flatten(json.Resources[dashboard].Properties.DashboardBody);
      expect(body).toContain('"AWS/States","ExecutionsFailed"');
      expect(body).toContain('ApproximateNumberOfMessagesVisible');
      for (const metric of Object.values(METRIC)) {
        expect(body).toMatch(new RegExp(`"${namespace}","${metric}"|MetricName=\\\\"${metric}\\\\"`));
      }
      expect(body).toContain(`SEARCH('{${namespace},service,route}`);
    }
  });

  it('graphs rejected files per drop prefix with a search, named by prefix', () => {
    const json = configured.toJSON();
    const body = JSON.parse(
      flatten(json.Resources[logicalIdOfType(json, 'AWS::CloudWatch::Dashboard')].Properties.DashboardBody),
    );
    const widget = body.widgets.find((w: Json) => /rejected by drop prefix/i.test(w.properties.title));
    expect(widget.properties.metrics).toEqual([
      [
        {
          expression: `SEARCH('{Acme/Audiences,service,prefix} MetricName="${METRIC.filesRejected}"', 'Sum', 300)`,
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch dynamic label, not a template.
          label: "${PROP('Dim.prefix')}",
        },
      ],
    ]);
  });

  it('gives every widget a title, the failure-record dead-letter queue one of its own', () => {
    const json = byDefault.toJSON();
    const body = JSON.parse(
      flatten(json.Resources[logicalIdOfType(json, 'AWS::CloudWatch::Dashboard')].Properties.DashboardBody),
    );
    for (const widget of body.widgets) expect(widget.properties.title).toMatch(/\w/);
    const queueId = logicalIdOfType(json, 'AWS::SQS::Queue', /^ExecutionFailuresDeadLetterQueue/);
    const graphing = body.widgets.filter((w: Json) =>
      JSON.stringify(w.properties.metrics).includes(`<${queueId}.QueueName>`),
    );
    expect(graphing.map((w: Json) => w.properties.title)).toEqual([
      'Failed executions whose event did not reach record-execution-failure (queue depth)',
    ]);
  });
});

describe('retention', () => {
  const rules = (template: Template) =>
    Object.fromEntries(
      (
        template.toJSON().Resources[
          logicalIdOfType(template.toJSON(), 'AWS::S3::Bucket', /^DropBucket[0-9A-F]{8}$/)
        ].Properties.LifecycleConfiguration.Rules as Json[]
      ).map((rule) => [
        rule.Prefix ?? 'versions',
        rule.ExpirationInDays ?? rule.NoncurrentVersionExpiration?.NoncurrentDays,
      ]),
    );

  it('expires processed/, failed/, reports/ and old versions after the documented defaults', () => {
    expect(rules(byDefault)).toEqual({
      'staging/': 120,
      'reports/': 90,
      'processed/': 30,
      'failed/': 90,
      versions: 7,
    });
  });

  it('expires the access logs after the configured days', () => {
    const json = configured.toJSON();
    const logs = json.Resources[logicalIdOfType(json, 'AWS::S3::Bucket', /AccessLogs/)];
    expect(logs.Properties.LifecycleConfiguration.Rules).toEqual([
      expect.objectContaining({ ExpirationInDays: 400 }),
    ]);
  });

  it('expires them after the configured days', () => {
    expect(rules(configured)).toEqual({
      'staging/': 120,
      'reports/': 30,
      'processed/': 10,
      'failed/': 20,
      versions: 3,
    });
  });
});
