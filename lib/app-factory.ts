// Builds the CDK app in-process: for bin/app.ts (the CDK CLI), the infra tests and the local runner.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadPipelineConfig, type PipelineConfig } from './config.ts';
import { PROJECT_ROOT } from './constructs/task-function.ts';
import { PipelineStack } from './pipeline-stack.ts';

/** CDK's context key listing the stacks to bundle assets for; empty means none. */
const BUNDLING_STACKS_KEY = 'aws:cdk:bundling-stacks';

export interface BuildAppOptions {
  /** The whole cdk.json `context` object; cdk.json's own when omitted. */
  context?: Record<string, unknown>;
  /** Synthesize without bundling the functions (tests, the local runner). */
  skipBundling?: boolean;
  /** Run the AwsSolutions checks during synthesis (default true). */
  nag?: boolean;
}

export interface PipelineApp {
  app: App;
  stack: PipelineStack;
  config: PipelineConfig;
}

export function readCdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** Adds the pipeline stack (and the checks) to an app whose context holds the `pipeline` block. */
export function addPipelineStack(app: App, options: { nag?: boolean } = {}): PipelineApp {
  const config = loadPipelineConfig(app.node.tryGetContext('pipeline'));
  const stack = new PipelineStack(app, config.stackName, { config });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  return { app, stack, config };
}

/** A fresh app from the given (or cdk.json's) context. Throws ConfigError on a bad `pipeline` block. */
export function buildApp(options: BuildAppOptions = {}): PipelineApp {
  const context = { ...(options.context ?? readCdkJsonContext()) };
  if (options.skipBundling) context[BUNDLING_STACKS_KEY] = [];
  const app = new App({ context });
  return addPipelineStack(app, { nag: options.nag });
}
