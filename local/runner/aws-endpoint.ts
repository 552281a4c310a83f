// The local AWS endpoint every function calls: the gateway in front of S3, DynamoDB and Step Functions, which
// knows each caller by its access key and authorizes its calls as AWS would.
import type { AwsGateway, GatewayDecision, PublishedMessage } from '../iam/gateway.ts';
import type { FunctionPrincipal, TemplatePolicies } from '../iam/template-policies.ts';
import type { AwsCredentials } from './moto.ts';
import { motoAuthorization, needsMotoSignature } from './moto-signing.ts';

export interface AwsEndpoint {
  gateway: AwsGateway;
  /** Lets a function's key in, as that function (and lets the gateway re-sign its S3 calls for moto). */
  registerFunction(credentials: AwsCredentials, principal: FunctionPrincipal): void;
}

export async function startAwsEndpoint(options: {
  policies: TemplatePolicies;
  backends: { s3: string; dynamodb: string; states: string };
  admin: AwsCredentials;
  /** The S3 backend checks signatures itself (moto): S3 calls moto would misread are signed again for it. */
  resignForMoto: boolean;
  onPublish: (message: PublishedMessage) => void;
  onDecision: (decision: GatewayDecision) => void;
}): Promise<AwsEndpoint> {
  const { startAwsGateway } = await import('../iam/gateway.ts');
  const secretKeys = new Map<string, string>([[options.admin.accessKeyId, options.admin.secretAccessKey]]);
  const gateway = await startAwsGateway({
    policies: options.policies,
    backends: options.backends,
    onPublish: options.onPublish,
    onDecision: options.onDecision,
    ...(options.resignForMoto
      ? {
          resignS3: (request, accessKeyId) => {
            const secret = secretKeys.get(accessKeyId);
            return secret && needsMotoSignature(request.path, request.query)
              ? motoAuthorization(request, secret)
              : undefined;
          },
        }
      : {}),
  });
  gateway.registerAdministrator(options.admin.accessKeyId);
  return {
    gateway,
    registerFunction(credentials, principal) {
      gateway.registerPrincipal(credentials.accessKeyId, principal);
      secretKeys.set(credentials.accessKeyId, credentials.secretAccessKey);
    },
  };
}
