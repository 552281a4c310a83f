// The validation model: Lambda's CPU by memory, where a run's time goes, the threshold it picks, and the sizes it
// refuses; and that the README's table is the model's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadPipelineConfig } from '../../lib/config.ts';
import {
  DEFAULT_LARGE_FILE_THRESHOLD_BYTES,
  LAMBDA,
  LARGE_FUNCTION,
  largestFileWithin,
  MB,
  modelValidation,
  SMALL_FUNCTION,
  sizeLimitProblems,
  THRESHOLD_SECONDS,
  TIME_BUDGET,
  vcpuCredits,
  visibleVcpus,
} from '../../lib/validation-model.ts';

const GiB = 1024 ** 3;

describe('Lambda CPU by memory', () => {
  it('is one vCPU at 1,769 MB, in proportion below, and 6 vCPUs seen at 10,240 MB', () => {
    expect(vcpuCredits(1769)).toBe(1);
    expect(vcpuCredits(1024)).toBeCloseTo(0.579, 3);
    expect(vcpuCredits(10_240)).toBeCloseTo(5.79, 2);
    expect(visibleVcpus(10_240)).toBe(6);
    expect(LARGE_FUNCTION.workers).toBe(6);
    // Never more credits than vCPUs to spend them on.
    expect(vcpuCredits(3008)).toBe(3008 / 1769);
    expect(vcpuCredits(128)).toBeLessThan(visibleVcpus(128));
  });
});

describe('modelValidation', () => {
  it('charges the GB-seconds at the arm64 price, plus the request', () => {
    const run = modelValidation(GiB, SMALL_FUNCTION);
    expect(run.usd).toBeCloseTo(1 * run.seconds * LAMBDA.usdPerGbSecond + LAMBDA.usdPerRequest, 12);
  });

  it('grows with the bytes at the rate it names, on the part that limits it', () => {
    const one = modelValidation(GiB, LARGE_FUNCTION);
    const ten = modelValidation(10 * GiB, LARGE_FUNCTION);
    expect(ten.mbps).toBe(one.mbps);
    expect(ten.seconds - one.seconds).toBeCloseTo((9 * 1024) / one.mbps, 6);
    // The small function has 0.58 of a vCPU for one pass: its CPU limits it.
    expect(modelValidation(GiB, SMALL_FUNCTION)).toMatchObject({ bound: 'cpu' });
  });

  it('is several times faster on the large function, for a few times the cost', () => {
    const small = modelValidation(10 * GiB, SMALL_FUNCTION);
    const large = modelValidation(10 * GiB, LARGE_FUNCTION);
    expect(small.seconds / large.seconds).toBeGreaterThan(4);
    expect(large.usd / small.usd).toBeLessThan(3);
  });

  it('is limited by S3 when the network is: a cap on the function shows in the bound', () => {
    const capped = modelValidation(10 * GiB, LARGE_FUNCTION, { assume: { networkCapMBps: 40 } });
    expect(capped.bound).toMatch(/^s3 /);
    expect(capped.mbps).toBe(40);
  });

  it('reads a gzip file as fewer S3 bytes, its CSV decompressed on one thread', () => {
    const plain = modelValidation(GiB, LARGE_FUNCTION, { assume: { networkCapMBps: 40 } });
    const gzip = modelValidation(GiB, LARGE_FUNCTION, { gzip: true, assume: { networkCapMBps: 40 } });
    // Writing the staged copy (plain CSV) is the limit left.
    expect(gzip).toMatchObject({ bound: 's3 write', mbps: 40 });
    expect(plain.seconds).toBeGreaterThanOrEqual(gzip.seconds);
  });

  it('is slower for a file whose every field is quoted (the figure limits are judged by)', () => {
    expect(modelValidation(GiB, LARGE_FUNCTION, { quoted: true }).seconds).toBeGreaterThan(
      modelValidation(GiB, LARGE_FUNCTION).seconds,
    );
  });
});

describe('limits', () => {
  const budget = TIME_BUDGET * LAMBDA.timeoutSeconds;

  it('largestFileWithin is the size whose modelled time is the budget', () => {
    for (const fn of [SMALL_FUNCTION, LARGE_FUNCTION]) {
      const largest = largestFileWithin(budget, fn, { quoted: true });
      expect(modelValidation(largest, fn, { quoted: true }).seconds).toBeCloseTo(budget, 3);
    }
  });

  it('puts the default threshold at the largest power of two the small function validates in a minute', () => {
    const withinAMinute = largestFileWithin(THRESHOLD_SECONDS, SMALL_FUNCTION);
    expect(DEFAULT_LARGE_FILE_THRESHOLD_BYTES).toBeLessThanOrEqual(withinAMinute);
    expect(DEFAULT_LARGE_FILE_THRESHOLD_BYTES * 2).toBeGreaterThan(withinAMinute);
    expect(Math.log2(DEFAULT_LARGE_FILE_THRESHOLD_BYTES) % 1).toBe(0);
    // Cheaper on the small function, faster on the large one, at the threshold.
    const small = modelValidation(DEFAULT_LARGE_FILE_THRESHOLD_BYTES, SMALL_FUNCTION);
    const large = modelValidation(DEFAULT_LARGE_FILE_THRESHOLD_BYTES, LARGE_FUNCTION);
    expect(small.usd).toBeLessThan(large.usd);
    expect(large.seconds).toBeLessThan(small.seconds);
  });

  it('finds nothing wrong with the defaults', () => {
    expect(
      sizeLimitProblems({
        maxFileSizeBytes: 10 * GiB,
        largeFileThresholdBytes: DEFAULT_LARGE_FILE_THRESHOLD_BYTES,
      }),
    ).toEqual([]);
  });

  it('names a maximum the large function cannot finish, and a threshold the small one cannot', () => {
    const problems = sizeLimitProblems({ maxFileSizeBytes: 200 * GiB, largeFileThresholdBytes: 100 * GiB });
    expect(problems.map((p) => p.key)).toEqual(['maxFileSizeBytes', 'largeFileThresholdBytes']);
    expect(problems[0]!.message).toMatch(/on ValidateLargeFile \(10240 MB\).*over 720 s.*at most \d+ bytes/);
    expect(problems[1]!.message).toMatch(/on ValidateFile \(1024 MB\)/);
  });
});

describe('loadPipelineConfig refuses sizes the model cannot validate in time', () => {
  const minimal = { secretName: 'aep/creds' };
  const errorOf = (raw: unknown) => {
    try {
      loadPipelineConfig(raw);
    } catch (error) {
      if (error instanceof ConfigError) return error.message;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('refuses maxFileSizeBytes past 80% of 900 s on the large function, naming the key', () => {
    const largest = largestFileWithin(720, LARGE_FUNCTION, { quoted: true });
    expect(loadPipelineConfig({ ...minimal, maxFileSizeBytes: largest }).maxFileSizeBytes).toBe(largest);
    expect(errorOf({ ...minimal, maxFileSizeBytes: largest + 64 * MB })).toMatch(
      /^cdk\.json context "pipeline\.maxFileSizeBytes": \d+ bytes would take about \d+ s on ValidateLargeFile/,
    );
  });

  it('refuses a largeFileThresholdBytes that leaves the small function files it cannot finish', () => {
    expect(errorOf({ ...minimal, largeFileThresholdBytes: 9 * GiB })).toMatch(
      /^cdk\.json context "pipeline\.largeFileThresholdBytes": .* on ValidateFile \(1024 MB\)/,
    );
    // Files above maxFileSizeBytes never reach a function: a high threshold with a low maximum is fine.
    expect(() =>
      loadPipelineConfig({ ...minimal, largeFileThresholdBytes: 9 * GiB, maxFileSizeBytes: GiB }),
    ).not.toThrow();
  });
});

describe('README "How large a file can be"', () => {
  // Cells padded for reading: compared with runs of spaces as one.
  const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8').replace(
    / {2,}/g,
    ' ',
  );

  it.each([
    [1, 'ValidateFile', SMALL_FUNCTION],
    [10, 'ValidateFile', SMALL_FUNCTION],
    [1, 'ValidateLargeFile', LARGE_FUNCTION],
    [10, 'ValidateLargeFile', LARGE_FUNCTION],
  ] as const)('lists %i GB on %s as the model computes it', (gb, name, fn) => {
    const run = modelValidation(gb * GiB, fn);
    const quoted = modelValidation(gb * GiB, fn, { quoted: true });
    const row = `| ${gb} GB | ${name} (${fn.memoryMB.toLocaleString('en-US')} MB) | ${Math.round(run.seconds)} s | ${Math.round(quoted.seconds)} s | ${run.bound} | $${run.usd.toFixed(4)} |`;
    expect(readme).toContain(row);
  });
});
