// Each function's execution environment as Lambda would configure it: the synthesized environment, with the
// local AWS endpoint and the function's own credentials in place of what Lambda gives it.
import type { TemplatePolicies } from '../iam/template-policies.ts';
import type { AwsEndpoint } from './aws-endpoint.ts';
import type { LambdaFunctionSpec } from './lambda-pool.ts';
import type { AwsCredentials, S3JudgeTarget } from './moto.ts';
import { LOCAL_REGION, type TaskFunction } from './synthesized.ts';

/** Each function's own access key: the key is how the AWS endpoints tell which function sent a call. */
export function localAccessKeyId(logicalId: string): string {
  return `ASIA${logicalId.replace(/[^A-Za-z0-9]/g, '').toUpperCase()}`.slice(0, 32);
}

/**
 * The pool's specs, one per function, each registered with the endpoint under its own key: a key of its own
 * (or, with moto judging S3, its role's AssumeRole credentials). The handlers read the environment at cold
 * start, as in Lambda.
 */
export function functionSpecs(options: {
  functions: Record<string, TaskFunction>;
  policies: TemplatePolicies;
  endpoint: AwsEndpoint;
  judge?: S3JudgeTarget;
  /** The bundles' folders by function, when the code is the synthesized bundles. */
  bundleDirs?: Record<string, string | undefined>;
  /** For the AEP target (its retry settings), then the caller's additions (tests, --log-level). */
  aepEnvironment: Record<string, string>;
  extraEnvironment?: Record<string, string>;
}): LambdaFunctionSpec[] {
  const { endpoint } = options;
  return Object.entries(options.functions).map(([name, fn]) => {
    const principal = options.policies.functions[name];
    if (!principal) throw new Error(`the template gives function ${name} no role the runner can read`);
    const credentials: AwsCredentials = options.judge?.credentials.get(name) ?? {
      accessKeyId: localAccessKeyId(fn.logicalId),
      secretAccessKey: 'local',
    };
    endpoint.registerFunction(credentials, principal);
    return {
      name,
      logicalId: fn.logicalId,
      handlerFile: fn.handlerFile,
      ...(options.bundleDirs ? { bundleDir: options.bundleDirs[name] } : {}),
      environment: {
        ...fn.environment,
        AWS_REGION: LOCAL_REGION,
        AWS_ENDPOINT_URL: endpoint.gateway.url,
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
        ...options.aepEnvironment,
        ...options.extraEnvironment,
      },
      timeoutSeconds: fn.timeoutSeconds,
      memoryMb: fn.memoryMb,
    };
  });
}
