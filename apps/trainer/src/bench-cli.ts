import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type BenchReport, type BenchSize, BENCH_SIZES, benchMarkdown, runBench } from './bench.js';
import { UsageError } from './errors.js';

/** Options of `staircase bench` as commander parses them. */
export interface BenchCommandOptions {
  size?: string;
  kinds?: string;
  backends?: string;
  steps?: number;
  warmup?: number;
  workers?: number;
  positions?: string;
  streamTokens?: number;
  out?: string;
  markdown?: string;
  json?: boolean;
}

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

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** `staircase bench`: runs the benchmark, writes `--out` / `--markdown`, prints the table (or JSON). */
export async function benchCommand(o: BenchCommandOptions): Promise<BenchReport> {
  const size = o.size ?? 'tiny';
  if (!(BENCH_SIZES as readonly string[]).includes(size)) throw new UsageError(`--size ${size}: expected ${BENCH_SIZES.join(' or ')}`);
  const positions = parsePositions(o.positions);
  const kinds = list(o.kinds);
  const backends = list(o.backends);
  const report = await runBench({
    size: size as BenchSize,
    ...(kinds ? { kinds } : {}),
    ...(backends ? { backends } : {}),
    ...(o.steps !== undefined ? { steps: o.steps } : {}),
    ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(positions ? { positions } : {}),
    ...(o.streamTokens !== undefined ? { streamTokens: o.streamTokens } : {}),
    onProgress: (line) => process.stderr.write(`bench: ${line}\n`),
  });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = benchMarkdown(report);
  if (o.out) write(o.out, json);
  if (o.markdown) write(o.markdown, markdown);
  process.stdout.write(o.json ? json : markdown);
  return report;
}
