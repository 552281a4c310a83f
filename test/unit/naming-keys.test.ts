// Unit tests of the names derived from keys holding every character S3 allows: the execution name's slug, its
// 80-character limit and its hash over bucket/key/version, and the staging and archive keys.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  archiveKey,
  audienceNameFromKey,
  executionName,
  registryKey,
  stagingPrefix,
} from '../../functions/shared/naming.ts';

const SAFE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** The 8 hex the name ends with, computed here as documented: sha256 of `bucket/key/(versionId ?? sequencer)`. */
function expectedHash(bucket: string, key: string, versionOrSequencer: string): string {
  return createHash('sha256').update(`${bucket}/${key}/${versionOrSequencer}`).digest('hex').slice(0, 8);
}

describe('executionName of keys with spaces, +, %, :, and non-ASCII characters', () => {
  it.each([
    ['incoming/team A/spring list.csv', 'team-A-spring-list'],
    ['incoming/c++/a+b.csv', 'c-a-b'],
    ['incoming/%41/100%41.csv', '41-100-41'],
    ['incoming/2026-04-01T10:00:00/list.csv', '2026-04-01T10-00-00-list'],
    ['incoming/équipe/été.csv', 'quipe-t'],
    ['incoming/日本/顧客.csv', 'file'],
    ['incoming/日本/q1 report.CSV', 'q1-report'],
  ])('%s → %s-<hash>', (key, slug) => {
    const name = executionName('drop', key, 'v1', 'S');
    expect(name).toBe(`${slug}-${expectedHash('drop', key, 'v1')}`);
    expect(name).toMatch(SAFE_NAME);
  });

  it('hashes the key itself: keys that slug alike get different names', () => {
    const alike = [
      'incoming/a b.csv',
      'incoming/a+b.csv',
      'incoming/a (b).csv',
      'incoming/a:b.csv',
      'incoming/aéb.csv',
      'incoming/a-b.csv',
    ];
    const names = alike.map((key) => executionName('drop', key, undefined, '0061A1'));
    for (const name of names) expect(name).toMatch(/^a-b-[0-9a-f]{8}$/);
    expect(new Set(names).size).toBe(alike.length);
  });

  it('hashes bucket, key and version (or sequencer when unversioned), deterministically', () => {
    const key = 'incoming/équipe/été.csv';
    expect(executionName('drop', key, undefined, '0061A1')).toBe(
      `quipe-t-${expectedHash('drop', key, '0061A1')}`,
    );
    expect(executionName('drop', key, 'v1', '0061A1')).toBe(executionName('drop', key, 'v1', '0061A1'));
    expect(executionName('drop', key, 'v1', '0061A1')).toBe(executionName('drop', key, 'v1', 'FFFF'));
    expect(executionName('other', key, 'v1', '0061A1')).not.toBe(executionName('drop', key, 'v1', '0061A1'));
  });

  it('stays within 80 characters when multi-byte and ASCII characters mix, with no -- and no trailing -', () => {
    const keys = [
      `incoming/${'ab日本'.repeat(40)}.csv`,
      `incoming/${'é'.repeat(200)}.csv`,
      `incoming/${'x'.repeat(70)} ${'y'.repeat(30)}.csv`,
      `incoming/${'a b+c:d%41'.repeat(20)}.csv`,
    ];
    for (const key of keys) {
      const name = executionName('drop', key, undefined, 'S');
      expect(name, key).toMatch(SAFE_NAME);
      expect(name.length, key).toBeLessThanOrEqual(80);
      expect(name, key).not.toContain('--');
      expect(name, key).toMatch(/[A-Za-z0-9_]-[0-9a-f]{8}$/);
    }
    expect(executionName('drop', keys[1]!, undefined, 'S')).toMatch(/^file-[0-9a-f]{8}$/);
    // 71 characters of slug, trimmed where the cut left a separator, plus `-` and 8 hex.
    expect(executionName('drop', keys[2]!, undefined, 'S')).toBe(
      `${'x'.repeat(70)}-${expectedHash('drop', keys[2]!, 'S')}`,
    );
  });
});

describe('staging and archive keys of such keys', () => {
  const keys = [
    'incoming/team A/spring list.csv',
    'incoming/c++/a+b.csv',
    'incoming/%41/100%41.csv',
    'incoming/2026-04-01T10:00:00/list.csv',
    'incoming/équipe/été.csv',
    'incoming/日本/顧客.csv',
  ];

  it('stages under a folder AEP accepts: no spaces or other characters outside [a-z0-9_-]', () => {
    for (const key of keys) {
      const prefix = stagingPrefix(registryKey(audienceNameFromKey(key)));
      expect(prefix, key).toMatch(/^staging\/audiences\/[a-z0-9_-]+-[0-9a-f]{8}\/$/);
      expect(`${prefix}${executionName('drop', key, 'v1', 'S')}.csv`).toMatch(
        /^[a-z0-9_/-]+[A-Za-z0-9_-]+\.csv$/,
      );
    }
    expect(new Set(keys.map((k) => stagingPrefix(registryKey(audienceNameFromKey(k))))).size).toBe(
      keys.length,
    );
  });

  it('archives the original under its own folders and file name, characters unchanged', () => {
    expect(archiveKey('processed', 'incoming/team A/spring list.csv', 'team-A-spring-list-1a2b3c4d')).toBe(
      'processed/team A/team-A-spring-list-1a2b3c4d/spring list.csv',
    );
    expect(archiveKey('failed', 'incoming/日本/顧客.csv', 'file-1a2b3c4d')).toBe(
      'failed/日本/file-1a2b3c4d/顧客.csv',
    );
    expect(archiveKey('processed', 'incoming/%41/100%41.csv', 'e')).toBe('processed/%41/e/100%41.csv');
    expect(archiveKey('processed', 'incoming/c++/a+b.csv', 'e')).toBe('processed/c++/e/a+b.csv');
  });
});
