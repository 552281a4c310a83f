// Decides one check for one function's role session with iam-simulate (identity policies + the resource's
// policy), and words a refusal as AWS does. Dev/local only: iam-simulate is AGPL and never reaches functions/.
import {
  getDenialReasons,
  type RequestAnalysis,
  type RequestDenial,
  runSimulation,
} from '@cloud-copilot/iam-simulate';
import type { Check } from './actions.ts';
import type { FunctionPrincipal, ResourcePolicy } from './template-policies.ts';

export type AuthorizationResult =
  | { allowed: true }
  | { allowed: false; action: string; resource: string; message: string; explicit: boolean };

export interface Authorizer {
  authorize(principal: FunctionPrincipal, check: Check): Promise<AuthorizationResult>;
}

export interface AuthorizerOptions {
  /** By the ARN of the resource they are attached to (TemplatePolicies.resourcePolicies). */
  resourcePolicies: Record<string, ResourcePolicy>;
  /** Default us-east-1: aws:RequestedRegion when a check does not set it. */
  region?: string;
  /** The clock for aws:CurrentTime and aws:EpochTime. */
  now?: () => Date;
}

/** The ARN whose resource policy governs a resource: an object's bucket, an index's table, else itself. */
export function policyOwnerArn(resource: string): string {
  const s3 = /^arn:aws:s3:::([^/]+)/.exec(resource);
  if (s3) return `arn:aws:s3:::${s3[1]}`;
  const dynamo = /^(arn:aws:dynamodb:[^:]*:[^:]*:table\/[^/]+)/.exec(resource);
  if (dynamo) return dynamo[1] as string;
  return resource;
}

/** AWS's names for the policy types in a denial message, with their article. */
const POLICY_TYPE_WORDS: Record<string, [string, string]> = {
  identity: ['an', 'identity-based policy'],
  resource: ['a', 'resource-based policy'],
  scp: ['a', 'service control policy'],
  rcp: ['a', 'resource control policy'],
  pb: ['a', 'permissions boundary'],
  vpce: ['a', 'VPC endpoint policy'],
  session: ['a', 'session policy'],
  's3-bpa': ['a', 'resource-based policy'],
};

/** SNS writes the service prefix in capitals in its messages (`SNS:Publish`); the others as in IAM. */
function actionAsWritten(action: string): string {
  return action.startsWith('sns:') ? `SNS:${action.slice(4)}` : action;
}

/**
 * AWS's wording (IAM user guide, "Troubleshoot access denied error messages"; S3 quotes the resource, see
 * AmazonS3/latest/userguide/troubleshoot-403-errors.html): `User: <principal> is not authorized to perform:
 * <action> on resource: <resource> because no <type> policy allows the <action> action`, or `... with an
 * explicit deny in a <type> policy`. With several policy types refusing, AWS names one: an explicit deny
 * first, else the identity side.
 */
export function denialMessage(sessionArn: string, check: Check, denials: RequestDenial[]): string {
  const action = actionAsWritten(check.action);
  const resource = check.action.startsWith('s3:') ? `"${check.resource}"` : check.resource;
  const head = `User: ${sessionArn} is not authorized to perform: ${action} on resource: ${resource}`;
  const explicit = denials.find((d) => d.denialType === 'Explicit');
  if (explicit) {
    const [article, type] = POLICY_TYPE_WORDS[explicit.policyType] ?? ['a', `${explicit.policyType} policy`];
    return `${head} with an explicit deny in ${article} ${type}`;
  }
  const implicit = denials.find((d) => d.policyType === 'identity') ?? denials[0];
  const [, type] = POLICY_TYPE_WORDS[implicit?.policyType ?? 'identity'] ?? ['', 'identity-based policy'];
  return `${head} because no ${type} allows the ${action} action`;
}

/** The condition keys (and policy variables) a policy reads, lower-cased: what a decision can depend on. */
function referencedKeys(policies: unknown[]): Set<string> {
  const keys = new Set<string>();
  const visit = (node: unknown, inCondition: boolean) => {
    if (typeof node === 'string') {
      for (const match of node.matchAll(/\$\{([^}]+)\}/g)) keys.add((match[1] as string).toLowerCase());
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [name, value] of Object.entries(node)) {
      // Condition: { Operator: { key: values } }: the keys are two levels below Condition.
      if (inCondition && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        for (const key of Object.keys(value)) keys.add(key.toLowerCase());
      }
      visit(value, name === 'Condition');
    }
  };
  for (const policy of policies) visit(policy, false);
  return keys;
}

const CACHE_LIMIT = 10_000;

export function createAuthorizer(options: AuthorizerOptions): Authorizer {
  const now = options.now ?? (() => new Date());
  const region = options.region ?? 'us-east-1';
  // Decisions are pure functions of (principal, action, resource, the context keys the policies read): the
  // policies are fixed for the authorizer's life. Keys the policies never read cannot change a decision, so
  // they stay out of the cache key; a time key that is read (aws:CurrentTime) is in it, and simply misses.
  const decisions = new Map<string, AuthorizationResult>();
  const keysRead = new WeakMap<FunctionPrincipal, Map<string, Set<string>>>();
  const keysReadFor = (principal: FunctionPrincipal, owner: string): Set<string> => {
    let byOwner = keysRead.get(principal);
    if (!byOwner) {
      byOwner = new Map();
      keysRead.set(principal, byOwner);
    }
    let keys = byOwner.get(owner);
    if (!keys) {
      const policies = principal.identityPolicies.map((p) => p.policy);
      const resourcePolicy = options.resourcePolicies[owner]?.policy;
      keys = referencedKeys(resourcePolicy ? [...policies, resourcePolicy] : policies);
      byOwner.set(owner, keys);
    }
    return keys;
  };

  return {
    async authorize(principal, check) {
      const at = now();
      const contextVariables: Record<string, string | string[]> = {
        'aws:PrincipalArn': principal.roleArn,
        'aws:PrincipalAccount': principal.accountId,
        'aws:PrincipalType': 'AssumedRole',
        // Lambda adds the function to every request its code signs with the execution role.
        'lambda:SourceFunctionArn': `arn:aws:lambda:${region}:${principal.accountId}:function:${principal.functionLogicalId}`,
        // The real calls go over HTTPS; the loopback HTTP hop must not trip the enforceSSL deny statements.
        'aws:SecureTransport': 'true',
        'aws:CurrentTime': at.toISOString(),
        'aws:EpochTime': String(Math.floor(at.getTime() / 1000)),
        'aws:RequestedRegion': region,
        ...check.context,
      };
      const owner = policyOwnerArn(check.resource);
      const keys = keysReadFor(principal, owner);
      const relevant = Object.entries(contextVariables)
        .filter(([key]) => keys.has(key.toLowerCase()))
        .sort(([a], [b]) => (a < b ? -1 : 1));
      const cacheKey = JSON.stringify([principal.sessionArn, check.action, check.resource, relevant]);
      const cached = decisions.get(cacheKey);
      if (cached) return cached;

      const resourcePolicy = options.resourcePolicies[owner]?.policy;
      const simulation = await runSimulation(
        {
          request: {
            principal: principal.sessionArn,
            action: check.action,
            resource: { resource: check.resource, accountId: principal.accountId },
            contextVariables,
          },
          identityPolicies: principal.identityPolicies,
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          ...(resourcePolicy ? { resourcePolicy } : {}),
        },
        {},
      );
      if (simulation.resultType === 'error') {
        throw new Error(
          `iam-simulate could not evaluate ${check.action} on ${check.resource} for ${principal.function}: ` +
            simulation.errors.message,
        );
      }
      let result: AuthorizationResult;
      if (simulation.overallResult === 'Allowed') {
        result = { allowed: true };
      } else {
        const analysis: RequestAnalysis | undefined =
          simulation.resultType === 'single' ? simulation.result.analysis : simulation.results[0]?.analysis;
        result = {
          allowed: false,
          action: check.action,
          resource: check.resource,
          message: denialMessage(principal.sessionArn, check, analysis ? getDenialReasons(analysis) : []),
          explicit: simulation.overallResult === 'ExplicitlyDenied',
        };
      }
      if (decisions.size >= CACHE_LIMIT) decisions.clear();
      decisions.set(cacheKey, result);
      return result;
    },
  };
}
