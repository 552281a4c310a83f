// The AEP credentials port: Secrets Manager in AWS (cached per container), environment variables locally.
// Error messages name the missing or invalid KEY only, never a value.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { AepCredentials } from './aep/types.ts';
import { PipelineError } from './pipeline-errors.ts';

/** How long a fetched secret is reused: a rotation reaches running containers within this time. */
export const SECRET_CACHE_MS = 5 * 60 * 1000;

const nonEmpty = z.string().trim().min(1);

const credentialsSchema = z.object({
  clientId: nonEmpty,
  clientSecret: nonEmpty,
  orgId: nonEmpty,
  sandboxName: nonEmpty,
  baseConnectionId: nonEmpty,
  scopes: nonEmpty.optional(),
  imsUrl: z.url().optional(),
  platformUrl: z.url().optional(),
});

/** The environment variable behind each key, for local runs without a secret. */
const ENV_NAMES: Record<keyof AepCredentials, string> = {
  clientId: 'AEP_CLIENT_ID',
  clientSecret: 'AEP_CLIENT_SECRET',
  orgId: 'AEP_ORG_ID',
  sandboxName: 'AEP_SANDBOX_NAME',
  baseConnectionId: 'AEP_BASE_CONNECTION_ID',
  scopes: 'AEP_SCOPES',
  imsUrl: 'AEP_IMS_URL',
  platformUrl: 'AEP_PLATFORM_URL',
};

/** Secrets Manager errors an operator must fix (wrong ARN, missing permission): not worth retrying. */
const CONFIGURATION_ERRORS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
]);

let cache: { arn: string; credentials: AepCredentials; fetchedAt: number } | undefined;
let secretsClient: SecretsManagerClient | undefined;

/** Forget the cached secret and client (tests). */
export function resetSecretCache(): void {
  cache = undefined;
  secretsClient = undefined;
}

/** The AEP credentials: from the secret `AEP_SECRET_ARN` when set, else from `AEP_*` environment variables. */
export async function loadAepCredentials(now: () => number = Date.now): Promise<AepCredentials> {
  const arn = process.env.AEP_SECRET_ARN?.trim();
  if (!arn) return credentialsFromEnvironment();
  if (cache && cache.arn === arn && now() - cache.fetchedAt < SECRET_CACHE_MS) return cache.credentials;
  const credentials = await fetchSecret(arn);
  cache = { arn, credentials, fetchedAt: now() };
  return credentials;
}

async function fetchSecret(arn: string): Promise<AepCredentials> {
  secretsClient ??= new SecretsManagerClient({});
  let secretString: string | undefined;
  try {
    const answer = await secretsClient.send(new GetSecretValueCommand({ SecretId: arn }));
    secretString = answer.SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (CONFIGURATION_ERRORS.has(name)) {
      throw new PipelineError('CONFIG_INVALID', `The AEP secret ${arn} could not be read (${name})`);
    }
    throw error;
  }
  if (secretString === undefined) {
    throw new PipelineError('CONFIG_INVALID', `The AEP secret ${arn} has no string value; store it as JSON`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // JSON.parse's own message quotes part of the text, which is the secret: never pass it on.
    throw new PipelineError('CONFIG_INVALID', `The AEP secret ${arn} is not valid JSON`);
  }
  return parseCredentials(parsed, (key) => `key "${key}" of the AEP secret ${arn}`);
}

function credentialsFromEnvironment(): AepCredentials {
  const raw: Record<string, string> = {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const value = process.env[envName];
    if (value !== undefined && value.trim() !== '') raw[key] = value;
  }
  const required = ['clientId', 'clientSecret', 'orgId', 'sandboxName', 'baseConnectionId'] as const;
  const missing = required.filter((key) => raw[key] === undefined).map((key) => ENV_NAMES[key]);
  if (missing.length > 0) {
    throw new PipelineError(
      'CONFIG_INVALID',
      `AEP credentials are not configured: set AEP_SECRET_ARN, or the environment variables ${missing.join(', ')}`,
    );
  }
  return parseCredentials(
    raw,
    (key) => `environment variable ${ENV_NAMES[key as keyof AepCredentials] ?? key}`,
  );
}

function parseCredentials(raw: unknown, describeKey: (key: string) => string): AepCredentials {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PipelineError('CONFIG_INVALID', `${describeKey('(root)')} must be a JSON object`);
  }
  const parsed = credentialsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // Built from the issue's path and kind only: zod messages may quote the received value.
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '(root)');
    const present = (raw as Record<string, unknown>)[key] !== undefined;
    return `${describeKey(key)} ${present ? 'is invalid' : 'is missing'}`;
  });
  throw new PipelineError(
    'CONFIG_INVALID',
    `AEP credentials are invalid: ${[...new Set(problems)].join('; ')}`,
  );
}
