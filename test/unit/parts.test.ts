// Unit tests of the parts of a folder drop: which listed objects are data parts, and the Redshift manifest's parts.
import { describe, expect, it } from 'vitest';
import { PartsManifestError, parseRedshiftManifest, selectParts } from '../../functions/shared/parts.ts';

const FOLDER = 'incoming/teamA/churn.parts/';
const at = (name: string, size = 10) => ({ key: `${FOLDER}${name}`, size });

describe('selectParts', () => {
  it('keeps Spark parts in key order and leaves out _SUCCESS and the checksum files', () => {
    const listed = [
      at('part-00002-9f1c.c000.csv.gz'),
      at('_SUCCESS', 0),
      at('part-00000-9f1c.c000.csv.gz'),
      at('.part-00000-9f1c.c000.csv.gz.crc', 12),
      at('part-00001-9f1c.c000.csv.gz'),
      at('._SUCCESS.crc', 8),
    ];
    const { parts, ignored } = selectParts(listed, FOLDER);
    expect(parts.map((p) => p.key)).toEqual([
      `${FOLDER}part-00000-9f1c.c000.csv.gz`,
      `${FOLDER}part-00001-9f1c.c000.csv.gz`,
      `${FOLDER}part-00002-9f1c.c000.csv.gz`,
    ]);
    expect(ignored).toEqual([
      { key: `${FOLDER}._SUCCESS.crc`, reason: 'hidden: its name starts with _ or .' },
      { key: `${FOLDER}.part-00000-9f1c.c000.csv.gz.crc`, reason: 'hidden: its name starts with _ or .' },
      { key: `${FOLDER}_SUCCESS`, reason: 'the completion marker' },
    ]);
  });

  it('keeps Redshift parts (zero-byte ones too) and leaves out its manifest', () => {
    const { parts, ignored } = selectParts(
      [at('manifest', 300), at('0001_part_00', 0), at('0000_part_00', 50), at('0000_part_01', 7)],
      FOLDER,
    );
    expect(parts).toEqual([at('0000_part_00', 50), at('0000_part_01', 7), at('0001_part_00', 0)]);
    expect(ignored).toEqual([{ key: `${FOLDER}manifest`, reason: 'the completion marker' }]);
  });

  it('keeps Snowflake parts whatever their extension', () => {
    const { parts } = selectParts(
      [at('data_0_0_1.csv'), at('data_0_0_0.csv'), at('data_0_1_0.csv.gz'), at('_SUCCESS', 0)],
      FOLDER,
    );
    expect(parts.map((p) => p.key.slice(FOLDER.length))).toEqual([
      'data_0_0_0.csv',
      'data_0_0_1.csv',
      'data_0_1_0.csv.gz',
    ]);
  });

  it('leaves out the folder key, subfolders, $folder$ keys, other markers and keys elsewhere', () => {
    const { parts, ignored } = selectParts(
      [
        { key: FOLDER, size: 0 },
        at('_temporary/0/task_1/part-00000', 5),
        at('nested.parts/_SUCCESS', 0),
        at('_temporary_$folder$', 0),
        at('tmp_$folder$', 0),
        at('_committed_123', 4),
        { key: 'incoming/teamA/churn.parts.csv', size: 3 },
        at('part-00000'),
      ],
      FOLDER,
    );
    expect(parts).toEqual([at('part-00000')]);
    expect(Object.fromEntries(ignored.map((i) => [i.key.replace(FOLDER, '…/'), i.reason]))).toEqual({
      '…/': "the folder's own key",
      '…/_temporary/0/task_1/part-00000': 'in a subfolder: only objects directly in the folder are parts',
      '…/nested.parts/_SUCCESS': 'in a subfolder: only objects directly in the folder are parts',
      '…/_temporary_$folder$': 'a Hadoop folder key ($folder$)',
      '…/tmp_$folder$': 'a Hadoop folder key ($folder$)',
      '…/_committed_123': 'hidden: its name starts with _ or .',
      'incoming/teamA/churn.parts.csv': `not in ${FOLDER}`,
    });
  });

  it('orders keys as S3 lists them (UTF-8 bytes), not by UTF-16 units', () => {
    // U+FF5E sorts after U+1F600 in UTF-16 (0xFF5E > 0xD83D) but before it in UTF-8 (EF… < F0…).
    const { parts } = selectParts([at('p-😀'), at('p-～')], FOLDER);
    expect(parts.map((p) => p.key.slice(FOLDER.length))).toEqual(['p-～', 'p-😀']);
  });

  it('does not change its input', () => {
    const listed = [at('b'), at('a')];
    selectParts(listed, FOLDER);
    expect(listed.map((o) => o.key)).toEqual([`${FOLDER}b`, `${FOLDER}a`]);
  });
});

describe('parseRedshiftManifest', () => {
  const url = (name: string, bucket = 'drop') => `s3://${bucket}/${FOLDER}${name}`;

  it('reads the parts of an UNLOAD ... MANIFEST, in key order, with their sizes', () => {
    const text = JSON.stringify({
      entries: [
        { url: url('0001_part_00'), meta: { content_length: 0 } },
        { url: url('0000_part_00'), meta: { content_length: 32295 } },
      ],
    });
    expect(parseRedshiftManifest(text, 'drop', FOLDER)).toEqual([
      { key: `${FOLDER}0000_part_00`, size: 32295 },
      { key: `${FOLDER}0001_part_00`, size: 0 },
    ]);
  });

  it('reads a VERBOSE manifest and entries without meta (keys it does not use are allowed)', () => {
    const text = JSON.stringify({
      entries: [
        { url: url('0000_part_00.gz'), meta: { content_length: 9, record_count: 2 } },
        { url: url('0001_part_00.gz'), mandatory: true },
      ],
      schema: { elements: [{ name: 'email', type: { base: 'character varying', max_size: 256 } }] },
      meta: { content_length: 9, record_count: 2 },
      author: { name: 'Amazon Redshift', version: '1.0.0' },
    });
    expect(parseRedshiftManifest(text, 'drop', FOLDER)).toEqual([
      { key: `${FOLDER}0000_part_00.gz`, size: 9 },
      { key: `${FOLDER}0001_part_00.gz` },
    ]);
  });

  it('takes the key as written, spaces and all', () => {
    const folder = 'incoming/team A/q1 + q2.parts/';
    const text = JSON.stringify({ entries: [{ url: `s3://drop/${folder}0000_part_00` }] });
    expect(parseRedshiftManifest(text, 'drop', folder)).toEqual([{ key: `${folder}0000_part_00` }]);
  });

  it('accepts a manifest of no parts', () => {
    expect(parseRedshiftManifest('{"entries": []}', 'drop', FOLDER)).toEqual([]);
  });

  it.each([
    ['not JSON', '{"entries": [', /^the manifest is not JSON: /],
    ['no entries', '{"files": []}', /not a Redshift UNLOAD manifest .*: entries: /],
    ['entries not an array', '{"entries": {}}', /: entries: /],
    ['a url that is not a string', '{"entries": [{"url": 3}]}', /: entries\.0\.url: /],
    [
      'a negative length',
      `{"entries": [{"url": "${url('a')}", "meta": {"content_length": -1}}]}`,
      /content_length/,
    ],
    ['an array at the root', '[]', /: \(root\): /],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parseRedshiftManifest(text, 'drop', FOLDER)).toThrow(PartsManifestError);
    expect(() => parseRedshiftManifest(text, 'drop', FOLDER)).toThrow(message);
  });

  it.each([
    ['another bucket', url('0000_part_00', 'elsewhere'), 'is in another bucket than drop'],
    ['an https URL', `https://drop.s3.amazonaws.com/${FOLDER}0000_part_00`, 'is not an s3://bucket/key URL'],
    ['a bucket without a key', 's3://drop/', 'is not an s3://bucket/key URL'],
    [
      'another folder',
      's3://drop/incoming/teamB/other.parts/0000_part_00',
      'not in incoming/teamA/churn.parts/',
    ],
    ['a prefix of the folder', 's3://drop/incoming/teamA/churn.parts0000_part_00', 'not in'],
    ['a subfolder', url('sub/0000_part_00'), 'in a subfolder'],
    ['the marker itself', url('manifest'), 'the completion marker'],
  ])('refuses a URL in %s, naming the entry', (_what, entryUrl, message) => {
    const text = JSON.stringify({ entries: [{ url: url('0000_part_00') }, { url: entryUrl }] });
    expect(() => parseRedshiftManifest(text, 'drop', FOLDER)).toThrow(PartsManifestError);
    expect(() => parseRedshiftManifest(text, 'drop', FOLDER)).toThrow(
      `entries.1.url ${JSON.stringify(entryUrl)}`,
    );
    expect(() => parseRedshiftManifest(text, 'drop', FOLDER)).toThrow(message);
  });

  it('refuses a part listed twice', () => {
    const text = JSON.stringify({ entries: [{ url: url('0000_part_00') }, { url: url('0000_part_00') }] });
    expect(() => parseRedshiftManifest(text, 'drop', FOLDER)).toThrow('is listed twice');
  });
});
