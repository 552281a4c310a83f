// The worker side of the range pool: parses the record-aligned slices the reading thread sends, one at a time,
// and answers with their results. Started by thread-pool.ts, from this module (source) or from the function's
// bundle, which holds this module too and starts it when the worker data says so.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buildColumns, type HeaderSettings, headerNames } from './columns.ts';
import { type RangeResult, RecordRange } from './record-range.ts';

export const RANGE_WORKER_FLAG = 'aepCsvRangeWorker';

export interface RangeJob {
  header: string[];
  settings: HeaderSettings;
}

export interface RangeRequest extends RangeJob {
  id: number;
  slice: Uint8Array;
}

export type RangeReply = { id: number; result: RangeResult } | { id: number; error: string };

/** Parses one slice that starts after the header, as a worker or the reading thread itself would. */
export function parseRange(slice: Uint8Array, job: RangeJob): RangeResult {
  const range = new RecordRange({
    columns: buildColumns(headerNames(job.header), job.settings),
    atStartOfFile: false,
    // The staged copy of a slice is about its size (a row's line is at most its bytes, but for a last line
    // break): one allocation, handed back whole.
    stagedCapacity: slice.byteLength + 1,
  });
  range.write(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength));
  return range.end();
}

function serveRanges(): void {
  parentPort!.on('message', (request: RangeRequest) => {
    let reply: RangeReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const result = parseRange(request.slice, request);
      reply = { id: request.id, result };
      // Moved to the reading thread, not copied: the staged copy is most of what a slice gives back.
      if (result.staged.byteOffset === 0 && result.staged.byteLength > 0)
        transfer.push(result.staged.buffer as ArrayBuffer);
    } catch (error) {
      reply = {
        id: request.id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    }
    parentPort!.postMessage(reply, transfer);
  });
}

/**
 * Whether this thread is a range worker. A bundle evaluates all of its modules in a worker too, so module-level
 * code that starts things (the handler's pool) asks first.
 */
export function isRangeWorker(): boolean {
  return !isMainThread && Boolean((workerData as Record<string, unknown> | undefined)?.[RANGE_WORKER_FLAG]);
}

if (isRangeWorker()) serveRanges();
