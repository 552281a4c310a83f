// Unit tests of what `aep-audience run` uploads per argument: a file, a .csv.gz, a local folder as a folder drop
// (its files, then its marker), its audience manifest, and the folders it refuses before anything starts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localRedshiftManifest, planDrop, siblingManifestPath } from '../../local/runner/drop-plan.ts';
import { LocalUsageError } from '../../local/runner/usage-error.ts';

let dir: string;

function folder(name: string, files: Record<string, string>): string {
  const at = path.join(dir, name);
  mkdirSync(at, { recursive: true });
  for (const [file, body] of Object.entries(files)) writeFileSync(path.join(at, file), body);
  return at;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'aep-drop-plan-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('planDrop of a file', () => {
  it('puts a .csv or .csv.gz under incoming/ with its sibling manifest', () => {
    const gz = path.join(dir, 'churn.csv.gz');
    writeFileSync(gz, 'x');
    writeFileSync(path.join(dir, 'churn.manifest.json'), '{}');
    expect(planDrop(gz)).toEqual({
      kind: 'file',
      source: gz,
      upload: { key: 'incoming/churn.csv.gz', file: gz },
      manifest: path.join(dir, 'churn.manifest.json'),
    });
    expect(siblingManifestPath('a/b.CSV', false)).toBe('a/b.manifest.json');
    expect(siblingManifestPath('a/b.txt', false)).toBeUndefined();
  });

  it('refuses a missing file or a missing --manifest', () => {
    expect(() => planDrop(path.join(dir, 'none.csv'))).toThrow('file not found');
    writeFileSync(path.join(dir, 'a.csv'), 'x');
    expect(() => planDrop(path.join(dir, 'a.csv'), path.join(dir, 'm.json'))).toThrow(LocalUsageError);
    expect(() => planDrop(path.join(dir, 'a.csv'), dir)).toThrow('manifest not found');
  });
});

describe('planDrop of a folder', () => {
  it('drops <name>.parts under incoming/<name>.parts/: files in name order, then an empty _SUCCESS', () => {
    const at = folder('churn.parts', {
      'part-00001.csv': 'b',
      'part-00000.csv': 'a',
      '.part-00000.csv.crc': 'c',
    });
    writeFileSync(path.join(dir, 'churn.manifest.json'), '{}');

    const plan = planDrop(`${at}/`);

    expect(plan).toMatchObject({
      kind: 'folder',
      folder: 'incoming/churn.parts/',
      marker: { key: 'incoming/churn.parts/_SUCCESS' },
      manifest: path.join(dir, 'churn.manifest.json'),
    });
    expect(plan.kind === 'folder' && plan.marker.file).toBeUndefined();
    expect(plan.kind === 'folder' && plan.parts).toEqual([
      { key: 'incoming/churn.parts/.part-00000.csv.crc', file: path.join(`${at}/`, '.part-00000.csv.crc') },
      { key: 'incoming/churn.parts/part-00000.csv', file: path.join(`${at}/`, 'part-00000.csv') },
      { key: 'incoming/churn.parts/part-00001.csv', file: path.join(`${at}/`, 'part-00001.csv') },
    ]);
  });

  it('names any other folder after itself, and takes the manifest beside it', () => {
    const at = folder('weekly', { 'data_0_0_0.csv': 'a' });
    writeFileSync(path.join(dir, 'weekly.manifest.json'), '{}');
    const plan = planDrop(at);
    expect(plan).toMatchObject({
      folder: 'incoming/weekly.parts/',
      manifest: path.join(dir, 'weekly.manifest.json'),
    });
  });

  it.each([
    ['_SUCCESS', '{"spark": true}'],
    ['manifest', '{"entries": []}'],
  ])('uploads the folder’s own %s last instead of an empty one', (marker, body) => {
    const at = folder('x.parts', { '0000_part_00': 'a', [marker]: body });
    const plan = planDrop(at);
    expect(plan.kind === 'folder' && plan.marker).toEqual({
      key: `incoming/x.parts/${marker}`,
      file: path.join(at, marker),
    });
    expect(plan.kind === 'folder' && plan.parts.map((p) => p.key)).toEqual(['incoming/x.parts/0000_part_00']);
  });

  it.each([
    ['both markers', { a: '1', _SUCCESS: '', manifest: '{}' }, 'holds both _SUCCESS and manifest'],
    ['no files', {}, 'holds no files to drop'],
    ['only a marker', { _SUCCESS: '' }, 'holds no files to drop'],
  ])('refuses a folder with %s', (_what, files, message) => {
    const at = folder('bad.parts', files);
    expect(() => planDrop(at)).toThrow(LocalUsageError);
    expect(() => planDrop(at)).toThrow(message);
  });

  it('refuses subfolders, naming them', () => {
    const at = folder('bad.parts', { a: '1' });
    mkdirSync(path.join(at, 'country=FR'));
    expect(() => planDrop(at)).toThrow('holds folders (country=FR)');
  });
});

describe('localRedshiftManifest', () => {
  it('points each URL at the part of the same name in the local folder, keeping the rest', () => {
    const text = JSON.stringify({
      entries: [
        { url: 's3://prod/unload/weekly/0000_part_00', meta: { content_length: 5 } },
        { url: 's3://prod/unload/weekly/0001_part_00', meta: { content_length: 0 } },
      ],
      author: { name: 'Amazon Redshift' },
    });
    expect(JSON.parse(localRedshiftManifest(text, 'local', 'incoming/weekly.parts/'))).toEqual({
      entries: [
        { url: 's3://local/incoming/weekly.parts/0000_part_00', meta: { content_length: 5 } },
        { url: 's3://local/incoming/weekly.parts/0001_part_00', meta: { content_length: 0 } },
      ],
      author: { name: 'Amazon Redshift' },
    });
  });

  it('leaves anything else as it is, for the pipeline to judge', () => {
    for (const text of ['not json', '{"files": []}', '[]', 'null']) {
      expect(localRedshiftManifest(text, 'local', 'incoming/x.parts/')).toBe(text);
    }
  });
});
