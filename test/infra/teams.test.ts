// A stack with pipeline.teams: each function gets the teams' settings it uses (PIPELINE_TEAMS) and only the
// grants they need: the AEP tasks read every team's secret, the functions that end a file publish to every
// team's topic (an existing one, or one the stack creates with the team's e-mails subscribed), the validation
// functions read single registry items; the dashboard graphs the outcomes by team.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app-factory.ts';
import { AEP_TASK_NAMES } from '../../lib/constructs/pipeline-tasks.ts';
import { asArray, flatten, functionsByLogicalId, type Json, policyStatements } from './template-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const cdkContext = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const TEAM_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:brand-a-aep-AbCdEf';
const TEAM_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:brand-b-outcomes';

let template: Json;

beforeAll(() => {
  const { app, stack } = buildApp({
    skipBundling: true,
    context: {
      ...cdkContext,
      pipeline: {
        ...cdkContext.pipeline,
        unknownTeams: 'reject',
        teams: {
          brandA: {
            sandboxName: 'brand-a',
            baseConnectionId: 'conn-a',
            secretArn: TEAM_SECRET,
            defaultTtlInDays: 14,
            onAudienceRunLimit: 'rollover',
            notifications: { emails: ['crm@brand-a.example'] },
          },
          brandB: {
            sandboxName: 'brand-b',
            baseConnectionId: 'conn-b',
            notifications: { topicArn: TEAM_TOPIC },
          },
        },
      },
    },
  });
  template = app.synth().getStackByName(stack.stackName).template;
});

function functionId(name: string): string {
  const found = Object.entries(functionsByLogicalId(template)).find(([, handler]) => handler === name);
  if (!found) throw new Error(`no function ${name}`);
  return found[0];
}

function environmentOf(name: string): Record<string, Json> {
  return template.Resources[functionId(name)].Properties.Environment.Variables;
}

/** `action resource` for every statement of the function's role. */
function grantsOf(name: string): string[] {
  const role = template.Resources[functionId(name)].Properties.Role['Fn::GetAtt'][0] as string;
  return policyStatements(template)
    .filter(({ roles }) => roles.includes(role))
    .flatMap(({ statement }) =>
      asArray<string>(statement.Action).flatMap((action) =>
        asArray(statement.Resource).map((resource) => `${action} ${flatten(resource)}`),
      ),
    );
}

const teamTopicId = () =>
  Object.keys(template.Resources).find(
    (id) => template.Resources[id].Type === 'AWS::SNS::Topic' && id.includes('TeamOutcomesbrandA'),
  )!;

describe('a stack with teams', () => {
  it("gives each function only the teams' settings it uses", () => {
    const validation = JSON.parse(environmentOf('validate-file').PIPELINE_TEAMS);
    expect(validation).toEqual({
      brandA: { sandboxName: 'brand-a', defaultTtlInDays: 14 },
      brandB: { sandboxName: 'brand-b' },
    });
    expect(environmentOf('validate-file').UNKNOWN_TEAMS).toBe('reject');
    expect(environmentOf('validate-large-file').PIPELINE_TEAMS).toBe(
      environmentOf('validate-file').PIPELINE_TEAMS,
    );
    for (const name of AEP_TASK_NAMES) {
      expect(JSON.parse(environmentOf(name).PIPELINE_TEAMS)).toEqual({
        brandA: {
          sandboxName: 'brand-a',
          baseConnectionId: 'conn-a',
          secretArn: TEAM_SECRET,
          onAudienceRunLimit: 'rollover',
        },
        brandB: { sandboxName: 'brand-b', baseConnectionId: 'conn-b' },
      });
    }
    // The upkeep functions extend and delete a team's audiences with its credentials, in its sandbox;
    // KeepAlive, which also tells teams of expiring audiences, has each team's topic beside them.
    expect(JSON.parse(environmentOf('delete-audience').PIPELINE_TEAMS)).toEqual({
      brandA: { sandboxName: 'brand-a', baseConnectionId: 'conn-a', secretArn: TEAM_SECRET },
      brandB: { sandboxName: 'brand-b', baseConnectionId: 'conn-b' },
    });
    const keepAlive = flatten(environmentOf('keep-alive').PIPELINE_TEAMS);
    expect(keepAlive).toContain(
      `"brandB":{"sandboxName":"brand-b","baseConnectionId":"conn-b","topicArn":"${TEAM_TOPIC}"}`,
    );
    expect(keepAlive).toContain(
      `"brandA":{"sandboxName":"brand-a","baseConnectionId":"conn-a","secretArn":"${TEAM_SECRET}","topicArn":"`,
    );
    // The topic of each team that has one; a token for the topic the stack creates.
    const ending = flatten(environmentOf('archive-file').PIPELINE_TEAMS);
    expect(ending).toContain(`"brandB":{"topicArn":"${TEAM_TOPIC}"}`);
    expect(ending).toContain(`<${teamTopicId()}>`);
  });

  it("lets the AEP tasks read the stack's secret and every team's, and nothing else", () => {
    for (const name of AEP_TASK_NAMES) {
      const secrets = grantsOf(name).filter((line) => line.startsWith('secretsmanager:GetSecretValue'));
      expect(secrets).toHaveLength(2);
      expect(secrets).toContain(`secretsmanager:GetSecretValue ${TEAM_SECRET}`);
      expect(secrets.filter((line) => line.includes(TEAM_SECRET))).toHaveLength(1);
    }
    for (const name of ['validate-file', 'archive-file', 'handle-failure', 'start-pipeline']) {
      expect(grantsOf(name).some((line) => line.startsWith('secretsmanager:'))).toBe(false);
    }
  });

  it("lets the functions that end a file publish to every team's topic", () => {
    for (const name of ['archive-file', 'handle-failure', 'record-execution-failure']) {
      const publish = grantsOf(name).filter((line) => line.startsWith('sns:Publish'));
      expect(publish).toHaveLength(3);
      expect(publish).toContain(`sns:Publish ${TEAM_TOPIC}`);
      expect(publish).toContain(`sns:Publish <${teamTopicId()}>`);
    }
    expect(grantsOf('create-audience').some((line) => line.startsWith('sns:'))).toBe(false);
  });

  it("creates a team's own topic, encrypted like the others, with its e-mails subscribed", () => {
    const topic = template.Resources[teamTopicId()];
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    const subscriptions = Object.values<Json>(template.Resources).filter(
      (r) => r.Type === 'AWS::SNS::Subscription' && r.Properties.TopicArn?.Ref === teamTopicId(),
    );
    expect(subscriptions.map((s) => [s.Properties.Protocol, s.Properties.Endpoint])).toEqual([
      ['email', 'crm@brand-a.example'],
    ]);
  });

  it("lets the validation functions read one registry item (a team's audience from before teams)", () => {
    for (const name of ['validate-file', 'validate-large-file']) {
      const registry = grantsOf(name).filter((line) => line.startsWith('dynamodb:'));
      expect(registry).toHaveLength(1);
      expect(registry[0]).toMatch(/^dynamodb:GetItem <AudienceRegistryTable[0-9A-F]+\.Arn>$/);
      expect(environmentOf(name).REGISTRY_TABLE_NAME).toBeDefined();
    }
  });

  it('graphs the outcomes by team on the dashboard', () => {
    const dashboard = Object.values<Json>(template.Resources).find(
      (r) => r.Type === 'AWS::CloudWatch::Dashboard',
    );
    const body = flatten(dashboard.Properties.DashboardBody);
    expect(body).toContain('Files succeeded by team');
    expect(body).toContain('{AepAudiencePipeline,service,team} MetricName=\\"FilesSucceeded\\"');
    expect(body).toContain('{AepAudiencePipeline,service,team} MetricName=\\"FilesFailed\\"');
  });
});

describe('a stack without teams', () => {
  it('gives the functions no team settings and the validation functions no registry access', () => {
    const { app, stack } = buildApp({ skipBundling: true });
    const plain = app.synth().getStackByName(stack.stackName).template;
    for (const resource of Object.values<Json>(plain.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      expect(resource.Properties.Environment?.Variables?.PIPELINE_TEAMS).toBeUndefined();
    }
  });
});
