// The CDK app `cdk synth`/`cdk deploy` run (cdk.json "app"): validates the configuration, then builds the stack.
import { App } from 'aws-cdk-lib';
import { addPipelineStack } from '../lib/app-factory.ts';
import { ConfigError } from '../lib/config.ts';

const app = new App();
try {
  addPipelineStack(app);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
app.synth();
