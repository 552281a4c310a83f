// Worker threads that parse record-aligned slices (range-worker.ts), one slice per worker at a time; results
// come back as promises, which the reading thread merges in file order.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { HeapInfo } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { parseRange, RANGE_WORKER_FLAG, type RangeJob, type RangeReply } from './range-worker.ts';
import type { RangeResult } from './record-range.ts';

/** Each worker's young generation (V8's semi-spaces): see the pool's constructor. */
const YOUNG_GENERATION_MB = 48;

export interface RangePool {
  readonly size: number;
  run(slice: Buffer, job: RangeJob): Promise<RangeResult>;
  close(): Promise<void>;
}

/** The machine's cores (in Lambda, the vCPUs of the memory size: 6 at 10,240 MB). */
export function defaultWorkers(): number {
  return availableParallelism();
}

/**
 * Where a worker starts: in the sources, a small bootstrap that loads the TypeScript; in a bundle (one
 * `index.mjs` holding every module, this one included), the bundle itself, which serves ranges when its
 * worker data says so.
 */
function workerEntry(): { file: string | URL; workerData: Record<string, unknown> } {
  const self = import.meta.url;
  const workerData = { [RANGE_WORKER_FLAG]: true };
  if (self.endsWith('.ts')) return { file: new URL('./range-worker-source.mjs', self), workerData };
  return { file: fileURLToPath(self), workerData };
}

/** Parses in the calling thread: ranges without threads (`--workers 1 --split-bytes B`, tests). */
export class InlinePool implements RangePool {
  readonly size = 1;
  async run(slice: Buffer, job: RangeJob): Promise<RangeResult> {
    return parseRange(slice, job);
  }
  async close(): Promise<void> {}
}

interface Pending {
  resolve: (result: RangeResult) => void;
  reject: (error: Error) => void;
}

export class ThreadPool implements RangePool {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly waiting: { slice: Buffer; job: RangeJob; pending: Pending }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 1;
  private failure: Error | undefined;
  private closing = false;

  constructor(readonly size: number) {
    const entry = workerEntry();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(entry.file, {
        workerData: entry.workerData,
        // A slice's garbage dies young (cells, rows): V8 grows a worker's young generation to 128 MB on a machine
        // with memory to spare, for no gain; capped, a worker's heap peaked at 45 MB instead of 96 MB on a 1 GB
        // file (bench/validation.ts).
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      worker.on('message', (reply: RangeReply) => this.answered(worker, reply));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a validation worker exited (code ${code})`));
      });
      // A worker waiting for work does not keep the process alive.
      worker.unref();
      this.all.push(worker);
      this.idle.push(worker);
    }
  }

  /** A worker failed or exited: the pool takes no more work (start another). */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  run(slice: Buffer, job: RangeJob): Promise<RangeResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<RangeResult>((resolve, reject) => {
      this.waiting.push({ slice, job, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  /** Each worker's V8 heap, as `v8.getHeapStatistics()` inside it says (the benchmark's memory per worker). */
  async heapStatistics(): Promise<HeapInfo[]> {
    // An idle worker does not keep the process alive; while it answers, it must.
    for (const worker of this.all) worker.ref();
    try {
      return await Promise.all(this.all.map((w) => w.getHeapStatistics()));
    } finally {
      for (const worker of this.all) if (!this.busy.has(worker)) worker.unref();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const worker = this.idle.pop()!;
      const { slice, job, pending } = this.waiting.shift()!;
      const id = this.nextId++;
      this.pending.set(id, pending);
      this.busy.set(worker, id);
      worker.ref();
      const bytes = new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength);
      // The slice owns its memory (record-cutter.ts): moved to the worker, not copied.
      const transfer = slice.byteOffset === 0 && slice.byteLength === slice.buffer.byteLength;
      worker.postMessage(
        { id, slice: bytes, header: job.header, settings: job.settings },
        transfer ? [slice.buffer as ArrayBuffer] : [],
      );
    }
  }

  private answered(worker: Worker, reply: RangeReply): void {
    const pending = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    this.busy.delete(worker);
    worker.unref();
    this.idle.push(worker);
    if ('error' in reply) pending?.reject(new Error(`a validation worker failed: ${reply.error}`));
    else pending?.resolve(reply.result);
    this.dispatch();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const { pending } of this.waiting.splice(0)) pending.reject(error);
  }
}
