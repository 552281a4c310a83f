// Per-team settings by prefix: which team a key is, the team's credentials and sandbox, its validation settings
// and registry keys (with the fallback to items written before teams), the name claim between two teams of one
// sandbox, the per-sandbox run budget, and where its outcome goes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAudience } from '../../functions/create-audience/create-audience.ts';
import { aepTaskDeps } from '../../functions/shared/aep-context.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { registryKey, stagingPrefix } from '../../functions/shared/naming.ts';
import type { NotificationMessage, Notifier } from '../../functions/shared/notify.ts';
import { TeamRoutingNotifier } from '../../functions/shared/notify.ts';
import { Registry } from '../../functions/shared/registry.ts';
import { loadTeamCredentials, resetSecretCache } from '../../functions/shared/secret.ts';
import type { TaskEvent } from '../../functions/shared/state.ts';
import { type TeamsConfig, teamOf, teamsFromEnvironment } from '../../functions/shared/teams.ts';
import { type ValidateFileDeps, validateFile } from '../../functions/validate-file/validate-file.ts';
import { ConfigError, loadPipelineConfig } from '../../lib/config.ts';
import { planDrop } from '../../local/runner/drop-plan.ts';
import { rejection, startTestRegistry, type TestRegistry, taskDeps, taskEvent } from './support/aep-tasks.ts';
import { type EmbeddedS3, startEmbeddedS3 } from './support/embedded-s3.ts';
import { FakeAep } from './support/fake-aep.ts';

const TEAMS: TeamsConfig = {
  teams: {
    teamA: {
      sandboxName: 'prod-a',
      baseConnectionId: 'conn-a',
      defaultTtlInDays: 7,
      defaultDestinations: [{ flowId: 'flow-a', kind: 'streaming' }],
      requireManifest: true,
    },
    teamB: { sandboxName: 'prod-b', baseConnectionId: 'conn-b' },
  },
  unknownTeams: 'defaults',
};

describe('teamOf', () => {
  it('is the configured team of the first folder, matched exactly', () => {
    expect(teamOf('incoming/teamA/x/churn.csv', TEAMS)).toMatchObject({ kind: 'team', team: 'teamA' });
    expect(teamOf('incoming/teama/churn.csv', TEAMS)).toEqual({ kind: 'default' });
    expect(teamOf('incoming/teamAB/churn.csv', TEAMS)).toEqual({ kind: 'default' });
    expect(teamOf('incoming/churn.csv', TEAMS)).toEqual({ kind: 'default' });
    // An inherited property is no team.
    expect(teamOf('incoming/constructor/churn.csv', TEAMS)).toEqual({ kind: 'default' });
  });

  it('with unknownTeams "reject", refuses other folders and the top of incoming/ with a clear message', () => {
    const strict = { ...TEAMS, unknownTeams: 'reject' as const };
    const other = teamOf('incoming/sales/churn.csv', strict);
    expect(other).toMatchObject({ kind: 'rejected' });
    expect(other.kind === 'rejected' && other.message).toMatch(
      /under incoming\/sales\/, which is not a configured team; .* teamA, teamB/,
    );
    expect(teamOf('incoming/churn.csv', strict)).toMatchObject({ kind: 'rejected' });
    expect(teamOf('incoming/teamB/churn.csv', strict)).toMatchObject({ kind: 'team', team: 'teamB' });
  });

  it('reads PIPELINE_TEAMS and UNKNOWN_TEAMS, and names a bad variable', () => {
    expect(teamsFromEnvironment({})).toEqual({ teams: {}, unknownTeams: 'defaults' });
    expect(
      teamsFromEnvironment({
        PIPELINE_TEAMS: JSON.stringify({ t: { sandboxName: 's' } }),
        UNKNOWN_TEAMS: 'reject',
      }),
    ).toEqual({ teams: { t: { sandboxName: 's' } }, unknownTeams: 'reject' });
    expect(() => teamsFromEnvironment({ PIPELINE_TEAMS: '{oops' })).toThrow(/PIPELINE_TEAMS is invalid/);
    expect(() => teamsFromEnvironment({ UNKNOWN_TEAMS: 'maybe' })).toThrow(/UNKNOWN_TEAMS must be/);
  });
});

describe('pipeline.teams in cdk.json', () => {
  const minimal = { secretName: 'aep/creds' };
  const errorOf = (raw: unknown): string => {
    try {
      loadPipelineConfig(raw);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('takes a team with its sandbox, base connection and overrides', () => {
    const config = loadPipelineConfig({
      ...minimal,
      unknownTeams: 'reject',
      teams: {
        brandA: {
          sandboxName: 'brand-a',
          baseConnectionId: 'c-1',
          secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:brand-a-AbCdEf',
          onAudienceRunLimit: 'rollover',
          keepAlive: true,
          notifications: { emails: ['crm@brand-a.example'] },
        },
      },
    });
    expect(config.unknownTeams).toBe('reject');
    expect(config.teams.brandA?.sandboxName).toBe('brand-a');
  });

  it('names the bad key of a team', () => {
    expect(errorOf({ ...minimal, teams: { a: { sandboxName: 's' } } })).toContain(
      'pipeline.teams.a.baseConnectionId',
    );
    expect(
      errorOf({ ...minimal, teams: { a: { sandboxName: 's', baseConnectionId: 'c', ttl: 3 } } }),
    ).toContain('"pipeline.teams.a.ttl": unknown key');
    expect(errorOf({ ...minimal, teams: { 'a/b': { sandboxName: 's', baseConnectionId: 'c' } } })).toMatch(
      /pipeline\.teams\.a\/b": a team name is the first folder/,
    );
    expect(
      errorOf({
        ...minimal,
        teams: { a: { sandboxName: 's', baseConnectionId: 'c', notifications: {} } },
      }),
    ).toContain('pipeline.teams.a.notifications": set exactly one of topicArn');
    expect(errorOf({ ...minimal, unknownTeams: 'ignore' })).toContain('pipeline.unknownTeams');
  });

  it("checks a team's batch destinations as the stack's", () => {
    expect(
      errorOf({
        ...minimal,
        teams: {
          a: {
            sandboxName: 's',
            baseConnectionId: 'c',
            defaultDestinations: [{ flowId: 'f', kind: 'batch' }],
          },
        },
      }),
    ).toContain('pipeline.teams.a.defaultDestinations.0.batch": destination f: a batch destination needs');
  });
});

describe('loadTeamCredentials', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  const STACK_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stack-AbCdEf';
  const TEAM_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other-org-AbCdEf';
  const credentials = { clientId: 'id', clientSecret: 'secret-value', orgId: 'org' };
  let saved: string | undefined;

  beforeEach(() => {
    saved = process.env.AEP_SECRET_ARN;
    process.env.AEP_SECRET_ARN = STACK_ARN;
    secretsManager.reset();
    resetSecretCache();
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.AEP_SECRET_ARN;
    else process.env.AEP_SECRET_ARN = saved;
  });

  it("takes the team's sandbox and base connection over the old secret shape's, and its own secret", async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: STACK_ARN })
      .resolves({
        SecretString: JSON.stringify({ ...credentials, sandboxName: 'prod', baseConnectionId: 'c0' }),
      })
      .on(GetSecretValueCommand, { SecretId: TEAM_ARN })
      .resolves({ SecretString: JSON.stringify({ ...credentials, clientId: 'other-id' }) });
    expect(await loadTeamCredentials(undefined)).toMatchObject({
      sandboxName: 'prod',
      baseConnectionId: 'c0',
    });
    expect(await loadTeamCredentials({ sandboxName: 'dev-a', baseConnectionId: 'c-a' })).toMatchObject({
      clientId: 'id',
      sandboxName: 'dev-a',
      baseConnectionId: 'c-a',
    });
    expect(
      await loadTeamCredentials({ sandboxName: 'x', baseConnectionId: 'c-x', secretArn: TEAM_ARN }),
    ).toMatchObject({ clientId: 'other-id', sandboxName: 'x', baseConnectionId: 'c-x' });
  });

  it('a secret holding only credentials serves the teams; the files outside them are told what is missing', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(credentials) });
    expect(await loadTeamCredentials({ sandboxName: 'dev-a', baseConnectionId: 'c-a' })).toMatchObject({
      sandboxName: 'dev-a',
    });
    const error = await rejection(loadTeamCredentials(undefined));
    expect(error.name).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`key "sandboxName" of the AEP secret ${STACK_ARN}`);
    expect(error.message).not.toContain('secret-value');
  });
});

describe('ValidateFile with teams', () => {
  const BUCKET = 'drop';
  let embedded: EmbeddedS3;
  let s3: S3Client;
  let store: TestRegistry;
  let runs = 0;

  beforeAll(async () => {
    embedded = await startEmbeddedS3('teams', [BUCKET]);
    s3 = embedded.s3;
    store = await startTestRegistry('teams-validate');
  });
  afterAll(async () => {
    await embedded?.close();
    await store?.close();
  });

  const deps = (teams: TeamsConfig = TEAMS): ValidateFileDeps => ({
    s3,
    logger: createLogger({ service: 'test', sink: () => undefined }),
    teams,
    registry: store.registry,
    config: {
      defaultDestinations: [{ flowId: 'flow-stack', kind: 'streaming' }],
      defaultTtlInDays: 30,
      sourcePathIncludesBucket: true,
      requireManifest: false,
      identityNamespaces: { crmid: 'CRMID' },
      maxFileSizeBytes: 10 * 1024 ** 3,
      workers: 1,
    },
  });
  const drop = async (key: string, manifest?: object): Promise<TaskEvent> => {
    runs += 1;
    if (manifest) {
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key.replace(/\.csv$/, '.manifest.json'),
          Body: JSON.stringify(manifest),
        }),
      );
    }
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'email\nann@example.com\n' }));
    return {
      executionName: `run-${runs}-0a1b2c3d`,
      state: { file: { bucket: BUCKET, key, sequencer: '01', size: 22 } },
    };
  };

  it("uses the team's settings over the stack's and keys the audience by sandbox and team", async () => {
    const result = await validateFile(await drop('incoming/teamA/churn-1.csv', { ttlInDays: 3 }), deps());
    expect(result.valid).toBe(true);
    expect(result.destinations).toEqual([{ flowId: 'flow-a', kind: 'streaming' }]);
    expect(result.audience).toMatchObject({
      name: 'teamA/churn-1',
      registryKey: 'prod-a#teamA#teama/churn-1',
      stagingPrefix: stagingPrefix('prod-a#teamA#teama/churn-1'),
      ttlInDays: 3,
      team: 'teamA',
      sandbox: 'prod-a',
    });
    // teamA requires a manifest, the stack does not.
    const missing = await validateFile(await drop('incoming/teamA/churn-2.csv'), deps());
    expect(missing.failure?.code).toBe('MANIFEST_MISSING');
    const stack = await validateFile(await drop('incoming/sales/churn.csv'), deps());
    expect(stack.audience).toMatchObject({ registryKey: 'sales/churn', ttlInDays: 30 });
    expect(stack.audience?.team).toBeUndefined();
    expect(stack.destinations).toEqual([{ flowId: 'flow-stack', kind: 'streaming' }]);
  });

  it('refuses a file outside every team with TEAM_UNKNOWN when unknownTeams is "reject"', async () => {
    const event = await drop('incoming/sales/list.csv');
    const result = await validateFile(event, deps({ ...TEAMS, unknownTeams: 'reject' }));
    expect(result).toMatchObject({ valid: false, failure: { code: 'TEAM_UNKNOWN' } });
    expect(result.failure?.message).toContain('incoming/sales/');
    expect(result.staged).toBeUndefined();
  });

  it("finds the team's audience written under the key before teams, and stages where AEP reads it", async () => {
    const name = 'teamB/legacy';
    const legacyPrefix = stagingPrefix(registryKey(name));
    await store.client.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          pk: Registry.key('teamb/legacy'),
          registryKey: 'teamb/legacy',
          audienceName: name,
          stagingPrefix: legacyPrefix,
          status: 'READY',
          audienceId: 'aud-legacy',
          createdByExecution: 'teamB-legacy-11111111',
          runCount: 1,
          runs: {},
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-01T00:00:00.000Z',
        },
      }),
    );
    const result = await validateFile(await drop('incoming/teamB/legacy.csv'), deps());
    expect(result.audience).toMatchObject({ registryKey: 'teamb/legacy', stagingPrefix: legacyPrefix });
    expect(result.staged?.key.startsWith(legacyPrefix)).toBe(true);

    // CreateAudience then refreshes that audience: no create, no 409.
    const aep = new FakeAep();
    const audience = await createAudience(
      {
        ...taskEvent({ name, execution: 'teamB-legacy-2' }),
        state: { ...taskEvent({ name, execution: 'x' }).state, validation: result },
      },
      {
        ...taskDeps(aep, store.registry),
        config: { ...taskDeps(aep, store.registry).config, sandboxName: 'prod-b', team: 'teamB' },
      },
    );
    expect(audience).toMatchObject({ status: 'READY', audienceId: 'aud-legacy', refreshed: true });
    expect(aep.callsOf('createAudience')).toHaveLength(0);
  });

  it("does not take another folder's item under the old key", async () => {
    // A manifest name equal to an audience the files outside every team have.
    await store.client.send(
      new PutCommand({
        TableName: store.tableName,
        Item: {
          pk: Registry.key('shared name'),
          registryKey: 'shared name',
          audienceName: 'Shared Name',
          stagingPrefix: stagingPrefix('shared name'),
          status: 'READY',
          audienceId: 'aud-stack',
          createdByExecution: 'sales-list-22222222',
          runCount: 1,
          runs: {},
          createdAt: '2026-01-01T00:00:00.000Z',
          updatedAt: '2026-01-01T00:00:00.000Z',
        },
      }),
    );
    const result = await validateFile(
      await drop('incoming/teamA/shared.csv', { name: 'Shared Name' }),
      deps(),
    );
    expect(result.audience?.registryKey).toBe('prod-a#teamA#shared name');
  });
});

describe('two teams, one sandbox, one audience name', () => {
  let store: TestRegistry;
  beforeAll(async () => {
    store = await startTestRegistry('teams-names');
  });
  afterAll(async () => {
    await store?.close();
  });

  const teamEvent = (team: string, execution: string, sandbox = 'shared') => {
    const event = taskEvent({ name: 'Churn', execution });
    const plan = event.state.validation!.audience!;
    const key = registryKey('Churn', { sandbox, team });
    event.state.validation!.audience = { ...plan, registryKey: key, team, sandbox };
    event.state.file.key = `incoming/${team}/churn.csv`;
    return event;
  };
  const teamDeps = (aep: FakeAep, team: string) => {
    const deps = taskDeps(aep, store.registry);
    return { ...deps, config: { ...deps.config, sandboxName: 'shared', team } };
  };

  it('the second team gets AEP_REQUEST_REJECTED, and the first keeps its audience', async () => {
    const aep = new FakeAep();
    const first = await createAudience(teamEvent('teamA', 'a-1'), teamDeps(aep, 'teamA'));
    expect(first.status).toBe('CREATING');
    const error = await rejection(createAudience(teamEvent('teamB', 'b-1'), teamDeps(aep, 'teamB')));
    expect(error.name).toBe('AEP_REQUEST_REJECTED');
    expect(error.message).toBe(
      'The audience name "Churn" in sandbox "shared" belongs to team "teamA"; two teams cannot share an ' +
        'audience name in one sandbox. Rename the file (or set "name" in its manifest)',
    );
    expect(aep.callsOf('createAudience')).toHaveLength(1);
    // teamB's claim was released: a renamed upload is not blocked by it.
    expect(
      await store.registry.get(registryKey('Churn', { sandbox: 'shared', team: 'teamB' })),
    ).toBeUndefined();
    // The same name in another sandbox is another audience.
    const otherSandbox = new FakeAep();
    const other = await createAudience(teamEvent('teamB', 'b-2', 'other'), {
      ...teamDeps(otherSandbox, 'teamB'),
      config: { ...teamDeps(otherSandbox, 'teamB').config, sandboxName: 'other' },
    });
    expect(other.status).toBe('CREATING');
  });
});

describe('outcome notifications by team', () => {
  it("go to the team's topic when it has one, else to the stack's", async () => {
    const published: { topic: string; file: string }[] = [];
    const to = (topic: string): Notifier => ({
      publish: async (message: NotificationMessage) => {
        published.push({ topic, file: message.document.file });
      },
    });
    const notifier = new TeamRoutingNotifier(
      to('stack'),
      (file) => (file.startsWith('incoming/teamA/') ? 'arn:team-a' : undefined),
      (arn) => to(arn),
    );
    const message = (file: string) => ({ document: { file } }) as unknown as NotificationMessage;
    await notifier.publish(message('incoming/teamA/x.csv'));
    await notifier.publish(message('incoming/teamB/x.csv'));
    expect(published).toEqual([
      { topic: 'arn:team-a', file: 'incoming/teamA/x.csv' },
      { topic: 'stack', file: 'incoming/teamB/x.csv' },
    ]);
  });
});

describe('aepTaskDeps for a team', () => {
  const names = [
    'PIPELINE_TEAMS',
    'UNKNOWN_TEAMS',
    'AEP_SECRET_ARN',
    'AEP_CLIENT_ID',
    'AEP_CLIENT_SECRET',
    'AEP_ORG_ID',
    'AEP_SANDBOX_NAME',
    'AEP_BASE_CONNECTION_ID',
    'REGISTRY_TABLE_NAME',
    'ON_AUDIENCE_RUN_LIMIT',
  ];
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const name of names) saved[name] = process.env[name];
    for (const name of names) delete process.env[name];
    Object.assign(process.env, {
      AEP_CLIENT_ID: 'id',
      AEP_CLIENT_SECRET: 'secret',
      AEP_ORG_ID: 'org',
      AEP_SANDBOX_NAME: 'stack-sandbox',
      AEP_BASE_CONNECTION_ID: 'conn-stack',
      REGISTRY_TABLE_NAME: 'registry',
      PIPELINE_TEAMS: JSON.stringify({
        teamA: { sandboxName: 'prod-a', baseConnectionId: 'conn-a', onAudienceRunLimit: 'rollover' },
      }),
      UNKNOWN_TEAMS: 'defaults',
    });
    resetSecretCache();
  });
  afterEach(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("counts the day's runs and claims names in the team's sandbox, with the team's run-limit choice", async () => {
    const logger = createLogger({ service: 'test', sink: () => undefined });
    const team = await aepTaskDeps(logger, undefined, { key: 'incoming/teamA/churn.csv' });
    expect(team.config).toMatchObject({
      sandboxName: 'prod-a',
      team: 'teamA',
      onAudienceRunLimit: 'rollover',
    });
    const stack = await aepTaskDeps(logger, undefined, { key: 'incoming/sales/churn.csv' });
    expect(stack.config).toMatchObject({ sandboxName: 'stack-sandbox', onAudienceRunLimit: 'fail' });
    expect(stack.config.team).toBeUndefined();
    // One client per sandbox: each sends its own x-sandbox-name.
    expect(team.aep).not.toBe(stack.aep);
    process.env.UNKNOWN_TEAMS = 'reject';
    const refused = await rejection(aepTaskDeps(logger, undefined, { key: 'incoming/sales/churn.csv' }));
    expect(refused.name).toBe('TEAM_UNKNOWN');
  });
});

describe('run --team', () => {
  it('drops a file, or a folder drop, under incoming/<team>/', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'team-drop-'));
    try {
      const file = path.join(dir, 'churn.csv');
      writeFileSync(file, 'email\n');
      expect(planDrop(file, undefined, 'brandA')).toMatchObject({
        upload: { key: 'incoming/brandA/churn.csv' },
      });
      const folder = path.join(dir, 'export.parts');
      mkdirSync(folder);
      writeFileSync(path.join(folder, 'part-0.csv'), 'email\n');
      expect(planDrop(folder, undefined, 'brandA')).toMatchObject({
        folder: 'incoming/brandA/export.parts/',
        marker: { key: 'incoming/brandA/export.parts/_SUCCESS' },
      });
      expect(() => planDrop(file, undefined, 'a/b')).toThrow(/--team is a team name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
