// AEP credentials from Secrets Manager (mocked) and from the environment; no secret value in any error.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getAepClient } from '../../functions/shared/aep-context.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { PipelineError } from '../../functions/shared/pipeline-errors.ts';
import { loadAepCredentials, resetSecretCache, SECRET_CACHE_MS } from '../../functions/shared/secret.ts';

const MARKER = 'SECRET-MARKER-7f3a91';
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:aep-abc';
const secretsManager = mockClient(SecretsManagerClient);
const ENV_KEYS = [
  'AEP_SECRET_ARN',
  'AEP_CLIENT_ID',
  'AEP_CLIENT_SECRET',
  'AEP_ORG_ID',
  'AEP_SANDBOX_NAME',
  'AEP_BASE_CONNECTION_ID',
  'AEP_SCOPES',
  'AEP_IMS_URL',
  'AEP_PLATFORM_URL',
];
const saved: Record<string, string | undefined> = {};

const secretValue = {
  clientId: 'client-1',
  clientSecret: MARKER,
  orgId: 'ORG@AdobeOrg',
  sandboxName: 'dev',
  baseConnectionId: 'conn-1',
  scopes: 'openid,AdobeID',
};

async function failure(promise: Promise<unknown>): Promise<PipelineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PipelineError);
  const pipelineError = error as PipelineError;
  expect(pipelineError.name).toBe('CONFIG_INVALID');
  expect(pipelineError.message).not.toContain(MARKER);
  expect(JSON.stringify(pipelineError)).not.toContain(MARKER);
  expect(String(pipelineError.cause ?? '')).not.toContain(MARKER);
  return pipelineError;
}

beforeEach(() => {
  for (const key of ENV_KEYS) {
    saved[key] = process.env[key];
    delete process.env[key];
  }
  secretsManager.reset();
  resetSecretCache();
});

afterEach(() => {
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('loadAepCredentials from Secrets Manager', () => {
  beforeEach(() => {
    process.env.AEP_SECRET_ARN = ARN;
  });

  it('parses the JSON secret and caches it for five minutes', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: ARN })
      .resolves({ SecretString: JSON.stringify(secretValue) });
    let now = 1_000_000;
    expect(await loadAepCredentials(() => now)).toEqual(secretValue);
    now += SECRET_CACHE_MS - 1;
    await loadAepCredentials(() => now);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 2;
    await loadAepCredentials(() => now);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('names a missing key, never a value', async () => {
    const { orgId: _orgId, ...withoutOrg } = secretValue;
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(withoutOrg) });
    const error = await failure(loadAepCredentials());
    expect(error.message).toMatch(/key "orgId" of the AEP secret .* is missing/);
  });

  it('names an invalid key without quoting it', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ ...secretValue, imsUrl: `not a url ${MARKER}` }) });
    const error = await failure(loadAepCredentials());
    expect(error.message).toMatch(/key "imsUrl" .* is invalid/);
  });

  it('reports JSON that does not parse without quoting it', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: `{"clientSecret": "${MARKER}", oops}` });
    const error = await failure(loadAepCredentials());
    expect(error.message).toMatch(/is not valid JSON/);
  });

  it('turns a missing secret or permission into CONFIG_INVALID', async () => {
    const denied = new Error('User is not authorized');
    denied.name = 'AccessDeniedException';
    secretsManager.on(GetSecretValueCommand).rejects(denied);
    const error = await failure(loadAepCredentials());
    expect(error.message).toContain('AccessDeniedException');
  });

  it('lets a transient Secrets Manager failure propagate for a retry', async () => {
    const throttled = new Error('Rate exceeded');
    throttled.name = 'ThrottlingException';
    secretsManager.on(GetSecretValueCommand).rejects(throttled);
    await expect(loadAepCredentials()).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('loadAepCredentials from the environment', () => {
  it('reads the AEP_* variables when no secret ARN is set', async () => {
    Object.assign(process.env, {
      AEP_CLIENT_ID: 'client-1',
      AEP_CLIENT_SECRET: MARKER,
      AEP_ORG_ID: 'ORG@AdobeOrg',
      AEP_SANDBOX_NAME: 'dev',
      AEP_BASE_CONNECTION_ID: 'conn-1',
      AEP_PLATFORM_URL: 'http://127.0.0.1:4010',
    });
    expect(await loadAepCredentials()).toEqual({
      clientId: 'client-1',
      clientSecret: MARKER,
      orgId: 'ORG@AdobeOrg',
      sandboxName: 'dev',
      baseConnectionId: 'conn-1',
      platformUrl: 'http://127.0.0.1:4010',
    });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('names the missing variables', async () => {
    Object.assign(process.env, { AEP_CLIENT_ID: 'client-1', AEP_CLIENT_SECRET: MARKER, AEP_ORG_ID: 'o' });
    const error = await failure(loadAepCredentials());
    expect(error.message).toContain(
      'environment variable AEP_SANDBOX_NAME; environment variable AEP_BASE_CONNECTION_ID is missing',
    );
    expect(error.message).not.toContain('AEP_CLIENT_ID');
  });

  it('names an invalid variable without quoting it', async () => {
    Object.assign(process.env, {
      AEP_CLIENT_ID: 'client-1',
      AEP_CLIENT_SECRET: MARKER,
      AEP_ORG_ID: 'o',
      AEP_SANDBOX_NAME: 'dev',
      AEP_BASE_CONNECTION_ID: 'c',
      AEP_IMS_URL: MARKER,
    });
    const error = await failure(loadAepCredentials());
    expect(error.message).toContain('environment variable AEP_IMS_URL is invalid');
  });
});

describe('getAepClient', () => {
  it('keeps one client per container while the credentials stay the same', async () => {
    Object.assign(process.env, {
      AEP_CLIENT_ID: 'client-1',
      AEP_CLIENT_SECRET: MARKER,
      AEP_ORG_ID: 'ORG@AdobeOrg',
      AEP_SANDBOX_NAME: 'dev',
      AEP_BASE_CONNECTION_ID: 'conn-1',
    });
    const logger = createLogger({ service: 'test', sink: () => undefined });
    const first = await getAepClient(logger);
    expect(await getAepClient(logger)).toBe(first);
    process.env.AEP_CLIENT_SECRET = `${MARKER}-rotated`;
    const rotated = await getAepClient(logger);
    expect(rotated).not.toBe(first);
    expect(await getAepClient(logger)).toBe(rotated);
  });
});
