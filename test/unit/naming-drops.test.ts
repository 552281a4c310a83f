// Unit tests of the names of the other drops: `.csv.gz` files and `.parts/` folders with their completion marker
// (audience name, manifest, execution name, archive keys, which keys sit in a folder drop).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  archiveKey,
  audienceNameFromKey,
  executionName,
  isCompletionMarker,
  manifestKeyFor,
  partsFolderOf,
} from '../../functions/shared/naming.ts';

const SAFE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

function expectedHash(bucket: string, key: string, versionOrSequencer: string): string {
  return createHash('sha256').update(`${bucket}/${key}/${versionOrSequencer}`).digest('hex').slice(0, 8);
}

describe('.csv.gz files', () => {
  it.each([
    ['incoming/teamA/churn.csv.gz', 'teamA/churn'],
    ['incoming/teamA/Churn.CSV.GZ', 'teamA/Churn'],
    ['incoming/teamA/churn.csv.Gz', 'teamA/churn'],
    ['incoming/list.csv.csv.gz', 'list.csv'],
  ])('%s is the audience %s', (key, name) => {
    expect(audienceNameFromKey(key)).toBe(name);
  });

  it('has its manifest beside it, without .csv.gz', () => {
    expect(manifestKeyFor('incoming/teamA/churn.csv.gz')).toBe('incoming/teamA/churn.manifest.json');
    expect(manifestKeyFor('incoming/churn.CSV.GZ')).toBe('incoming/churn.manifest.json');
  });

  it('is named like the plain file, told apart by the hash of its key', () => {
    const gz = executionName('drop', 'incoming/teamA/churn.csv.gz', 'v1', 'S');
    expect(gz).toBe(`teamA-churn-${expectedHash('drop', 'incoming/teamA/churn.csv.gz', 'v1')}`);
    expect(gz).not.toBe(executionName('drop', 'incoming/teamA/churn.csv', 'v1', 'S'));
  });

  it('is archived under its own name', () => {
    expect(archiveKey('processed', 'incoming/teamA/churn.csv.gz', 'e')).toBe(
      'processed/teamA/e/churn.csv.gz',
    );
  });
});

describe('partsFolderOf and isCompletionMarker', () => {
  it.each([
    ['incoming/x/y.parts/_SUCCESS', 'incoming/x/y.parts/'],
    ['incoming/x/y.parts/manifest', 'incoming/x/y.parts/'],
    ['incoming/x/y.parts/0000_part_00', 'incoming/x/y.parts/'],
    ['incoming/x/y.parts/part-00000-1b2c.c000.csv.gz', 'incoming/x/y.parts/'],
    ['incoming/y.parts/data_0_0_0.csv', 'incoming/y.parts/'],
    ['incoming/x/Y.PARTS/_SUCCESS', 'incoming/x/Y.PARTS/'],
    // Nested: the folder it sits in is returned; start-pipeline refuses the nesting.
    ['incoming/a.parts/b.parts/_SUCCESS', 'incoming/a.parts/b.parts/'],
  ])('%s sits directly in %s', (key, folder) => {
    expect(partsFolderOf(key)).toBe(folder);
  });

  it.each([
    'incoming/x/y.csv',
    'incoming/x/y.parts/',
    'incoming/x/y.parts/_temporary/0/part-00000',
    'incoming/x/y.parts',
    'incoming/.parts/_SUCCESS',
    'incoming/_SUCCESS',
    'staging/y.parts/_SUCCESS',
    'incoming/x/y.partsx/_SUCCESS',
  ])('%s is in no folder drop', (key) => {
    expect(partsFolderOf(key)).toBeUndefined();
    expect(isCompletionMarker(key)).toBe(false);
  });

  it('knows the markers by their exact names', () => {
    expect(isCompletionMarker('incoming/x/y.parts/_SUCCESS')).toBe(true);
    expect(isCompletionMarker('incoming/x/y.parts/manifest')).toBe(true);
    for (const name of [
      '_success',
      'MANIFEST',
      'part-00000',
      '._SUCCESS.crc',
      'manifest.json',
      'x_manifest',
    ]) {
      expect(isCompletionMarker(`incoming/x/y.parts/${name}`), name).toBe(false);
    }
  });
});

describe('folder drops', () => {
  const SPARK = 'incoming/teamA/churn.parts/_SUCCESS';
  const REDSHIFT = 'incoming/teamA/churn.parts/manifest';

  it('name the audience after the folder without .parts', () => {
    expect(audienceNameFromKey(SPARK)).toBe('teamA/churn');
    expect(audienceNameFromKey(REDSHIFT)).toBe('teamA/churn');
    expect(audienceNameFromKey('incoming/churn.PARTS/_SUCCESS')).toBe('churn');
    // Only `.parts` goes: a folder Spark-style named `people.csv.parts` is the audience `people.csv`.
    expect(audienceNameFromKey('incoming/people.csv.parts/_SUCCESS')).toBe('people.csv');
  });

  it('have their manifest beside the folder', () => {
    expect(manifestKeyFor(SPARK)).toBe('incoming/teamA/churn.manifest.json');
    expect(manifestKeyFor(REDSHIFT)).toBe('incoming/teamA/churn.manifest.json');
  });

  it('name the execution after the audience, with no trace of the marker', () => {
    const name = executionName('drop', SPARK, 'v1', 'S');
    expect(name).toBe(`teamA-churn-${expectedHash('drop', SPARK, 'v1')}`);
    expect(executionName('drop', SPARK, 'v1', 'S')).toBe(name);
    expect(executionName('drop', SPARK, 'v2', 'S')).not.toBe(name);
    expect(executionName('drop', REDSHIFT, 'v1', 'S')).not.toBe(name);
  });

  it('stay within 80 characters for long folder names', () => {
    const key = `incoming/${'t'.repeat(50)}/${'n-'.repeat(40)}.parts/_SUCCESS`;
    const name = executionName('drop', key, undefined, 'S');
    expect(name).toMatch(SAFE_NAME);
    expect(name).not.toContain('--');
    expect(name).toMatch(/[A-Za-z0-9_]-[0-9a-f]{8}$/);
  });

  it('archive the folder as a folder under the run', () => {
    expect(archiveKey('processed', SPARK, 'e')).toBe('processed/teamA/e/churn.parts/_SUCCESS');
    expect(archiveKey('failed', 'incoming/teamA/churn.parts/part-00000.csv', 'e')).toBe(
      'failed/teamA/e/churn.parts/part-00000.csv',
    );
    expect(archiveKey('processed', 'incoming/teamA/churn.parts/', 'e')).toBe(
      'processed/teamA/e/churn.parts/',
    );
    expect(archiveKey('processed', 'incoming/churn.parts/0000_part_00', 'e')).toBe(
      'processed/e/churn.parts/0000_part_00',
    );
    // The audience manifest beside the folder lands beside the archived folder.
    expect(archiveKey('processed', manifestKeyFor(SPARK), 'e')).toBe('processed/teamA/e/churn.manifest.json');
  });
});
