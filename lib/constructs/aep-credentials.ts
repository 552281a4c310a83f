// The Secrets Manager secret holding the AEP client credentials: imported by ARN, or created with a
// placeholder value that operators fill in (the stack never holds the real values).
import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface AepCredentialsProps {
  /** Name of the secret to create; ignored when `secretArn` is given. */
  secretName?: string | undefined;
  /** Complete ARN of an existing secret. */
  secretArn?: string | undefined;
  /** The teams' own secrets (`pipeline.teams.<team>.secretArn`): read by the same functions. */
  teamSecretArns?: string[] | undefined;
}

/** The shape operators fill in; every field empty so no credential ever sits in the template. */
export const PLACEHOLDER_SECRET_VALUE = {
  clientId: '',
  clientSecret: '',
  orgId: '',
  sandboxName: '',
  baseConnectionId: '',
} as const;

export class AepCredentials extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** The configured teams' own secrets, one per distinct ARN. */
  readonly teamSecrets: secretsmanager.ISecret[];

  constructor(scope: Construct, id: string, props: AepCredentialsProps) {
    super(scope, id);
    if (props.secretArn) {
      this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', props.secretArn);
    } else {
      this.secret = new secretsmanager.Secret(this, 'Secret', {
        secretName: props.secretName,
        description: 'Adobe Experience Platform OAuth server-to-server credentials for the audience pipeline',
        // Placeholder only (all fields empty): the real values are put by operators, never by the stack.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify(PLACEHOLDER_SECRET_VALUE)),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(this.secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'An Adobe OAuth client secret is rotated in the Adobe Developer Console, which no rotation Lambda can drive; operators update this secret when they rotate it',
      });
    }
    const own = [...new Set(props.teamSecretArns ?? [])].filter((arn) => arn !== props.secretArn);
    this.teamSecrets = own.map((arn, index) =>
      secretsmanager.Secret.fromSecretCompleteArn(this, `TeamSecret${index}`, arn),
    );
  }

  get secretArn(): string {
    return this.secret.secretArn;
  }

  /**
   * Read the stack's secret and every team's: one set of functions serves every team, so each may read the
   * secret of any configured team, and no other.
   */
  grantRead(grantee: iam.IGrantable): void {
    this.secret.grantRead(grantee);
    for (const secret of this.teamSecrets) secret.grantRead(grantee);
  }
}
