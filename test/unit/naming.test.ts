// Unit tests of the key-derived names: execution names, audience names, staging folders, archive and report keys.
import { describe, expect, it } from 'vitest';
import {
  archiveKey,
  audienceNameFromKey,
  executionName,
  manifestKeyFor,
  registryKey,
  reportKey,
  sourcePath,
  stagingPrefix,
} from '../../functions/shared/naming.ts';

const SAFE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

describe('executionName', () => {
  it('is the file slug plus 8 hex, deterministic for one write', () => {
    const first = executionName('drop', 'incoming/teamA/spring-churn.csv', undefined, '0061A');
    const again = executionName('drop', 'incoming/teamA/spring-churn.csv', undefined, '0061A');
    expect(first).toMatch(/^teamA-spring-churn-[0-9a-f]{8}$/);
    expect(again).toBe(first);
  });

  it('tells two writes apart by sequencer, and prefers versionId over sequencer', () => {
    const key = 'incoming/teamA/churn.csv';
    expect(executionName('drop', key, undefined, 'A1')).not.toBe(executionName('drop', key, undefined, 'A2'));
    // Same version, redelivered with a different sequencer field value: the version decides.
    expect(executionName('drop', key, 'v1', 'A1')).toBe(executionName('drop', key, 'v1', 'A2'));
    expect(executionName('drop', key, 'v1', 'A1')).not.toBe(executionName('drop', key, 'v2', 'A1'));
  });

  it('differs by bucket', () => {
    const key = 'incoming/a.csv';
    expect(executionName('one', key, undefined, 'S')).not.toBe(executionName('two', key, undefined, 'S'));
  });

  it('replaces other characters, collapses runs and trims', () => {
    const name = executionName('b', 'incoming/ Team A/été  list (v2).CSV', undefined, 'S');
    expect(name).toMatch(SAFE_NAME);
    expect(name).toMatch(/^Team-A-t-list-v2-[0-9a-f]{8}$/);
    expect(name).not.toContain('--');
  });

  it('stays within 80 characters without a trailing separator before the hash', () => {
    const longKey = `incoming/${'a'.repeat(70)}/${'b-'.repeat(40)}.csv`;
    const name = executionName('b', longKey, undefined, 'S');
    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(SAFE_NAME);
    expect(name).not.toContain('--');
  });

  it('falls back to a readable slug when nothing is left', () => {
    expect(executionName('b', 'incoming/@@@.csv', undefined, 'S')).toMatch(/^file-[0-9a-f]{8}$/);
  });
});

describe('audience names and staging', () => {
  it('takes the key below incoming/ without .csv in any case', () => {
    expect(audienceNameFromKey('incoming/teamA/spring-churn.csv')).toBe('teamA/spring-churn');
    expect(audienceNameFromKey('incoming/teamA/Spring.CSV')).toBe('teamA/Spring');
    expect(audienceNameFromKey('incoming/list.csv.csv')).toBe('list.csv');
  });

  it('lower-cases the registry key', () => {
    expect(registryKey('TeamA/Spring Churn')).toBe('teama/spring churn');
  });

  it('gives each registry key its own space-free staging folder', () => {
    const prefix = stagingPrefix('teama/spring churn');
    expect(prefix).toMatch(/^staging\/audiences\/teama-spring-churn-[0-9a-f]{8}\/$/);
    expect(prefix).not.toContain(' ');
    expect(stagingPrefix('a b')).not.toBe(stagingPrefix('a-b'));
    expect(stagingPrefix('teama/spring churn')).toBe(prefix);
  });

  it('builds the AEP source path with or without the bucket, never with a trailing slash', () => {
    const prefix = 'staging/audiences/x-12345678/';
    expect(sourcePath('drop', prefix, true)).toBe('drop/staging/audiences/x-12345678');
    expect(sourcePath('drop', prefix, false)).toBe('staging/audiences/x-12345678');
  });
});

describe('object keys', () => {
  it('puts the manifest beside the CSV', () => {
    expect(manifestKeyFor('incoming/teamA/churn.csv')).toBe('incoming/teamA/churn.manifest.json');
    expect(manifestKeyFor('incoming/churn.CSV')).toBe('incoming/churn.manifest.json');
  });

  it('archives under the same path plus the execution name', () => {
    expect(archiveKey('processed', 'incoming/teamA/churn.csv', 'churn-1a2b3c4d')).toBe(
      'processed/teamA/churn-1a2b3c4d/churn.csv',
    );
    expect(archiveKey('failed', 'incoming/churn.csv', 'exec')).toBe('failed/exec/churn.csv');
  });

  it('keeps reports per execution', () => {
    expect(reportKey('exec', 'result.json')).toBe('reports/exec/result.json');
  });
});
