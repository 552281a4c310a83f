// Audience upkeep (docs/operations.md#audience-upkeep): KeepAlive on a daily EventBridge Scheduler schedule,
// and DeleteAudience, which `aep-audience audiences delete` invokes so that AEP credentials stay in AWS. Each
// with exactly the calls it makes: the AEP secret, single registry items (and one Scan for KeepAlive), the
// staged copies' retention tag, and for KeepAlive the outcome topic (expiry notices, wired by the stack).
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../config.ts';
import type { AepCredentials } from './aep-credentials.ts';
import type { AudienceRegistry } from './audience-registry.ts';
import { allowUnder, teamSlices, teamsEnvironment } from './pipeline-tasks.ts';
import { TaskFunction } from './task-function.ts';

export interface AudienceUpkeepProps {
  bucket: s3.IBucket;
  registry: AudienceRegistry;
  credentials: AepCredentials;
  config: Pick<
    PipelineConfig,
    'dailyRunBudget' | 'keepAliveDaysBeforeExpiry' | 'expiryWarningDays' | 'teams' | 'unknownTeams'
  >;
  logRetention: logs.RetentionDays;
}

/** Once a day, early UTC, before most teams' uploads take the day's run budget. */
export const KEEP_ALIVE_SCHEDULE = 'cron(15 4 * * ? *)';

/** What the upkeep functions use of a team: where its audiences live and the credentials to reach them. */
const upkeepSlice = (team: PipelineConfig['teams'][string]) => ({
  sandboxName: team.sandboxName,
  baseConnectionId: team.baseConnectionId,
  secretArn: team.secretArn,
});

export class AudienceUpkeep extends Construct {
  /** Each team's slice of the upkeep functions (PIPELINE_TEAMS), for the outcome topics to add to. */
  readonly teamSettings: Record<string, Record<string, unknown>>;
  readonly keepAlive: TaskFunction;
  readonly deleteAudience: TaskFunction;
  readonly schedule: scheduler.CfnSchedule;

  constructor(scope: Construct, id: string, props: AudienceUpkeepProps) {
    super(scope, id);
    const { bucket, registry, credentials, config, logRetention } = props;
    const aepEnvironment = {
      BUCKET_NAME: bucket.bucketName,
      AEP_SECRET_ARN: credentials.secretArn,
      REGISTRY_TABLE_NAME: registry.tableName,
      // A team's audience is extended or deleted with its team's credentials, in its sandbox.
      ...teamsEnvironment(config, upkeepSlice),
    };
    this.teamSettings = teamSlices(config, upkeepSlice);

    this.keepAlive = new TaskFunction(this, 'KeepAlive', {
      name: 'keep-alive',
      description:
        "Extends kept-alive audiences' TTL before they expire, keeps their staged copy, warns of the others",
      logRetention,
      // Sequential over every audience: a few AEP calls each, with the client's retries.
      timeout: Duration.minutes(15),
      environment: {
        ...aepEnvironment,
        DAILY_RUN_BUDGET: String(config.dailyRunBudget),
        KEEP_ALIVE_DAYS_BEFORE_EXPIRY: String(config.keepAliveDaysBeforeExpiry),
        EXPIRY_WARNING_DAYS: String(config.expiryWarningDays),
      },
    });
    this.deleteAudience = new TaskFunction(this, 'DeleteAudience', {
      name: 'delete-audience',
      description: 'Removes an audience from its dataflows, deletes it in AEP and marks it deleted',
      logRetention,
      timeout: Duration.minutes(5),
      environment: aepEnvironment,
    });

    for (const task of [this.keepAlive, this.deleteAudience]) {
      credentials.grantRead(task.function);
      // Claims, records and locks are conditional UpdateItems; reads are GetItem (registry.ts,
      // coordination.ts). Neither puts nor deletes an item.
      iam.Grant.addToPrincipal({
        grantee: task.function,
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resourceArns: [registry.table.tableArn],
      });
      allowUnder(
        task,
        ['s3:PutObjectTagging'],
        bucket,
        'staging/',
        "retags a kept-alive audience's staged copy (keep it, or let it expire)",
      );
    }
    // The one listing of the registry: KeepAlive looks at every audience once a day.
    iam.Grant.addToPrincipal({
      grantee: this.keepAlive.function,
      actions: ['dynamodb:Scan'],
      resourceArns: [registry.table.tableArn],
    });

    // Scheduler's own role, invoking this function only. CfnSchedule rather than scheduler.Schedule with
    // targets.LambdaInvoke: that target grants lambda:InvokeFunction on the function's versions too (`<arn>:*`),
    // which the schedule never calls. The trust is the EventBridge Scheduler user guide's execution role
    // ("Set up the execution role", setting-up.html#setting-up-execution-role), with its aws:SourceAccount guard.
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler invokes the audience pipeline keep-alive function',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.keepAlive.function.functionArn],
      }),
    );
    this.schedule = new scheduler.CfnSchedule(this, 'Daily', {
      description: 'Runs KeepAlive once a day',
      scheduleExpression: KEEP_ALIVE_SCHEDULE,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.keepAlive.function.functionArn,
        roleArn: role.roleArn,
        input: '{}',
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 6 * 3600 },
      },
    });
  }
}
