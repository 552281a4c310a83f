// The AEP credentials port: Secrets Manager in AWS (cached per container and secret), environment variables
// locally. A team's `sandboxName` and `baseConnectionId` come from its settings and its `secretArn` names its
// own secret; a secret then needs only the credentials, and one that still holds both (the shape before teams)
// serves the files outside every team. Error messages name the missing or invalid KEY only, never a value.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { AepCredentials } from './aep/types.ts';
import { PipelineError } from './pipeline-errors.ts';
import type { TeamRuntimeSettings } from './teams.ts';

/** How long a fetched secret is reused: a rotation reaches running containers within this time. */
export const SECRET_CACHE_MS = 5 * 60 * 1000;

const nonEmpty = z.string().trim().min(1);

const credentialsSchema = z.object({
  clientId: nonEmpty,
  clientSecret: nonEmpty,
  orgId: nonEmpty,
  sandboxName: nonEmpty.optional(),
  baseConnectionId: nonEmpty.optional(),
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

/** What a secret holds: the credentials, and the sandbox and base connection when it still names them. */
type StoredCredentials = Omit<AepCredentials, 'sandboxName' | 'baseConnectionId'> &
  Partial<Pick<AepCredentials, 'sandboxName' | 'baseConnectionId'>>;

/** Fetched secrets by ARN: the teams' secrets and the stack's, each reused for SECRET_CACHE_MS. */
const cache = new Map<string, { credentials: StoredCredentials; fetchedAt: number }>();
let secretsClient: SecretsManagerClient | undefined;

/** Forget the cached secrets and client (tests). */
export function resetSecretCache(): void {
  cache.clear();
  secretsClient = undefined;
}

/**
 * The AEP credentials of the files outside every team: from the secret `AEP_SECRET_ARN` when set, else from
 * `AEP_*` environment variables; either must name the sandbox and the base connection.
 */
export async function loadAepCredentials(now: () => number = Date.now): Promise<AepCredentials> {
  return loadTeamCredentials(undefined, now);
}

/**
 * The AEP credentials for a team's files: its own secret (`secretArn`) or the stack's, with the team's sandbox
 * and base connection over whatever the secret names. Without a team, the secret's own.
 */
export async function loadTeamCredentials(
  team: TeamRuntimeSettings | undefined,
  now: () => number = Date.now,
): Promise<AepCredentials> {
  const arn = team?.secretArn?.trim() || process.env.AEP_SECRET_ARN?.trim();
  const stored = arn ? await cachedSecret(arn, now) : credentialsFromEnvironment();
  const credentials = {
    ...stored,
    ...(team?.sandboxName ? { sandboxName: team.sandboxName } : {}),
    ...(team?.baseConnectionId ? { baseConnectionId: team.baseConnectionId } : {}),
  };
  const { sandboxName, baseConnectionId } = credentials;
  if (sandboxName === undefined || baseConnectionId === undefined) {
    const absent: ('sandboxName' | 'baseConnectionId')[] = [];
    if (!sandboxName) absent.push('sandboxName');
    if (!baseConnectionId) absent.push('baseConnectionId');
    const missing = absent.map((key) =>
      arn ? `key "${key}" of the AEP secret ${arn}` : `environment variable ${ENV_NAMES[key]}`,
    );
    throw new PipelineError(
      'CONFIG_INVALID',
      `AEP credentials are invalid: ${missing.join('; ')} is missing (files outside a configured team ` +
        'take the sandbox and base connection from the secret; a team takes them from its settings)',
    );
  }
  return { ...credentials, sandboxName, baseConnectionId };
}

async function cachedSecret(arn: string, now: () => number): Promise<StoredCredentials> {
  const hit = cache.get(arn);
  if (hit && now() - hit.fetchedAt < SECRET_CACHE_MS) return hit.credentials;
  const credentials = await fetchSecret(arn);
  cache.set(arn, { credentials, fetchedAt: now() });
  return credentials;
}

async function fetchSecret(arn: string): Promise<StoredCredentials> {
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

function credentialsFromEnvironment(): StoredCredentials {
  const raw: Record<string, string> = {};
  for (const [key, envName] of Object.entries(ENV_NAMES)) {
    const value = process.env[envName];
    if (value !== undefined && value.trim() !== '') raw[key] = value;
  }
  const required = ['clientId', 'clientSecret', 'orgId'] as const;
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

function parseCredentials(raw: unknown, describeKey: (key: string) => string): StoredCredentials {
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
