// `hashIdentities`: the pipeline stages SHA-256 digests of normalized e-mails and phones in AEP's hashed
// namespaces, so that no raw address reaches the staged copy or AEP; the simulator knows those namespaces (and
// refuses one the sandbox does not have). Turning hashing off for the same audience is refused: AEP cannot
// change an audience's identity fields.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPipeline } from '../../local/runner/pipeline.ts';

let p: LocalPipeline;
let workDir: string;
const progress: string[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'aep-hashed-'));
  p = await LocalPipeline.start({
    stateDir: path.join(workDir, 'state'),
    ephemeral: true,
    timeScale: 2000,
    progress: (line) => progress.push(line),
  });
});

afterAll(async () => {
  await p?.close();
  rmSync(workDir, { recursive: true, force: true });
});

const csv = 'email,phone,crm_id\n Ann@Example.com ,+44 20 7946 0958,c-1\nbob@example.com,,c-2\n';

function drop(name: string, manifest: Record<string, unknown>) {
  const file = path.join(workDir, `${name}.csv`);
  writeFileSync(file, csv);
  const manifestFile = path.join(workDir, `${name}.manifest.json`);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return { file, manifest: manifestFile };
}

describe('hashIdentities', () => {
  it('stages digests only, in Email_LC_SHA256 and Phone_SHA256_E.164, and AEP gets those namespaces', async () => {
    const { file, manifest } = drop('hashed', { name: 'Hashed list', hashIdentities: true });
    const summary = await p.waitFor(await p.dropFile(file, { key: 'incoming/privacy/hashed.csv', manifest }));

    expect(summary, progress.join('\n')).toMatchObject({
      status: 'SUCCEEDED',
      validation: { identities: { Email_LC_SHA256: 2, 'Phone_SHA256_E.164': 1, CRMID: 2 } },
    });
    const validation = (await p.readJson(`reports/${summary.execution}/validation.json`)) as {
      fields: { name: string; identityNs?: string }[];
    };
    const created = p.simulator!.audiences().find((a) => a.name === 'Hashed list');
    // The staged copy AEP's run reads: the audience's folder (its sourcePath without the bucket), this execution.
    const folder = created!.sourcePath.replace(/^[^/]+\//, '');
    const staged = (await p.readText(`${folder}/${summary.execution}.csv`)) ?? '';
    const ann = createHash('sha256').update('ann@example.com').digest('hex');
    const phone = createHash('sha256').update('+442079460958').digest('hex');
    expect(staged.split('\n')[1]).toBe(`${ann},${phone},c-1`);
    expect(staged).not.toContain('@');
    expect(validation.fields.map((f) => f.identityNs)).toEqual([
      'Email_LC_SHA256',
      'Phone_SHA256_E.164',
      'CRMID',
    ]);
    expect(created?.fields.map((f) => f.identityNs)).toEqual([
      'Email_LC_SHA256',
      'Phone_SHA256_E.164',
      'CRMID',
    ]);
  });

  it('refuses the same audience without hashing: MANIFEST_INVALID, use a new name', async () => {
    const { file, manifest } = drop('plain', { name: 'Hashed list' });
    const summary = await p.waitFor(await p.dropFile(file, { key: 'incoming/privacy/plain.csv', manifest }));

    expect(summary.status).toBe('FAILED');
    expect(summary.error?.code).toBe('MANIFEST_INVALID');
    expect(summary.error?.message).toMatch(/the audience is hashed, hashIdentities, and this file is not/);
    expect(summary.error?.message).toMatch(/upload the file under a new audience name/);
  });
});
