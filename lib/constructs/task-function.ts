// A Lambda function of this project with its defaults: Node 24 on ARM, ESM bundle with source maps, X-Ray,
// its own log group, and the template metadata that maps it back to its handler file for the local runner.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The functions of the pipeline: each is `functions/<name>/handler.ts`, exporting `handler`. */
export const FUNCTION_NAMES = [
  'start-pipeline',
  'validate-file',
  'validate-large-file',
  'create-audience',
  'check-audience',
  'start-ingestion',
  'check-ingestion',
  'activate-destinations',
  'archive-file',
  'handle-failure',
  'record-execution-failure',
  'keep-alive',
  'delete-audience',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Template metadata key read by the local runner to find a function's handler module. */
export const HANDLER_METADATA_KEY = 'aep:handler';

export function handlerFile(name: FunctionName): string {
  return `functions/${name}/handler.ts`;
}

export interface TaskFunctionProps {
  name: FunctionName;
  description: string;
  logRetention: logs.RetentionDays;
  memorySize?: number;
  timeout?: Duration;
  environment?: Record<string, string>;
}

export class TaskFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly name: FunctionName;

  constructor(scope: Construct, id: string, props: TaskFunctionProps) {
    super(scope, id);
    this.name = props.name;
    const entry = path.join(PROJECT_ROOT, handlerFile(props.name));

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      // Logs are diagnostics, not records: they go with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // The function's own role, without AWSLambdaBasicExecutionRole: that managed policy lets it create and write
    // any log group of the account; this function only writes streams of its own group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.name} function of the audience pipeline`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // The log group's Arn attribute ends in `:*`, which covers its streams and nothing else.
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const common = {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(2),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      role,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        LOG_LEVEL: 'INFO',
        ...props.environment,
      },
    } satisfies Partial<lambda.FunctionProps>;

    if (!existsSync(entry) && !Stack.of(this).bundlingRequired) {
      // NodejsFunction refuses a missing entry even when bundling is skipped; a synth that does not bundle
      // (tests, the local runner) only needs the function's configuration, so a stub stands in for the code.
      this.function = new lambda.Function(this, 'Function', {
        ...common,
        handler: 'index.handler',
        code: lambda.Code.fromInline(
          `exports.handler = async () => { throw new Error('${props.name} not bundled'); };`,
        ),
      });
    } else {
      this.function = new nodejs.NodejsFunction(this, 'Function', {
        ...common,
        entry,
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
        bundling: {
          minify: true,
          sourceMap: true,
          keepNames: true,
          target: 'node24',
          format: nodejs.OutputFormat.ESM,
          mainFields: ['module', 'main'],
          // ESM output still meets CommonJS dependencies that call require(); give them one.
          banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
          // The SDK is bundled at the versions the tests ran against, not taken from the runtime.
          externalModules: [],
          // Warnings and errors only: `cdk synth` stays quiet about bundle sizes.
          logLevel: nodejs.LogLevel.WARNING,
        },
      });
    }

    const cfnFunction = this.function.node.defaultChild as lambda.CfnFunction;
    cfnFunction.addMetadata(HANDLER_METADATA_KEY, handlerFile(props.name));
  }
}
