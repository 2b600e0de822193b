import { SingleBar } from 'cli-progress';

/** A progress bar: `update(done, total)` after each unit of work, `stop()` at the end (or on failure). */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A progress bar on `stream` when it is a terminal (it is cleared when stopped, so the result lines
 * stay alone), or undefined: piped output gets no bar.
 *
 * @param label what is being done, e.g. `eval valid`.
 */
export function batchProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  const bar = new SingleBar(
    { format: `${label} |{bar}| {value}/{total} batches ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, stream },
    undefined,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
