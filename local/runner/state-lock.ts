// One process at a time owns a target's state folder (dynalite's on-disk store allows one opener): its lock file.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalUsageError } from './usage-error.ts';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the state folder for this process, or refuses when a live process holds it (a lock left by a dead one
 * is taken over); returns the function that gives it back.
 */
export function acquireStateLock(stateDir: string): () => void {
  const file = path.join(stateDir, 'lock');
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid && pid !== process.pid && processAlive(pid)) {
      throw new LocalUsageError(
        `${stateDir} is in use by process ${pid} (another 'aep-audience run' or 'serve'); wait for it or stop it`,
      );
    }
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}
