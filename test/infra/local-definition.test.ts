// Proves the local runner executes the definition `cdk synth` produces: the CLI's synth (with bundling) and
// the runner's in-process template yield the same state machine and the same task → handler mapping.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_BUCKET, LOCAL_STATE_MACHINE, LOCAL_TABLE } from '../../local/runner/pipeline.ts';
import { readSynthesizedPipeline } from '../../local/runner/synthesized.ts';
import { synthesizeTemplate } from '../../local/runner/template.ts';

const root = path.resolve(import.meta.dirname, '../..');
const names = {
  bucketName: LOCAL_BUCKET,
  tableName: LOCAL_TABLE,
  stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${LOCAL_STATE_MACHINE}`,
};
const outDir = mkdtempSync(path.join(tmpdir(), 'aep-cdk-out-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('the local runner and cdk synth', () => {
  it('run the same state machine definition with the same handlers', async () => {
    await promisify(execFile)('npx', ['cdk', 'synth', '--quiet', '--output', outDir], {
      cwd: root,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      maxBuffer: 50 * 1024 * 1024,
    });
    const templateFile = readdirSync(outDir).find((f) => f.endsWith('.template.json'));
    expect(templateFile).toBeDefined();
    const fromCli = readSynthesizedPipeline(
      JSON.parse(readFileSync(path.join(outDir, templateFile!), 'utf8')),
      names,
    );
    const fromRunner = readSynthesizedPipeline(await synthesizeTemplate(), names);

    expect(fromRunner.definition).toEqual(fromCli.definition);
    const handlers = (p: typeof fromCli) =>
      Object.fromEntries(Object.entries(p.taskStates).map(([state, fn]) => [state, fn.handlerFile]));
    expect(handlers(fromRunner)).toEqual(handlers(fromCli));
    expect(Object.keys(fromCli.taskStates).sort()).toEqual(
      [
        'ActivateDestinations',
        'ArchiveFile',
        'CheckAudience',
        'CheckIngestion',
        'CreateAudience',
        'HandleFailure',
        'StartIngestion',
        'ValidateFile',
        'ValidateLargeFile',
      ].sort(),
    );
  });
});
