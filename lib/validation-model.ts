// How long validating a file takes in AWS Lambda, and what it costs: a pure model from figures measured on the
// development machine (`npm run bench -- validation`) and stated assumptions, each with its source. The README's
// "How large a file can be" is its table; synth refuses a configuration it says cannot finish in time.
//
// A validation streams three things at once: the CSV in from S3, the parse on the vCPUs, the staged copy out
// to S3. Its rate is the slowest of them; its time that rate over the bytes, plus fixed costs (the S3 calls
// around the stream, the last slice, the workers' start).

/** MB in this model: 2^20 bytes, as the benchmark prints them (S3's and Lambda's "MB" are taken as these). */
export const MB = 1024 * 1024;

/**
 * Measured on the development machine, one x64 core (AMD EPYC, Zen 5, 2 vCPUs under KVM, shared with other
 * work: the best runs of `npm run bench -- validation`, 210 MB and 1 GB files, rounded down).
 */
export const MEASURED = {
  /** The engine end to end on one thread (parse, checks, staged copy), the benchmark's customer file: 80–82. */
  engineMBpsPerCore: 80,
  /** The same rows with every field quoted, per MB of that file (csv-parse reads every record): 32–35. */
  quotedEngineMBpsPerCore: 32,
  /**
   * CPU that ranges on workers cost over one pass of the same file, the reading thread included: 2 workers
   * took 1.09–1.15× the CPU seconds of one thread.
   */
  rangesCpuOverhead: 0.15,
  /** The reading thread alone (reading, cutting, merging, writing; parsing replayed): 0.6–1.0 ms per MB. */
  coordinatorMsPerMB: 1,
  /** gunzip's CPU per MB of CSV (one stream, so on one thread): one-thread gzip run minus plain run, 4.8. */
  gunzipMsPerMB: 5,
  /** Starting the workers and a first slice each, from the TypeScript sources: 0.15–0.33 s. */
  workerStartSeconds: 0.3,
} as const;

/** What Lambda gives and charges (arm64, the architecture of every function of the stack). */
export const LAMBDA = {
  /**
   * "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per second)", and CPU
   * grows in proportion to memory (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
   */
  mbPerVcpu: 1769,
  /** Up to 10,240 MB and 6 vCPUs (https://aws.amazon.com/blogs/aws/new-for-aws-lambda-functions-with-up-to-10-gb-of-memory-and-6-vcpus/). */
  maxMemoryMB: 10_240,
  /** Hard limit of one invocation (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
  timeoutSeconds: 900,
  /** arm64, US East (N. Virginia), first 7.5 billion GB-s a month (https://aws.amazon.com/lambda/pricing/). */
  usdPerGbSecond: 0.0000133334,
  usdPerRequest: 0.2 / 1_000_000,
} as const;

/**
 * The vCPUs a function sees (os.availableParallelism, hence its workers) by memory. AWS documents the two ends
 * (1,769 MB: one vCPU's worth, 10,240 MB: 6 vCPUs); the steps between are measured by others
 * (https://github.com/rwnx/lambda-cpuinfo: 2 up to 3,008 MB, 3 to 5,307, 4 to 7,076, 5 to 8,845, then 6).
 */
export function visibleVcpus(memoryMB: number): number {
  if (memoryMB <= 3008) return 2;
  if (memoryMB <= 5307) return 3;
  if (memoryMB <= 7076) return 4;
  if (memoryMB <= 8845) return 5;
  return 6;
}

/** vCPU-seconds a function may use per second: memory / 1,769 MB, never more than the vCPUs it sees. */
export function vcpuCredits(memoryMB: number): number {
  return Math.min(memoryMB / LAMBDA.mbPerVcpu, visibleVcpus(memoryMB));
}

/** Assumptions: no measurement of them was possible here (no AWS account). */
export const ASSUMED = {
  /**
   * One arm64 Lambda vCPU (Graviton2, Neoverse N1; https://docs.aws.amazon.com/lambda/latest/dg/foundation-arch.html)
   * does this share of the development machine's Zen 5 core's work. Not measured: AWS's own comparisons are
   * against Lambda's x86 vCPUs, not this core, and a Zen 5 core outruns an N1 core on single-thread JavaScript.
   * Half is conservative; an earlier estimate for ValidateFile (780–1,100 s for 10 GB at 0.58
   * vCPU, from 31 MB/s on a full x64 core) implied 0.52–0.73.
   */
  gravitonFactor: 0.5,
  /**
   * "Make one concurrent request for each 85–90 MB/s of desired network throughput" (S3 performance design
   * patterns, https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-design-patterns.html);
   * the low end. AWS publishes no network figure for Lambda: the model assumes the function's network does not
   * cap a handful of connections (`networkCapMBps` below lowers it when it does).
   */
  s3MBpsPerConnection: 85,
  /**
   * Each request's latency before its bytes flow: "first-byte-out latencies for larger objects of roughly
   * 100–200 milliseconds" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html);
   * the middle, for GETs and the PUTs of parts alike.
   */
  s3RequestLatencySeconds: 0.15,
  /** Ranged GETs in flight and their size (functions/shared/s3.ts, rangedObjectStream). */
  getConnections: 4,
  getRangeMB: 8,
  /** The staged copy's multipart upload (@aws-sdk/lib-storage Upload defaults: 4 parts in flight of 5 MiB). */
  putConnections: 4,
  putPartMB: 5,
  /** CPU of the S3 client per MB moved (TLS, HTTP, the SDK's buffering), in and out together, on this core. */
  s3ClientMsPerMB: 2,
  /** The S3 calls around the stream (size, manifest, registry, completing two uploads, validation.json). */
  fixedSeconds: 1,
  /** The slice a worker parses (engine.ts DEFAULT_SPLIT_BYTES). */
  sliceMB: 4,
  /** No cap by default: AWS publishes none for Lambda. */
  networkCapMBps: Number.POSITIVE_INFINITY,
} as const;

export interface ValidationFunction {
  memoryMB: number;
  /** Threads that parse: 1 is one pass in the reading thread. */
  workers: number;
}

/** The stack's two validation functions (lib/constructs/pipeline-tasks.ts). */
export const SMALL_FUNCTION: ValidationFunction = { memoryMB: 1024, workers: 1 };
export const LARGE_FUNCTION: ValidationFunction = {
  memoryMB: LAMBDA.maxMemoryMB,
  workers: visibleVcpus(LAMBDA.maxMemoryMB),
};

export interface ModelOptions {
  /** The file is gzip: the bytes are the CSV's, `compression` times more than what is read from S3. */
  gzip?: boolean;
  compression?: number;
  /** Every field quoted: the slower engine figure. */
  quoted?: boolean;
  /** Assumptions to change (e.g. a network cap, another Graviton factor). */
  assume?: Partial<Record<keyof typeof ASSUMED, number>>;
}

export type Bound = 'cpu' | 'reading thread' | 'gunzip' | 's3 read' | 's3 write';

export interface ModelledRun {
  seconds: number;
  usd: number;
  /** MB/s of CSV once streaming, and what limits it. */
  mbps: number;
  bound: Bound;
  vcpus: number;
}

/** The rate of `connections` requests of `requestMB` each, back to back, at the assumed S3 figures. */
function s3Rate(connections: number, requestMB: number, a: typeof ASSUMED): number {
  const perConnection = requestMB / (requestMB / a.s3MBpsPerConnection + a.s3RequestLatencySeconds);
  return Math.min(connections * perConnection, a.networkCapMBps);
}

/** Validating (and staging) a file of `bytes` CSV bytes on `fn`. */
export function modelValidation(
  bytes: number,
  fn: ValidationFunction,
  options: ModelOptions = {},
): ModelledRun {
  const a = { ...ASSUMED, ...options.assume } as typeof ASSUMED;
  const megabytes = bytes / MB;
  const credits = vcpuCredits(fn.memoryMB);
  // Seconds of one Lambda vCPU per MB of CSV, by who spends them.
  const toLambda = (msOnThisCore: number) => msOnThisCore / 1000 / a.gravitonFactor;
  const engineMBps = options.quoted ? MEASURED.quotedEngineMBpsPerCore : MEASURED.engineMBpsPerCore;
  const onePass = toLambda(1000 / engineMBps);
  const compression = options.gzip ? (options.compression ?? 4) : 1;
  const s3Client = toLambda(a.s3ClientMsPerMB) * (1 + 1 / compression) * 0.5;
  const gunzip = options.gzip ? toLambda(MEASURED.gunzipMsPerMB) : 0;
  const ranged = fn.workers > 1;
  // By ranges, the parse costs the measured overhead more (the reading thread's part of it is also its own).
  const parse = ranged ? onePass * (1 + MEASURED.rangesCpuOverhead) : onePass;
  const reading = ranged ? toLambda(MEASURED.coordinatorMsPerMB) + s3Client : parse + s3Client;

  const limits: [Bound, number][] = [
    // Every thread's work shares the credits.
    ['cpu', credits / ((ranged ? parse + s3Client : reading) + gunzip)],
    // One thread reads, cuts and merges (and in one pass, parses): at most one vCPU.
    ['reading thread', Math.min(1, credits) / reading],
    ['s3 read', s3Rate(a.getConnections, a.getRangeMB, a) * compression],
    ['s3 write', s3Rate(a.putConnections, a.putPartMB, a)],
  ];
  // Each worker is one thread: at most one vCPU each.
  if (ranged) limits.push(['cpu', Math.min(fn.workers, credits) / parse]);
  if (options.gzip) limits.push(['gunzip', 1 / gunzip]);
  const [bound, mbps] = limits.reduce((slowest, limit) => (limit[1] < slowest[1] ? limit : slowest));

  // The last slice parses alone after the stream ends; workers start once per cold start (counted, to be safe).
  const tail = ranged
    ? Math.min(a.sliceMB, megabytes) * parse + MEASURED.workerStartSeconds / a.gravitonFactor
    : 0;
  const seconds = a.fixedSeconds + megabytes / mbps + tail;
  const usd = (fn.memoryMB / 1024) * seconds * LAMBDA.usdPerGbSecond + LAMBDA.usdPerRequest;
  return { seconds, usd, mbps, bound, vcpus: credits };
}

/** The share of Lambda's 900 s a validation may take: the rest is margin for a slower S3 or a slower core. */
export const TIME_BUDGET = 0.8;

/** The largest file (CSV bytes) `fn` validates within `seconds`, by the model. */
export function largestFileWithin(
  seconds: number,
  fn: ValidationFunction,
  options: ModelOptions = {},
): number {
  // Past one slice the time is linear in the bytes: fixed costs plus bytes over the rate.
  const probe = modelValidation(1024 * MB, fn, options);
  const fixed = probe.seconds - 1024 / probe.mbps;
  return Math.max(0, Math.floor((seconds - fixed) * probe.mbps * MB));
}

/**
 * The stack's default `largeFileThresholdBytes` (lib/config.ts), a choice of latency: ValidateFile costs less
 * per file at any size (2–6× less: Lambda bills the large function 10× per second, and it is S3-bound well before
 * its six vCPUs are busy), so it takes every file it validates within THRESHOLD_SECONDS (a typical file), the
 * largest power of two of them; ValidateLargeFile, 5× faster, takes the rest. ValidateFile would finish files up
 * to about 6 GiB within TIME_BUDGET (every field quoted): the threshold is not its limit.
 */
export const THRESHOLD_SECONDS = 60;
export const DEFAULT_LARGE_FILE_THRESHOLD_BYTES = 1024 * MB;

/**
 * Why a configuration cannot be trusted to finish, by the model, or undefined: a file of `maxFileSizeBytes` on
 * the large function, or of `largeFileThresholdBytes` on the small one, past TIME_BUDGET of Lambda's timeout.
 * Judged for the slowest file the model knows (every field quoted).
 */
export function sizeLimitProblems(config: { maxFileSizeBytes: number; largeFileThresholdBytes: number }): {
  key: 'maxFileSizeBytes' | 'largeFileThresholdBytes';
  message: string;
}[] {
  const budget = TIME_BUDGET * LAMBDA.timeoutSeconds;
  const problems: { key: 'maxFileSizeBytes' | 'largeFileThresholdBytes'; message: string }[] = [];
  const check = (
    key: 'maxFileSizeBytes' | 'largeFileThresholdBytes',
    bytes: number,
    fn: ValidationFunction,
    name: string,
  ) => {
    const run = modelValidation(bytes, fn, { quoted: true });
    if (run.seconds <= budget) return;
    const largest = largestFileWithin(budget, fn, { quoted: true });
    problems.push({
      key,
      message:
        `${bytes} bytes would take about ${Math.round(run.seconds)} s on ${name} (${fn.memoryMB} MB) by the ` +
        `validation model (lib/validation-model.ts), over ${budget} s (${TIME_BUDGET * 100}% of Lambda's ` +
        `${LAMBDA.timeoutSeconds} s); at most ${largest} bytes (${(largest / 1024 ** 3).toFixed(2)} GiB) fit`,
    });
  };
  check('maxFileSizeBytes', config.maxFileSizeBytes, LARGE_FUNCTION, 'ValidateLargeFile');
  // Files up to the threshold go to the small function (but never more than the stack accepts).
  check(
    'largeFileThresholdBytes',
    Math.min(config.largeFileThresholdBytes, config.maxFileSizeBytes),
    SMALL_FUNCTION,
    'ValidateFile',
  );
  return problems;
}
