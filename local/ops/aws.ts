// The AWS side of the operator commands: SDK clients on the default credential chain, and AWS errors turned
// into messages an operator can act on.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

/** The exit codes of docs/contracts.md#exit-codes: 1 the operation could not be done, 2 usage or configuration. */
export class OpsError extends Error {
  override readonly name = 'OpsError';

  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

export interface OpsClients {
  cfn: CloudFormationClient;
  sfn: SFNClient;
  s3: S3Client;
}

/** Clients for one region (`--region`, else the SDK's own: AWS_REGION, the profile's region). */
export function createClients(region: string | undefined): OpsClients {
  const config = region ? { region } : {};
  return { cfn: new CloudFormationClient(config), sfn: new SFNClient(config), s3: new S3Client(config) };
}

export function destroyClients(clients: OpsClients): void {
  clients.cfn.destroy();
  clients.sfn.destroy();
  clients.s3.destroy();
}

/** An SDK error that no command handles itself, as an OpsError when it is about the setup. */
export function explainAwsError(error: unknown): unknown {
  const { name = '', message = '' } = (error ?? {}) as { name?: string; message?: string };
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new OpsError(
      'no AWS credentials found: set AWS_PROFILE (and run `aws sso login` if it uses SSO), or ' +
        'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      2,
    );
  }
  if (/Region is missing/i.test(message)) {
    return new OpsError('no AWS region: pass --region, or set AWS_REGION or a region in your profile', 2);
  }
  if (['ExpiredToken', 'ExpiredTokenException', 'UnrecognizedClientException'].includes(name)) {
    return new OpsError(`AWS refused the credentials (${name}): refresh them and try again`, 2);
  }
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new OpsError(`AWS denied the request: ${message}`, 2);
  }
  return error;
}
