import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { type Checkpoint, loadCheckpoint } from '@staircase/backend-tfjs';
import { UsageError } from './errors.js';
import { lockRunDir } from './run-lock.js';
import { type RunConfig, runConfigSchema } from './run-config.js';
import { parseConfig } from '@staircase/core';

/** The files of a run directory. */
export const runFiles = (dir: string) => ({
  config: join(dir, 'config.json'),
  metrics: join(dir, 'metrics.jsonl'),
  checkpoints: join(dir, 'checkpoints'),
  latest: join(dir, 'checkpoints', 'latest.ckpt'),
  best: join(dir, 'checkpoints', 'best.ckpt'),
  samples: join(dir, 'samples'),
  plots: join(dir, 'plots'),
});

/** A data spec as a directory-name word: `brown`, `random-walk`, `algorithmic-3var`, `text-corpus` (the first file's name). */
function dataWord(spec: string): string {
  const colon = spec.indexOf(':');
  const source = colon < 0 ? spec : spec.slice(0, colon);
  const first = colon < 0 ? '' : (spec.slice(colon + 1).split(',')[0] ?? '');
  const name = source === 'text' && first ? `text-${basename(first, extname(first))}` : source === 'algorithmic' ? spec : source;
  return name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').slice(0, 40) || 'data';
}

/** `2026-12-04T21:30:45.123Z` → `20261204-213045` (UTC). */
const stamp = (at: Date) => at.toISOString().slice(0, 19).replace(/-|:/g, '').replace('T', '-');

/**
 * The run directory of a new run without `--out`: `ROOT/KIND-DATA-YYYYMMDD-HHMMSS` in UTC, e.g.
 * `runs/staircase-brown-20261204-213045`, with `-2`, `-3` … added when that name is taken.
 */
export function defaultRunDir(kind: string, spec: string, at: Date = new Date(), root = 'runs'): string {
  const base = join(root, `${kind.replace(/[^a-z0-9]+/gi, '-')}-${dataWord(spec)}-${stamp(at)}`);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

/** Writes a file atomically: a reader sees the old content or the new, never half of one. */
export function writeAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** What a run writes: `--force` removes exactly these (and nothing else a directory holds). */
const RUN_ENTRIES = ['config.json', 'metrics.jsonl', 'checkpoints', 'samples', 'plots'];

/** Refuses a non-empty directory unless `force` (checked before anything is written). */
export function checkRunDirFree(dir: string, force: boolean): void {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !force) {
    throw new UsageError(`run directory ${dir} already exists and is not empty; pass --resume ${dir} to continue it, --force to overwrite, or another --out`);
  }
}

/**
 * Creates a new run directory and takes its lock. With `force`, an earlier run's files there are
 * removed first, so that nothing of the old run (metrics, a best checkpoint) mixes with the new one.
 *
 * @returns a function that releases the lock.
 */
export function createRunDir(dir: string, force: boolean): () => void {
  checkRunDirFree(dir, force);
  mkdirSync(dir, { recursive: true });
  const release = lockRunDir(dir);
  try {
    if (force) for (const entry of RUN_ENTRIES) rmSync(join(dir, entry), { recursive: true, force: true });
    const f = runFiles(dir);
    for (const d of [f.checkpoints, f.samples, f.plots]) mkdirSync(d, { recursive: true });
  } catch (e) {
    release();
    throw e;
  }
  return release;
}

/** Removes a run's files (those a run writes, nothing else), and the directory when that empties it. */
export function removeRunFiles(dir: string): void {
  for (const entry of RUN_ENTRIES) rmSync(join(dir, entry), { recursive: true, force: true });
  if (existsSync(dir) && readdirSync(dir).filter((f) => f !== '.lock').length === 0) rmSync(dir, { recursive: true, force: true });
}

/** The run config saved in a run directory. */
export function readRunConfig(dir: string): RunConfig {
  const f = runFiles(dir);
  if (!existsSync(f.config)) throw new UsageError(`${dir} is not a run directory (no config.json); give a directory written by "staircase train"`);
  return parseConfig(runConfigSchema, JSON.parse(readFileSync(f.config, 'utf8')), `${f.config}`);
}

/** One JSON object per line. */
export function appendMetric(dir: string, record: Record<string, unknown>): void {
  appendFileSync(runFiles(dir).metrics, `${JSON.stringify(record)}\n`);
}

/** Metrics records of a run, optionally only those up to `step` (a resumed run rewrites the rest). */
export function readMetrics(dir: string, upToStep = Number.POSITIVE_INFINITY): Record<string, number | string>[] {
  const path = runFiles(dir).metrics;
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: Record<string, number | string>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as Record<string, number | string>);
    } catch (e) {
      // A torn last line (disk full, a kill during the append) is dropped; truncateMetrics repairs the file.
      if (lines.slice(i + 1).some((l) => l.trim() !== '')) throw new UsageError(`${path}: line ${i + 1} is not JSON (${(e as Error).message}); the file is damaged`);
    }
  });
  return records.filter((r) => Number(r.step) <= upToStep);
}

/**
 * Keeps only the metrics up to `step`, so a resumed run continues the file without duplicates;
 * `dropValidAtStep` also drops the validation record at `step` (a finished run's final one).
 */
export function truncateMetrics(dir: string, step: number, dropValidAtStep = false): void {
  const kept = readMetrics(dir, step).filter((r) => !(dropValidAtStep && r.split === 'valid' && Number(r.step) === step));
  writeAtomic(runFiles(dir).metrics, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Which checkpoint of a run a file is: `best.ckpt`, `latest.ckpt`, or another file. */
export type CheckpointRole = 'best' | 'latest' | 'file';

/** The role a checkpoint file's name gives it (`--checkpoint DIR/checkpoints/best.ckpt` is the best). */
export function checkpointRole(path: string): CheckpointRole {
  const name = basename(path);
  return name === 'best.ckpt' ? 'best' : name === 'latest.ckpt' ? 'latest' : 'file';
}

/** What a command scored or sampled: a checkpoint (its step; the run's best or latest), or an exported ONNX file. */
export interface ModelSource {
  path: string;
  /** `best` / `latest`: that checkpoint of a run; `file`: another checkpoint file; `onnx`: an exported model. */
  which: CheckpointRole | 'onnx';
  /** Training steps of the checkpoint (absent for an exported ONNX file). */
  step?: number;
}

/** The checkpoint a command should read: `--checkpoint FILE`, or the run's best (else latest). */
export async function findCheckpoint(
  options: { run?: string; checkpoint?: string },
): Promise<{ path: string; role: CheckpointRole; checkpoint: Checkpoint; config: RunConfig }> {
  let path = options.checkpoint;
  if (!path) {
    if (!options.run) throw new UsageError('give --run DIR or --checkpoint FILE');
    const f = runFiles(options.run);
    if (!existsSync(f.config)) readRunConfig(options.run);
    path = existsSync(f.best) ? f.best : f.latest;
    if (!existsSync(path)) throw new UsageError(`${options.run} has no checkpoint yet (expected ${f.latest})`);
  } else if (!existsSync(path)) {
    throw new UsageError(`checkpoint ${path} does not exist`);
  }
  const checkpoint = await loadCheckpoint(path);
  const saved = (checkpoint.metadata as { runConfig?: unknown } | undefined)?.runConfig;
  if (!saved) throw new UsageError(`checkpoint ${path} has no run config; it was not written by "staircase train"`);
  return { path, role: checkpointRole(path), checkpoint, config: parseConfig(runConfigSchema, saved, `${path} run config`) };
}
