// The state machine: one execution per file, state names that read as a story in the console
// (docs/architecture.md#state-machine).
// Wrong files and requests are caught into HandleFailure; outages are retried, then left uncaught so the
// execution fails at the task and an operator can redrive it there.
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  CAUGHT_ERROR_CODES,
  LAMBDA_SERVICE_ERRORS,
  RETRYABLE_ERROR_CODES,
} from '../../functions/shared/pipeline-errors.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { PipelineTasks } from './pipeline-tasks.ts';
import type { TaskFunction } from './task-function.ts';

export interface WorkflowProps {
  tasks: PipelineTasks;
  logRetention: logs.RetentionDays;
  /** Files with more CSV bytes than this are validated by ValidateLargeFile. */
  largeFileThresholdBytes: number;
}

const [AEP_UNAVAILABLE, AEP_BUSY] = RETRYABLE_ERROR_CODES;

/** Outage retries on the AEP tasks: an outage backs off steeply, a busy AEP is waited for patiently. */
const AEP_RETRIES: sfn.RetryProps[] = [
  {
    errors: [AEP_UNAVAILABLE],
    interval: Duration.seconds(20),
    backoffRate: 2,
    maxAttempts: 4,
    maxDelay: Duration.seconds(300),
    jitterStrategy: sfn.JitterType.FULL,
  },
  {
    errors: [AEP_BUSY],
    interval: Duration.seconds(60),
    backoffRate: 1.5,
    maxAttempts: 10,
    maxDelay: Duration.seconds(600),
    jitterStrategy: sfn.JitterType.FULL,
  },
];

export class Workflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const fns = props.tasks;

    const invoked: TaskFunction[] = [];
    const invoke = (stateName: string, task: TaskFunction, resultPath: string, timeoutSeconds: number) => {
      invoked.push(task);
      const state = new tasks.LambdaInvoke(this, stateName, {
        lambdaFunction: task.function,
        // The Resource is then the function ARN itself, and a thrown error keeps its name as the state's Error.
        payloadResponseOnly: true,
        payload: sfn.TaskInput.fromObject({
          'executionName.$': '$$.Execution.Name',
          'executionArn.$': '$$.Execution.Id',
          'state.$': '$',
        }),
        resultPath,
        taskTimeout: sfn.Timeout.duration(Duration.seconds(timeoutSeconds)),
        // Replaced by the explicit list below, which also retries throttling.
        retryOnServiceExceptions: false,
      });
      state.addRetry({
        errors: [...LAMBDA_SERVICE_ERRORS],
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
      });
      return state;
    };
    const withAepRetries = (state: tasks.LambdaInvoke) => {
      for (const retry of AEP_RETRIES) state.addRetry(retry);
      return state;
    };

    const failed = new sfn.Fail(this, 'Failed', {
      errorPath: '$.failure.code',
      causePath: '$.failure.message',
    });
    const handleFailure = invoke('HandleFailure', fns.handleFailure, '$.failure', 300).next(failed);
    const catchWrongInput = (state: tasks.LambdaInvoke) =>
      state.addCatch(handleFailure, { errors: [...CAUGHT_ERROR_CODES], resultPath: '$.error' });

    const validateFile = catchWrongInput(invoke('ValidateFile', fns.validateFile, '$.validation', 900));
    const validateLargeFile = catchWrongInput(
      invoke('ValidateLargeFile', fns.validateLargeFile, '$.validation', 900),
    );
    // By the CSV bytes start-pipeline found (a file's size, a folder's parts summed, a gzip's size times its
    // expected expansion); an execution started before `dataBytes` existed goes by the object's size.
    const large = props.largeFileThresholdBytes;
    const fileSize = new sfn.Choice(this, 'LargeFile?')
      .when(
        sfn.Condition.or(
          sfn.Condition.and(
            sfn.Condition.isPresent('$.file.dataBytes'),
            sfn.Condition.numberGreaterThan('$.file.dataBytes', large),
          ),
          // Not(IsPresent) rather than `IsPresent: false`, the same in AWS: aws-local-stepfunctions 3.0.0
          // evaluates `IsPresent: false` on a missing path as false, and the local runs must route alike.
          sfn.Condition.and(
            sfn.Condition.not(sfn.Condition.isPresent('$.file.dataBytes')),
            sfn.Condition.numberGreaterThan('$.file.size', large),
          ),
        ),
        validateLargeFile,
      )
      .otherwise(validateFile);
    const rejectFile = new sfn.Pass(this, 'RejectFile', {
      parameters: { 'Error.$': '$.validation.failure.code', 'Cause.$': '$.validation.failure.message' },
      resultPath: '$.error',
    }).next(handleFailure);

    const aepTask = (stateName: string, task: TaskFunction, resultPath: string, timeoutSeconds: number) =>
      catchWrongInput(withAepRetries(invoke(stateName, task, resultPath, timeoutSeconds)));

    const createAudience = aepTask('CreateAudience', fns.aep['create-audience'], '$.audience', 120);
    const checkAudience = aepTask('CheckAudience', fns.aep['check-audience'], '$.audience', 60);
    const startIngestion = aepTask('StartIngestion', fns.aep['start-ingestion'], '$.ingestion', 120);
    const checkIngestion = aepTask('CheckIngestion', fns.aep['check-ingestion'], '$.ingestion', 60);
    const activateDestinations = aepTask(
      'ActivateDestinations',
      fns.aep['activate-destinations'],
      '$.activation',
      300,
    );
    const archiveFile = invoke('ArchiveFile', fns.archiveFile, '$.result', 900);
    const succeeded = new sfn.Succeed(this, 'Succeeded');

    const waitForAudience = new sfn.Wait(this, 'WaitForAudience', {
      time: sfn.WaitTime.secondsPath('$.audience.poll.waitSeconds'),
    });
    const audienceReady = new sfn.Choice(this, 'AudienceReady?')
      .when(sfn.Condition.stringEquals('$.audience.status', 'READY'), startIngestion)
      .otherwise(waitForAudience);
    waitForAudience.next(checkAudience).next(audienceReady);

    const waitForIngestion = new sfn.Wait(this, 'WaitForIngestion', {
      time: sfn.WaitTime.secondsPath('$.ingestion.poll.waitSeconds'),
    });
    // The audience's other run, or the day's run budget (docs/architecture.md#registry-and-locks).
    const waitForRunSlot = new sfn.Wait(this, 'WaitForRunSlot', {
      time: sfn.WaitTime.secondsPath('$.ingestion.poll.waitSeconds'),
    });
    const ingestionDone = new sfn.Choice(this, 'IngestionDone?')
      .when(sfn.Condition.stringEquals('$.ingestion.status', 'SUCCESS'), activateDestinations)
      .when(sfn.Condition.stringEquals('$.ingestion.status', 'WAITING'), waitForRunSlot)
      .otherwise(waitForIngestion);
    waitForRunSlot.next(startIngestion);
    waitForIngestion.next(checkIngestion).next(ingestionDone);
    startIngestion.next(ingestionDone);
    activateDestinations.next(archiveFile).next(succeeded);

    const rejected = new sfn.Choice(this, 'Rejected?')
      .when(sfn.Condition.booleanEquals('$.validation.valid', false), rejectFile)
      .otherwise(createAudience.next(audienceReady));
    validateFile.next(rejected);
    validateLargeFile.next(rejected);

    // Under /aws/vendedlogs/: Step Functions adds every log group it delivers to to the account's CloudWatch
    // Logs resource policy, which is limited to 5,120 characters; log groups under this prefix are enabled
    // without growing it (Step Functions developer guide, "Avoiding Amazon CloudWatch Logs resource policy
    // size restrictions", bp-cwl.html; the console names its groups /aws/vendedlogs/states/...). The stack's
    // name keeps two stacks of one account apart; the group is destroyed with the stack, so a redeploy can
    // create it again.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${id}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(fileSize),
      comment:
        'One execution per uploaded CSV: validate, create or refresh the AEP audience, ingest, activate',
      // A file may wait for the next UTC day's run budget (onDailyRunLimit "wait"), then ingest.
      timeout: Duration.hours(48),
      tracingEnabled: true,
      // Execution data holds file names and counts but may hold masked values: not copied to logs.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends) support no resource-level scoping',
    });
    for (const task of invoked) {
      acknowledgeWildcardResource(
        this.stateMachine,
        `${task.function.functionArn}:*`,
        `The state machine may invoke any version or alias of ${task.name}, and no other function`,
      );
    }
  }
}

/** `states:DescribeExecution` on this state machine's executions, whose names are only known at run time. */
export function allowDescribeExecutions(task: TaskFunction, stateMachine: sfn.IStateMachine): void {
  const executions = Stack.of(stateMachine).formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${Stack.of(stateMachine).splitArn(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  task.function.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }),
  );
  acknowledgeWildcardResource(
    task,
    executions,
    `${task.name} reads the status of this state machine's executions, whose names are per file`,
  );
}
