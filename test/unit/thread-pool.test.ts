// The range pool after a worker dies: it says so (`broken`), refuses more work with the cause, and a new pool
// works; the validation handler replaces a broken pool before the next file.
import { describe, expect, it } from 'vitest';
import { ThreadPool } from '../../functions/validate-file/engine/thread-pool.ts';

const job = { header: ['email'], settings: { identityHeaders: { email: 'Email' } } };
const slice = () => Buffer.from('ann@example.com\nbob@example.com\n');

describe('ThreadPool', () => {
  it('parses slices, and is broken once a worker exits', async () => {
    const pool = new ThreadPool(1);
    try {
      expect((await pool.run(slice(), job)).rows).toBe(2);
      expect(pool.broken).toBe(false);
      // A worker gone, as after an out-of-memory crash.
      await (pool as unknown as { all: { terminate(): Promise<number> }[] }).all[0]!.terminate();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pool.broken).toBe(true);
      await expect(pool.run(slice(), job)).rejects.toThrow(/a validation worker exited/);
    } finally {
      await pool.close();
    }
    const fresh = new ThreadPool(1);
    try {
      expect((await fresh.run(slice(), job)).rows).toBe(2);
    } finally {
      await fresh.close();
    }
  });
});
