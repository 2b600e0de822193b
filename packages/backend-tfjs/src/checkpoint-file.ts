/**
 * Checkpoints as files (Node): atomic saves and size-checked loads. The encoding itself lives in
 * `checkpoint.ts`, which touches no file system and is part of the browser entry.
 */
import { type AtomicWriteHooks, writeFileAtomic } from './atomic-write.js';
import { type Checkpoint, CheckpointError, type DecodeOptions, decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';

/**
 * Writes a checkpoint atomically: to `path.tmp-<pid>`, fsynced, then renamed over `path`, so the
 * previous checkpoint stays loadable until the new one is complete.
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint, hooks?: AtomicWriteHooks): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(checkpoint), hooks);
}

/**
 * Largest checkpoint file {@link loadCheckpoint} reads: Node reads a file into one buffer of at most
 * 2 GiB. Checked before reading, so a bigger file is one clear line instead of a `RangeError`.
 */
export const MAX_CHECKPOINT_FILE_BYTES = 2 ** 31 - 1;

/**
 * Reads and verifies a checkpoint file (see {@link decodeCheckpoint}); its size is checked against
 * {@link MAX_CHECKPOINT_FILE_BYTES} before it is read.
 */
export async function loadCheckpoint(path: string, options: Omit<DecodeOptions, 'source'> = {}): Promise<Checkpoint> {
  const { readFile, stat } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    const { size, isFile } = await stat(path).then((s) => ({ size: s.size, isFile: s.isFile() }));
    if (!isFile) throw new CheckpointError(`checkpoint ${path} is not a file`);
    if (size > MAX_CHECKPOINT_FILE_BYTES) {
      throw new CheckpointError(`checkpoint ${path} is ${(size / 2 ** 30).toFixed(1)} GiB; checkpoints of at most 2 GiB can be read`);
    }
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const code = (e as { code?: string }).code;
    throw new CheckpointError(code === 'ENOENT' ? `checkpoint ${path} does not exist` : `checkpoint ${path} cannot be read (${code ?? String(e)})`);
  }
  return decodeCheckpoint(bytes, { ...options, source: `checkpoint ${path}` });
}
