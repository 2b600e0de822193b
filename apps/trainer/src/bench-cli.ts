import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BENCH_SIZES, type BenchOptions, type BenchReport, type BenchSize, benchMarkdown, runBench } from '@staircase/benchmark';
import type { BenchCommandOptions } from './bench-options.js';
import { UsageError } from './errors.js';

const list = (value: string | undefined) =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** Parses `--positions 256,4096,16384` (an empty string: no streaming measurement). */
export function parsePositions(value: string | undefined): number[] | undefined {
  const parts = list(value);
  if (!parts) return undefined;
  return parts.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--positions: expected whole numbers ≥ 1, got "${p}"`);
    return n;
  });
}

/** The {@link runBench} options a bench command line asked for (a bad `--size` or `--positions` is a {@link UsageError}). */
export function benchOptionsFrom(o: BenchCommandOptions): BenchOptions {
  const size = o.size ?? 'tiny';
  if (!(BENCH_SIZES as readonly string[]).includes(size)) throw new UsageError(`--size ${size}: expected ${BENCH_SIZES.join(' or ')}`);
  const positions = parsePositions(o.positions);
  const kinds = list(o.kinds);
  const backends = list(o.backends);
  const onnxDevices = list(o.onnxDevices);
  return {
    size: size as BenchSize,
    ...(kinds ? { kinds } : {}),
    ...(backends ? { backends } : {}),
    ...(o.steps !== undefined ? { steps: o.steps } : {}),
    ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(positions ? { positions } : {}),
    ...(o.streamTokens !== undefined ? { streamTokens: o.streamTokens } : {}),
    ...(onnxDevices ? { onnxDevices } : {}),
    onProgress: (line) => process.stderr.write(`bench: ${line}\n`),
  };
}

/** Writes a report where `--out` (JSON) and `--markdown` ask, and prints it (JSON with `--json`). */
export function emitBenchReport(o: BenchCommandOptions, report: unknown, markdown: string): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (o.out) write(o.out, json);
  if (o.markdown) write(o.markdown, markdown);
  process.stdout.write(o.json ? json : markdown);
}

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/**
 * `staircase bench`: runs the benchmark (`runBench` of `@staircase/benchmark`), writes `--out` /
 * `--markdown`, prints the table (or JSON). A bad setting is a `BenchmarkError` (or, for `--size`
 * and `--positions`, a {@link UsageError}), which the CLI prints as one line.
 */
export async function benchCommand(o: BenchCommandOptions): Promise<BenchReport> {
  const report = await runBench(benchOptionsFrom(o));
  emitBenchReport(o, report, benchMarkdown(report));
  return report;
}
