// Whether an alarm reaches anyone: the synthesized topic and key policies decided by iam-simulate for the
// CloudWatch service principal (which no function role stands for, so the request is built here), and by the
// repository's authorizer for the functions' roles.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app-factory.ts';
import { CLOUDWATCH_ALARMS_PRINCIPAL } from '../../lib/constructs/notifications.ts';
import { type Check, checksFor } from '../../local/iam/actions.ts';
import { createAuthorizer } from '../../local/iam/authorizer.ts';
import { readTemplatePolicies, type TemplatePolicies } from '../../local/iam/template-policies.ts';
import { LOCAL_BUCKET, LOCAL_STATE_MACHINE, LOCAL_TABLE } from '../../local/runner/pipeline.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/runner/synthesized.ts';
import type { Json } from './template-helpers.ts';

const OTHER_ACCOUNT = '111122223333';
const names = {
  bucketName: LOCAL_BUCKET,
  tableName: LOCAL_TABLE,
  stateMachineArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE}`,
};
const alarmOf = (account: string, name = 'AepAudiencePipeline-AlarmsRetriesExhausted1A2B3C4D-0123456789AB') =>
  `arn:aws:cloudwatch:${LOCAL_REGION}:${account}:alarm:${name}`;

let template: Json;
let policies: TemplatePolicies;
let alarmTopic: string;
let outcomeTopic: string;
let keyArn: string;

function topicArn(logicalIdPrefix: string): string {
  const found = Object.entries(policies.topics).filter(([, t]) => t.logicalId.startsWith(logicalIdPrefix));
  if (found.length !== 1) throw new Error(`expected one topic ${logicalIdPrefix}*, found ${found.length}`);
  return (found[0] as [string, unknown])[0];
}

/**
 * What AWS decides when `service` calls `action` on `resource` for the resource `sourceArn` of `sourceAccount`:
 * a service principal has no identity policy, so only the resource's policy (topic or key policy) can allow.
 */
async function serviceCall(
  service: string,
  action: string,
  resource: string,
  source: { arn: string; account: string },
  secureTransport = true,
): Promise<string> {
  const resourcePolicy = policies.resourcePolicies[resource]?.policy;
  const simulation = await runSimulation(
    {
      request: {
        principal: service,
        action,
        resource: { resource, accountId: LOCAL_ACCOUNT },
        contextVariables: {
          'aws:SourceArn': source.arn,
          'aws:SourceAccount': source.account,
          'aws:SecureTransport': String(secureTransport),
          'aws:RequestedRegion': LOCAL_REGION,
        },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (simulation.resultType === 'error') throw new Error(JSON.stringify(simulation.errors));
  return simulation.overallResult;
}

/** An alarm action publishing to an encrypted topic: SNS's Publish, and the KMS calls SSE makes for it. */
const ALARM_DELIVERY: [action: string, resource: () => string][] = [
  ['sns:Publish', () => alarmTopic],
  ['kms:GenerateDataKey', () => keyArn],
  ['kms:Decrypt', () => keyArn],
];

beforeAll(() => {
  const { stack } = buildApp({ skipBundling: true, nag: false });
  template = Template.fromStack(stack).toJSON();
  policies = readTemplatePolicies(template, names);
  alarmTopic = topicArn('NotificationsAlarms');
  outcomeTopic = topicArn('NotificationsOutcomes');
  const key = policies.topics[alarmTopic]?.kmsKeyArn;
  if (!key) throw new Error('the alarm topic is not encrypted with a customer key');
  keyArn = key;
});

describe('CloudWatch alarm actions', () => {
  it("may publish to the alarm topic and use its key for this account's alarms", async () => {
    const source = { arn: alarmOf(LOCAL_ACCOUNT), account: LOCAL_ACCOUNT };
    for (const [action, resource] of ALARM_DELIVERY) {
      expect(await serviceCall(CLOUDWATCH_ALARMS_PRINCIPAL, action, resource(), source), action).toBe(
        'Allowed',
      );
    }
  });

  it('reaches the alarm topic from every alarm of the stack, under the name CloudFormation gives it', async () => {
    const alarms = Object.entries<Json>(template.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm',
    );
    expect(alarms.length).toBeGreaterThan(0);
    const alarmTopicId = policies.topics[alarmTopic]?.logicalId;
    for (const [logicalId, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions, logicalId).toEqual([{ Ref: alarmTopicId }]);
      expect(alarm.Properties.AlarmName, logicalId).toBeUndefined();
      // Unnamed, CloudFormation names an alarm after the stack and its logical id (<stack>-<id>-<suffix>).
      const source = {
        arn: alarmOf(LOCAL_ACCOUNT, `AepAudiencePipeline-${logicalId}-0123456789AB`),
        account: LOCAL_ACCOUNT,
      };
      for (const [action, resource] of ALARM_DELIVERY) {
        expect(
          await serviceCall(CLOUDWATCH_ALARMS_PRINCIPAL, action, resource(), source),
          `${logicalId} ${action}`,
        ).toBe('Allowed');
      }
    }
  });

  it("may not for another account's alarm", async () => {
    for (const source of [
      { arn: alarmOf(OTHER_ACCOUNT), account: OTHER_ACCOUNT },
      // An ARN naming this account does not help a request made for another one.
      { arn: alarmOf(LOCAL_ACCOUNT), account: OTHER_ACCOUNT },
    ]) {
      for (const [action, resource] of ALARM_DELIVERY) {
        expect(await serviceCall(CLOUDWATCH_ALARMS_PRINCIPAL, action, resource(), source), action).toBe(
          'ImplicitlyDenied',
        );
      }
    }
  });

  it('may not on behalf of anything of this account but an alarm', async () => {
    const dashboard = `arn:aws:cloudwatch::${LOCAL_ACCOUNT}:dashboard/AepAudiencePipeline`;
    for (const [action, resource] of ALARM_DELIVERY) {
      expect(
        await serviceCall(CLOUDWATCH_ALARMS_PRINCIPAL, action, resource(), {
          arn: dashboard,
          account: LOCAL_ACCOUNT,
        }),
        action,
      ).toBe('ImplicitlyDenied');
    }
  });

  it('may not publish over plain HTTP, nor to the outcome topic', async () => {
    const source = { arn: alarmOf(LOCAL_ACCOUNT), account: LOCAL_ACCOUNT };
    expect(await serviceCall(CLOUDWATCH_ALARMS_PRINCIPAL, 'sns:Publish', alarmTopic, source, false)).toBe(
      'ExplicitlyDenied',
    );
    expect(await serviceCall(CLOUDWATCH_ALARMS_PRINCIPAL, 'sns:Publish', outcomeTopic, source)).toBe(
      'ImplicitlyDenied',
    );
  });

  it('is the only service the alarm topic lets in', async () => {
    const rule = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/any`;
    expect(
      await serviceCall('events.amazonaws.com', 'sns:Publish', alarmTopic, {
        arn: rule,
        account: LOCAL_ACCOUNT,
      }),
    ).toBe('ImplicitlyDenied');
  });
});

describe("the functions' roles", () => {
  it('still publish outcomes, and none of them publishes alarms', async () => {
    const authorizer = createAuthorizer({ resourcePolicies: policies.resourcePolicies });
    const ctx = {
      region: LOCAL_REGION,
      account: LOCAL_ACCOUNT,
      topics: policies.topics,
      secrets: policies.secrets,
    };
    const publish = (topic: string) =>
      checksFor({ service: 'sns', operation: 'Publish', params: { TopicArn: topic } }, ctx);
    const allowedAll = async (name: string, checks: Check[]) => {
      const principal = policies.functions[name];
      if (!principal) throw new Error(`no function ${name}`);
      for (const check of checks) {
        if (!(await authorizer.authorize(principal, check)).allowed) return false;
      }
      return true;
    };
    expect(await allowedAll('archive-file', publish(outcomeTopic))).toBe(true);
    for (const name of Object.keys(policies.functions)) {
      expect(await allowedAll(name, publish(alarmTopic)), name).toBe(false);
    }
  });
});
