/** Test hooks of {@link writeFileAtomic}. @internal */
export interface AtomicWriteHooks {
  /** Runs after the temporary file is complete and synced, before it replaces the target. */
  readonly beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `bytes` to `path` so that a reader sees either the old file or the complete new one:
 * write `path.tmp-<pid>`, fsync it, rename it over `path`, fsync the folder. The previous file
 * stays untouched until the rename. On failure the temporary file is removed.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  const { open, rename, rm } = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  const temp = `${path}.tmp-${process.pid}`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await hooks.beforeRename?.(temp);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  }
}
