import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './errors.js';

/** Whether a process with this PID is alive (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the run directory's lock (`DIR/.lock` holding this PID), so that two trainings never write
 * one directory at once. A lock whose process is gone (killed) is stale and taken over.
 *
 * @returns a function that releases it.
 * @throws UsageError when another live process holds it.
 */
export function lockRunDir(dir: string): () => void {
  const path = join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        process.off('exit', release);
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) rmSync(path, { force: true });
        } catch {
          // Already gone.
        }
      };
      process.once('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && alive(pid)) {
        throw new UsageError(`${dir} is being written by another staircase process (PID ${pid}); wait for it to finish or stop it, or use another --out`);
      }
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new UsageError(`could not lock ${dir} (${path}); remove it if no staircase process is using the directory`);
}

/**
 * Removes temporary files (`*.tmp-PID`) that processes no longer alive left in a run directory
 * (a kill during an atomic write); the files they were replacing are intact.
 */
export function removeStaleTemps(dir: string): void {
  for (const sub of [dir, join(dir, 'checkpoints'), join(dir, 'plots'), join(dir, 'samples')]) {
    if (!existsSync(sub)) continue;
    for (const name of readdirSync(sub)) {
      const m = /\.tmp-(\d+)$/.exec(name);
      if (m && !alive(Number(m[1]))) rmSync(join(sub, name), { force: true });
    }
  }
}
