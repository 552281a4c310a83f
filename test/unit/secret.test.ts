// The credentials port: Secrets Manager in AWS (cached), environment variables locally; a bad secret names
// the key, never the value.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAepCredentials, resetSecretCache } from '../../functions/shared/secret.ts';

const secretsManager = mockClient(SecretsManagerClient);
const MARKER = 'marker-client-secret-9c2e';
const saved = { ...process.env };

beforeEach(() => {
  secretsManager.reset();
  resetSecretCache();
  for (const name of Object.keys(process.env)) if (name.startsWith('AEP_')) delete process.env[name];
});
afterEach(() => {
  process.env = { ...saved };
});

const value = {
  clientId: 'id',
  clientSecret: MARKER,
  orgId: 'ORG@AdobeOrg',
  sandboxName: 'prod',
  baseConnectionId: 'conn',
};

describe('loadAepCredentials', () => {
  it('reads the secret once and serves it from the cache', async () => {
    process.env.AEP_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:1:secret:aep';
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });
    expect(await loadAepCredentials()).toMatchObject({ clientId: 'id', clientSecret: MARKER });
    await loadAepCredentials();
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('names the missing key of a malformed secret and never its values', async () => {
    process.env.AEP_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:1:secret:aep';
    const { orgId: _dropped, ...withoutOrg } = value;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(withoutOrg) });
    const error = (await loadAepCredentials().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(error.message).toMatch(/orgId/);
    expect(error.message).not.toContain(MARKER);
  });

  it('reads AEP_* environment variables when no secret ARN is configured (local runs)', async () => {
    Object.assign(process.env, {
      AEP_CLIENT_ID: 'id',
      AEP_CLIENT_SECRET: MARKER,
      AEP_ORG_ID: 'ORG@AdobeOrg',
      AEP_SANDBOX_NAME: 'dev',
      AEP_BASE_CONNECTION_ID: 'conn',
      AEP_PLATFORM_URL: 'http://127.0.0.1:1',
    });
    expect(await loadAepCredentials()).toMatchObject({
      sandboxName: 'dev',
      platformUrl: 'http://127.0.0.1:1',
    });
    delete process.env.AEP_ORG_ID;
    const error = (await loadAepCredentials().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/AEP_ORG_ID/);
    expect(error.message).not.toContain(MARKER);
  });
});
