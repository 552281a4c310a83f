// A grant the happy path needs, removed from lib/ in a copy of the project: `npm start` (the sample through
// `aep-audience run`) then fails as AWS would fail it, at ArchiveFile, with AccessDenied naming the function,
// the action and the resource, on the progress line and in the execution's failure.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
// biome-ignore lint/suspicious/noTemplateCurlyInString: the literal source line of lib/ that the test removes.
const GRANT = '  allowUnder(task, COPY_TARGET, bucket, target, `keeps the original under ${target}`);\n';
let copy: string;

beforeAll(() => {
  copy = mkdtempSync(path.join(tmpdir(), 'aep-denied-'));
  for (const entry of [
    'bin',
    'lib',
    'functions',
    'local',
    'samples',
    'cdk.json',
    'package.json',
    'tsconfig.json',
  ]) {
    cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
  }
  cpSync(path.join(ROOT, 'package-lock.json'), path.join(copy, 'package-lock.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  const tasks = path.join(copy, 'lib/constructs/pipeline-tasks.ts');
  const source = readFileSync(tasks, 'utf8');
  // The test must notice if the line it removes moves or changes: then it would prove nothing.
  expect(source).toContain(GRANT);
  writeFileSync(tasks, source.replace(GRANT, ''));
});

afterAll(() => {
  rmSync(copy, { recursive: true, force: true });
});

describe('a grant removed from lib/', () => {
  it('makes npm start fail at ArchiveFile with AccessDenied naming the function, action and resource', async () => {
    const result = await promisify(execFile)(
      process.execPath,
      [path.join(copy, 'bin/aep-audience.js'), 'run', 'samples/customers.csv'],
      { cwd: copy, env: { ...process.env, AEP_AUDIENCE_LOCAL_DIR: path.join(copy, '.local') } },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(result.code).toBe(1);
    // The progress line of the refused call: the function, the action, the resource.
    expect(result.stdout).toMatch(
      /\[aws\] archive-file was refused s3:PutObject on arn:aws:s3:::aep-audience-local\/processed\/customers-[0-9a-f]{8}\/customers\.csv/,
    );
    // The task's failure as Step Functions records it, in AWS's words.
    expect(result.stdout).toMatch(
      /ArchiveFile: AccessDenied: User: arn:aws:sts::000000000000:assumed-role\/[^/]*ArchiveFile[^/]*\/[^ ]*ArchiveFile[^ ]* is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::aep-audience-local\/processed\/customers-[0-9a-f]{8}\/customers\.csv" because no identity-based policy allows the s3:PutObject action/,
    );
    expect(result.stdout).toMatch(/FAILED\s+incoming\/customers\.csv/);
  });
});
