// The two SNS topics of the pipeline, encrypted with one customer-managed key and refusing plain HTTP:
// - outcomes: one short message per file, success or failure, for the teams that drop files
//   (docs/architecture.md#flow-in-aws);
// - alarms: CloudWatch alarms for operators, e-mailed to `alarmEmail` when the configuration sets one.
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { TaskFunction } from './task-function.ts';

/** The environment variable through which a function learns the outcome topic (functions/shared/notify.ts). */
export const OUTCOME_TOPIC_ENV = 'NOTIFICATION_TOPIC_ARN';

export interface NotificationTopicsProps {
  /** Subscribed to the alarm topic when set. */
  alarmEmail?: string | undefined;
}

export class NotificationTopics extends Construct {
  readonly key: kms.Key;
  readonly outcomes: sns.Topic;
  readonly alarms: sns.Topic;

  constructor(scope: Construct, id: string, props: NotificationTopicsProps) {
    super(scope, id);
    // A customer-managed key: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key,
    // whose policy no one can extend to the CloudWatch service.
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the audience pipeline outcome and alarm topics',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheAlarmTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
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
    if (props.alarmEmail) {
      this.alarms.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
  }

  /** Lets `task` publish outcomes: sns:Publish on the outcome topic and the key use that encryption needs. */
  allowPublishOutcomes(task: TaskFunction): void {
    this.outcomes.grantPublish(task.function);
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
