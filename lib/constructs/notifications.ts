// The two SNS topics of the pipeline, encrypted with one customer-managed key and refusing plain HTTP:
// - outcomes: one short message per file, success or failure, for the teams that drop files
//   (docs/architecture.md#flow-in-aws);
// - alarms: CloudWatch alarms for operators, e-mailed to `alarmEmail` when the configuration sets one.
//
// Who may publish, and what AWS says about it:
// - A topic policy replaces the default one SNS gives a new topic (the one that lets the account's principals and,
//   through `AWS:SourceOwner`, AWS services acting for the account publish). `enforceSSL` makes CDK write a
//   topic policy holding only a Deny, so without an Allow no service may publish at all: CloudWatch's alarm
//   actions then fail with "… is not authorized to perform: SNS:Publish" in the alarm history and reach no
//   one (aws-solutions/automated-security-response-on-aws#43; AWS knowledge center
//   "cloudwatch-receive-sns-for-alarm-trigger"). The default policy is shown in the EventBridge user guide,
//   "Using resource-based policies for Amazon EventBridge", section "Amazon SNS permissions".
// - The alarm topic therefore allows `cloudwatch.amazonaws.com` to sns:Publish, for this account's alarms only:
//   `aws:SourceArn` ArnLike `arn:aws:cloudwatch:<region>:<account>:alarm:*` is the statement of the SNS
//   developer guide, "Example cases for Amazon SNS access control" ("Allow any CloudWatch alarm to publish to a
//   topic…"), and `aws:SourceAccount` is the confused-deputy guard the same page names for service principals.
// - The functions that publish outcomes are principals of this account: their identity policies
//   (`allowPublishOutcomes`) suffice, and the outcome topic's policy needs no Allow.
// - No EventBridge rule of this stack targets a topic (the rules invoke functions, which publish), so no
//   `events.amazonaws.com` statement is granted. A rule that targets one must bring its own: on the topic
//   scoped to the rule's ARN, but on the key without source conditions, which the SNS page below says are not
//   supported for EventBridge-to-encrypted-topic delivery (the publish would fail at KMS).
// - Both topics are encrypted with a customer-managed key: a service publishing to an SSE topic needs
//   kms:GenerateDataKey* and kms:Decrypt on the key, which only the key policy can grant to a service principal
//   (SNS developer guide, "Key management", "Enable compatibility between event sources from AWS services and
//   encrypted topics", sns-key-management.html#compatibility-with-aws-services, which lists CloudWatch as
//   `cloudwatch.amazonaws.com`); under the AWS-managed `alias/aws/sns` key, whose policy cannot be edited, alarm
//   actions fail with "CloudWatch Alarms does not have authorization to access the SNS topic encryption key"
//   (AWS knowledge center "cloudwatch-configure-alarm-sns"). The key statement carries the same source
//   conditions as the topic statement: step 3 of that SNS section adds `aws:SourceAccount` and `aws:SourceArn`
//   to the key policy against the confused deputy, EventBridge being the one exception it names.
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { TEAMS_ENV } from '../../functions/shared/teams.ts';
import type { TeamSettings } from '../config.ts';
import type { TaskFunction } from './task-function.ts';

/** The environment variable through which a function learns the outcome topic (functions/shared/notify.ts). */
export const OUTCOME_TOPIC_ENV = 'NOTIFICATION_TOPIC_ARN';

/** The service principal of CloudWatch alarm actions. */
export const CLOUDWATCH_ALARMS_PRINCIPAL = 'cloudwatch.amazonaws.com';

export interface NotificationTopicsProps {
  /** Subscribed to the alarm topic when set. */
  alarmEmail?: string | undefined;
  /**
   * The configured teams: one whose `notifications` name a topic hears on that topic; one that lists e-mails gets
   * a topic of its own (encrypted like the others) with them subscribed. Other teams' outcomes go to `outcomes`.
   */
  teams?: Record<string, TeamSettings> | undefined;
}

export class NotificationTopics extends Construct {
  readonly key: kms.Key;
  readonly outcomes: sns.Topic;
  readonly alarms: sns.Topic;
  /** The topic of each team that has its own, by team. */
  readonly teamTopics: Record<string, sns.ITopic> = {};

  constructor(scope: Construct, id: string, props: NotificationTopicsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // CloudWatch names the alarm it publishes for (aws:SourceArn) and the alarm's account (aws:SourceAccount).
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        // An alarm's ARN is arn:aws:cloudwatch:<region>:<account>:alarm:<name>, with a colon.
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };

    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the audience pipeline outcome and alarm topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheAlarmTopic',
        principals: [new iam.ServicePrincipal(CLOUDWATCH_ALARMS_PRINCIPAL)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy `*` is the key itself.
        resources: ['*'],
        conditions: fromThisAccountsAlarms,
      }),
    );

    this.outcomes = new sns.Topic(this, 'Outcomes', {
      displayName: 'AEP audience pipeline: file outcomes',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alarms = new sns.Topic(this, 'Alarms', {
      displayName: 'AEP audience pipeline: alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alarms.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccountPublish',
        principals: [new iam.ServicePrincipal(CLOUDWATCH_ALARMS_PRINCIPAL)],
        actions: ['sns:Publish'],
        resources: [this.alarms.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (props.alarmEmail) {
      this.alarms.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    for (const [team, settings] of Object.entries(props.teams ?? {})) {
      const notifications = settings.notifications;
      if (notifications?.topicArn) {
        this.teamTopics[team] = sns.Topic.fromTopicArn(this, `TeamTopic-${team}`, notifications.topicArn);
      } else if (notifications?.emails) {
        const topic = new sns.Topic(this, `TeamOutcomes-${team}`, {
          displayName: `AEP audience pipeline: file outcomes of ${team}`,
          masterKey: this.key,
          enforceSSL: true,
        });
        for (const email of notifications.emails)
          topic.addSubscription(new subscriptions.EmailSubscription(email));
        this.teamTopics[team] = topic;
      }
    }
  }

  /**
   * Lets `task` publish outcomes: sns:Publish on the outcome topic and on every team's topic (one set of functions
   * ends every team's files), and the key use that encryption needs; PIPELINE_TEAMS tells it each team's topic.
   */
  allowPublishOutcomes(task: TaskFunction, teamSettings: Record<string, Record<string, unknown>> = {}): void {
    this.outcomes.grantPublish(task.function);
    for (const topic of Object.values(this.teamTopics)) topic.grantPublish(task.function);
    const teamTopics = Object.entries(this.teamTopics);
    if (teamTopics.length > 0) {
      // One variable holds a function's whole slice of each team: its other settings, then the team's topic.
      const slices: Record<string, Record<string, unknown>> = { ...teamSettings };
      for (const [team, topic] of teamTopics) slices[team] = { ...slices[team], topicArn: topic.topicArn };
      task.function.addEnvironment(TEAMS_ENV, Stack.of(this).toJsonString(slices));
    }
    if (task.function.role) {
      Validations.of(task.function.role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          "SNS encrypts each published message under a data key of the topics' own key; the statement's resource is that one key",
      });
    }
    task.function.addEnvironment(OUTCOME_TOPIC_ENV, this.outcomes.topicArn);
  }
}
