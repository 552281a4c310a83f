// The cdk-nag (AwsSolutions) findings this design accepts, each acknowledged with its full id and the reason,
// on the narrowest construct it applies to (cdk-nag 3: `Validations.of(scope).acknowledge`).
import { Stack, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
// The very function cdk-nag's IAM5 rule uses to name a resource in its finding id; not re-exported by the index.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/** The IAM5 finding id for a wildcard resource (an ARN token or a plain string), as cdk-nag spells it. */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}

export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: wildcardResourceFinding(scope, resource), reason });
}

/** Findings common to every function of the stack, and to resources with no better place to say why. */
export function acknowledgeNagFindings(stack: Stack): void {
  for (const construct of stack.node.findAll()) {
    if (!(construct instanceof lambda.Function)) continue;
    Validations.of(construct).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 24 is the runtime the bundles target (esbuild target node24) and the tests run against; moving to a newer runtime is a tested change, not an automatic one',
    });
    // On the role alone (its policies), not on the function: the X-Ray statement is the only `*` a role has.
    if (construct.role) {
      Validations.of(construct.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level scoping',
      });
    }
  }
}
