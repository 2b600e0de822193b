import { closeSync, existsSync, linkSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './errors.js';

/**
 * Whether a process with this PID is alive (signal 0 checks without signalling). A zombie (killed,
 * not yet reaped by its parent or init: it can stay so for seconds after a `kill -9` of a process
 * group) still answers signal 0 but writes nothing, so on Linux its state in /proc counts it dead.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/** Whether /proc says this PID is a zombie (false where there is no /proc: macOS, Windows). */
function zombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "PID (command) STATE ...": the command may hold spaces and parentheses, the state follows the last ")".
  return /^\s*[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 1));
}

/** The PID a lock file names: null when it names none, undefined when there is no such file. */
function holder(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Blocks this thread for `ms` milliseconds (the lock is taken before anything runs concurrently). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Creates `path` holding this PID, or returns false when it exists. The PID is written to a
 * private file first and hard-linked into place, so a lock is never seen half-written (an empty
 * lock read in the moment between create and write would look stale and be taken over).
 */
function claim(path: string): boolean {
  const mine = `${path}.tmp-${process.pid}`;
  const fd = openSync(mine, 'w');
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(mine, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}

/**
 * Removes a lock file whose process is gone, if it still names that process. Only a file that
 * exists is removed: no process can claim the path while it does.
 */
function removeIfStale(path: string, pid: number | null | undefined): void {
  if (pid === undefined) return;
  if (holder(path) === pid && (pid === null || pid === process.pid || !alive(pid))) rmSync(path, { force: true });
}

/**
 * Takes the run directory's lock (`DIR/.lock` holding this PID), so that two trainings never write
 * one directory at once. A lock whose process is gone (killed) is stale and taken over; a takeover
 * holds `DIR/.lock.takeover` while it re-checks and removes the stale lock, so two processes that
 * both found it stale cannot both end up holding the directory (one would otherwise remove the
 * lock the other had just taken).
 *
 * @returns a function that releases it.
 * @throws UsageError when another live process holds it.
 */
export function lockRunDir(dir: string): () => void {
  const path = join(dir, '.lock');
  const takeover = `${path}.takeover`;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (claim(path)) {
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        process.off('exit', release);
        if (holder(path) === process.pid) rmSync(path, { force: true });
      };
      process.once('exit', release);
      return release;
    }
    const pid = holder(path);
    if (pid !== null && pid !== undefined && pid !== process.pid && alive(pid)) {
      throw new UsageError(`${dir} is being written by another staircase process (PID ${pid}); wait for it to finish or stop it, or use another --out`);
    }
    if (claim(takeover)) {
      try {
        removeIfStale(path, pid);
      } finally {
        rmSync(takeover, { force: true });
      }
    } else {
      // Another process is taking over (or was killed doing it): clear a dead one's marker.
      removeIfStale(takeover, holder(takeover));
      pause(5);
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
