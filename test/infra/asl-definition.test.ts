// The state machine definition `cdk synth` produces is valid Amazon States Language by asl-validator, with
// its ARN and path checks on; and the validator does catch a broken copy, so a pass means something.
import validateAsl from 'asl-validator';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_BUCKET, LOCAL_STATE_MACHINE, LOCAL_TABLE } from '../../local/runner/pipeline.ts';
import { readSynthesizedPipeline } from '../../local/runner/synthesized.ts';
import { synthesizeTemplate } from '../../local/runner/template.ts';
import type { Json } from './template-helpers.ts';

// Every check asl-validator has: both apply to a JSONPath definition whose Tasks name Lambda ARNs. Passing an
// options object replaces the defaults, so each is set here explicitly.
const ALL_CHECKS = { checkPaths: true, checkArn: true };

let definition: StateMachineDefinition;

beforeAll(async () => {
  // Intrinsics resolved to local values: the Lambda ARNs become real ARNs, which checkArn can judge.
  definition = readSynthesizedPipeline(await synthesizeTemplate(), {
    bucketName: LOCAL_BUCKET,
    tableName: LOCAL_TABLE,
    stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${LOCAL_STATE_MACHINE}`,
  }).definition;
});

/** The validator writes a QueryLanguage onto each state it reads: it gets a copy, never the definition. */
function validate(value: StateMachineDefinition | Json) {
  return validateAsl(structuredClone(value), ALL_CHECKS);
}

/** A copy of the definition with one state changed. */
function withState(name: string, change: (state: Json) => void): Json {
  const copy: Json = structuredClone(definition);
  expect(copy.States[name], `state ${name}`).toBeDefined();
  change(copy.States[name]);
  return copy;
}

describe('the synthesized state machine definition', () => {
  it('passes asl-validator with every check', () => {
    expect((definition as Json).QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    const result = validate(definition);
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('fails when a Next points to a state that does not exist', () => {
    const result = validate(
      withState('ValidateFile', (state) => {
        state.Next = 'NoSuchState';
      }),
    );
    expect(result.isValid).toBe(false);
    expect(result.errors).toContainEqual({
      'Error code': 'MISSING_TRANSITION_TARGET',
      Message: "Missing 'StartAt'|'Next'|'Default' target: NoSuchState",
    });
  });

  it('fails when a Task resource is not an ARN (checkArn)', () => {
    const result = validate(
      withState('ValidateFile', (state) => {
        state.Resource = 'TasksValidateFileFunction';
      }),
    );
    expect(result.isValid).toBe(false);
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        'Error code': 'SCHEMA_VALIDATION_FAILED',
        schemaError: expect.objectContaining({ instancePath: '/States/ValidateFile/Resource' }),
      }),
    );
  });

  it('fails when a ResultPath is not a reference path (checkPaths)', () => {
    const result = validate(
      withState('ValidateFile', (state) => {
        state.ResultPath = '$.validation[';
      }),
    );
    expect(result.isValid).toBe(false);
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        'Error code': 'SCHEMA_VALIDATION_FAILED',
        schemaError: expect.objectContaining({ instancePath: '/States/ValidateFile/ResultPath' }),
      }),
    );
  });
});
