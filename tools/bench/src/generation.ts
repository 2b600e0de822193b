import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Options of {@link measureGeneration}. */
export interface GenerationOptions {
  /** Tokens to generate per runtime. Default 100 000. */
  readonly tokens?: number;
  /** The `staircase train` preset of the (briefly trained) model. Default `small`. */
  readonly preset?: string;
  /** Model kind. Default `staircase`. */
  readonly kind?: string;
  /** Byte-level data to train on for a step (speed does not depend on the weights). Default `brown`. */
  readonly data?: string;
  /** Runtimes to measure: `tfjs` (`staircase sample --run`) and `onnx` (`sample --onnx`, ONNX Runtime CPU). Default both. */
  readonly runtimes?: readonly ('tfjs' | 'onnx')[];
  /** Windows the output is cut into to see whether the rate drifts. Default 10. */
  readonly windows?: number;
  /** The built `staircase` CLI. Default: `@staircase/trainer`'s `dist/cli.js`. */
  readonly cli?: string;
  /** Progress lines. Default: none. */
  readonly log?: (line: string) => void;
}

/** One runtime's generation through the CLI, cut into windows of equal output. */
export interface GenerationResult {
  readonly runtime: 'tfjs' | 'onnx';
  readonly tokens: number;
  /** Bytes the CLI wrote to stdout (byte-level data: about one per token). */
  readonly bytes: number;
  /** Seconds from the first byte to the last. */
  readonly seconds: number;
  /** Output bytes per second in each window, first to last. */
  readonly windowRates: number[];
  /** The last window's rate over the first's: 1 when the per-token cost is flat. */
  readonly lastOverFirst: number;
}

/** What {@link measureGeneration} measured. */
export interface GenerationReport {
  readonly preset: string;
  readonly kind: string;
  readonly data: string;
  readonly results: GenerationResult[];
}

/** The trainer package's `staircase` bin (its built `dist/cli.js`), whichever entry the resolver picks. */
function defaultCli(): string {
  const manifest = createRequire(import.meta.url).resolve('@staircase/trainer/package.json');
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }).bin.staircase!;
  return join(dirname(manifest), bin);
}

function run(cli: string, args: string[], onData?: (bytes: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => onData?.(d.length));
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(stderr) : reject(new Error(`staircase ${args[0]} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`))));
  });
}

/**
 * Generation speed over a long run, measured the way a user generates: `staircase sample
 * --tokens N` (TensorFlow.js) and `sample --onnx` (ONNX Runtime CPU) as child processes, the time
 * of every chunk of stdout recorded. The output is cut into windows of equal bytes and each
 * window's rate reported, so a per-token cost that grows with the text (a decoder re-reading what
 * it wrote, a state that grows, a leak) shows as a last window slower than the first.
 */
export async function measureGeneration(options: GenerationOptions = {}): Promise<GenerationReport> {
  const tokens = options.tokens ?? 100_000;
  const preset = options.preset ?? 'small';
  const kind = options.kind ?? 'staircase';
  const data = options.data ?? 'brown';
  const windows = options.windows ?? 10;
  const cli = options.cli ?? defaultCli();
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'staircase-generation-'));
  try {
    const runDir = join(dir, 'run');
    log(`training ${kind} (${preset}) on ${data} for one step…`);
    await run(cli, ['train', '--preset', preset, '--model', kind, '--data', data, '--steps', '1', '--out', runDir]);
    const results: GenerationResult[] = [];
    for (const runtime of options.runtimes ?? (['tfjs', 'onnx'] as const)) {
      const source = ['--run', runDir];
      if (runtime === 'onnx') {
        const file = join(dir, 'model.onnx');
        await run(cli, ['export', '--run', runDir, '--out', file]);
        source.splice(0, 2, '--onnx', file, '--device', 'cpu');
      }
      log(`${runtime}: generating ${tokens} tokens…`);
      const arrivals: { t: number; bytes: number }[] = [];
      let total = 0;
      await run(cli, ['sample', ...source, '--tokens', String(tokens), '--temperature', '1', '--seed', '0'], (n) => {
        total += n;
        arrivals.push({ t: performance.now(), bytes: total });
      });
      results.push(summarise(runtime, tokens, arrivals, windows));
    }
    return { preset, kind, data, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cuts the arrivals (cumulative bytes at each time) into `windows` windows of equal bytes. */
export function summarise(runtime: 'tfjs' | 'onnx', tokens: number, arrivals: readonly { t: number; bytes: number }[], windows: number): GenerationResult {
  if (arrivals.length < 2) throw new Error(`${runtime}: the CLI wrote ${arrivals.length} chunk(s) of output; too few to time`);
  const first = arrivals[0]!;
  const last = arrivals[arrivals.length - 1]!;
  const span = last.bytes - first.bytes;
  // The time at which output reached `bytes` (the first arrival at or past it).
  const timeAt = (bytes: number) => (arrivals.find((a) => a.bytes >= bytes) ?? last).t;
  const rates: number[] = [];
  for (let w = 0; w < windows; w++) {
    const b0 = first.bytes + (span * w) / windows;
    const b1 = first.bytes + (span * (w + 1)) / windows;
    const seconds = (timeAt(b1) - timeAt(b0)) / 1000;
    rates.push(seconds > 0 ? (b1 - b0) / seconds : Number.POSITIVE_INFINITY);
  }
  return {
    runtime,
    tokens,
    bytes: last.bytes,
    seconds: (last.t - first.t) / 1000,
    windowRates: rates,
    lastOverFirst: rates[rates.length - 1]! / rates[0]!,
  };
}

/** The report as a markdown table: one row per runtime. */
export function generationMarkdown(report: GenerationReport): string {
  const lines = [
    `CLI generation, ${report.kind} (\`${report.preset}\` preset), ${report.data}: output bytes per second in ${report.results[0]?.windowRates.length ?? 0} windows of equal output`,
    '',
    '| runtime | tokens | seconds | first window B/s | last window B/s | last / first |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of report.results) {
    lines.push(
      `| ${r.runtime === 'tfjs' ? 'TensorFlow.js (`sample --run`)' : 'ONNX Runtime CPU (`sample --onnx`)'} | ${r.tokens.toLocaleString('en')} | ${r.seconds.toFixed(1)} | ${r.windowRates[0]!.toFixed(0)} | ${r.windowRates.at(-1)!.toFixed(0)} | ${r.lastOverFirst.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}
