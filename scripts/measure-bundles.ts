// Size and import (init) time of each function's bundle in cdk.out, after `npm run synth`.
// Each bundle is imported in a fresh Node process with the environment its handler reads at cold start;
// the median of five imports is reported. Usage: npx tsx scripts/measure-bundles.ts [cdk.out]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const outDir = path.resolve(process.argv[2] ?? 'cdk.out');
const templateFile = readdirSync(outDir).find((f) => f.endsWith('.template.json'));
if (!templateFile) throw new Error(`no template in ${outDir}: run npm run synth first`);
const template = JSON.parse(readFileSync(path.join(outDir, templateFile), 'utf8')) as {
  Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
};

/** Placeholders for the variables the handlers check at cold start; nothing is called during an import. */
const environment = {
  ...process.env,
  AWS_REGION: 'eu-west-1',
  BUCKET_NAME: 'bucket',
  STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:pipeline',
  REGISTRY_TABLE_NAME: 'registry',
  AEP_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:aep-AbCdEf',
  NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:outcomes',
  POWERTOOLS_METRICS_NAMESPACE: 'AepAudiencePipeline',
};
const importOnce =
  "const t = performance.now(); await import('./index.mjs'); process.stdout.write(String(performance.now() - t));";

const rows: string[] = [];
for (const resource of Object.values(template.Resources)) {
  const handler = resource.Metadata?.['aep:handler'];
  const asset = resource.Metadata?.['aws:asset:path'];
  if (resource.Type !== 'AWS::Lambda::Function' || !handler || !asset) continue;
  const dir = path.join(outDir, asset);
  const bytes = statSync(path.join(dir, 'index.mjs')).size;
  const times = Array.from({ length: 5 }, () =>
    Number(
      execFileSync(process.execPath, ['--input-type=module', '-e', importOnce], {
        cwd: dir,
        env: environment,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ),
  ).sort((a, b) => a - b);
  const name = handler.split('/')[1] ?? handler;
  rows.push(
    `${name.padEnd(26)} ${(bytes / 1024).toFixed(0).padStart(6)} KB  ${times[2]!.toFixed(0).padStart(4)} ms`,
  );
}
console.log(`${'function'.padEnd(26)} ${'bundle'.padStart(9)}  import (median of 5)`);
for (const row of rows.sort()) console.log(row);
