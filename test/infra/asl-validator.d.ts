// Types for asl-validator 4.0.0, which ships none: its default export as dist/src/validator.js defines it.
declare module 'asl-validator' {
  function validateAsl(
    definition: { States: Record<string, unknown> },
    options?: validateAsl.ValidationOptions,
  ): validateAsl.ValidationResult;

  namespace validateAsl {
    /** Both default to true, but only when no options object is passed at all. */
    interface ValidationOptions {
      /** Parses InputPath, OutputPath, ResultPath, Choice variables and `.$` payload fields as ASL paths. */
      readonly checkPaths: boolean;
      /** Requires a Task's Resource to be a well-formed ARN. */
      readonly checkArn: boolean;
    }
    interface ValidationError {
      /** E.g. SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET, MISSING_TERMINAL_STATE. */
      'Error code': string;
      Message: string;
      schemaError?: { instancePath: string; schemaPath: string };
    }
    interface ValidationResult {
      isValid: boolean;
      errors: ValidationError[];
      errorsText: (separator?: string) => string;
    }
  }

  export = validateAsl;
}
