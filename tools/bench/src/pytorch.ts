import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The PyTorch peer: `tools/bench/reference/run.py`, run with Debian's Python (which sees `python3-torch`). */
export const REFERENCE_SCRIPT = fileURLToPath(new URL('../reference/run.py', import.meta.url));
export const DEFAULT_PYTHON = '/usr/bin/python3';

/** How to run the peer. */
export interface PytorchOptions {
  python?: string;
  script?: string;
  /** torch's own (intra-op) threads (default 1). */
  threads?: number;
  /**
   * OpenBLAS's threads (default: every core). The default pair is the fastest measured on this
   * project's 2-core machines: torch 1 + OpenBLAS 2 trains Transformer-XL at 5,414 tokens/s,
   * 1 + 1 at 3,649 and 2 + 2 at 2,017 (both pools spin and contend for the cores).
   */
  blasThreads?: number;
  /** Per model, milliseconds (default 1 hour). */
  timeoutMs?: number;
}

/** What `run.py bench` prints (one JSON object), for one model. */
export interface PytorchMeasurement {
  torch: string;
  blas: string;
  threads: number;
  blas_threads: number;
  train_tokens_per_s: number;
  eval_tokens_per_s: number;
  /** Evaluation with int8 weight products (`models.int8_weights`), at its own threads. */
  eval_int8_tokens_per_s?: number | null;
  /** Its torch + OpenBLAS threads, e.g. `2 + 1`. */
  eval_int8_threads?: string | null;
  /** Relative error (L2) of its logits against float32 on one batch. */
  int8_logits_rel_error?: number | null;
  stream_ms_per_token: Record<string, number>;
  peak_rss_mb: number;
}

/** One model measured (or not) by the peer. */
export interface PytorchResult {
  model: string;
  measured?: PytorchMeasurement;
  error?: string;
}

/** The PyTorch part of a suite report. */
export interface PytorchReport {
  status: 'measured' | 'unavailable' | 'skipped';
  reason?: string;
  python: string;
  results: PytorchResult[];
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  error?: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env } }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ...(error ? { error: error.message.split('\n')[0]! } : {}) });
    });
  });
}

const lastLine = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1)
    ?.trim() ?? '';

/** Why the peer cannot run here, or undefined when it can. */
export async function pytorchUnavailable(options: PytorchOptions = {}): Promise<string | undefined> {
  const python = options.python ?? DEFAULT_PYTHON;
  const script = options.script ?? REFERENCE_SCRIPT;
  if (!existsSync(script)) return `${script} is missing`;
  if (!existsSync(python)) return `${python} is missing`;
  const probe = await run(python, ['-c', 'import torch; print(torch.__version__)'], 120_000);
  if (probe.code !== 0) return `torch is not importable by ${python}: ${lastLine(probe.stderr) || probe.error || `exit ${probe.code}`}`;
  return undefined;
}

/** Settings shared by every model of one peer run. */
export interface PytorchBenchSettings {
  batch: number;
  length: number;
  steps: number;
  warmup: number;
  positions: readonly number[];
  /** Timed single-token calls per position (`--stream-tokens`). */
  streamTokens?: number;
  /** Tokens per call while reaching a position (`--history-segment`). */
  historySegment?: number;
}

/** The script and the arguments `run.py bench` and `run.py serve` share. */
function runArgs(command: 'bench' | 'serve', config: string, shape: { batch: number; length: number }, options: PytorchOptions): string[] {
  return [
    options.script ?? REFERENCE_SCRIPT,
    command,
    '--config',
    config,
    '--batch',
    String(shape.batch),
    '--length',
    String(shape.length),
    '--threads',
    String(options.threads ?? 1),
    '--blas-threads',
    String(options.blasThreads ?? cpus().length),
  ];
}

/**
 * Runs `run.py bench` once per model (`config` is our model config object, written to a JSON file)
 * and never throws: a missing script, an absent torch or a failing model is reported.
 */
export async function runPytorch(
  models: readonly { id: string; config: Record<string, unknown> }[],
  settings: PytorchBenchSettings,
  options: PytorchOptions = {},
  onProgress: (line: string) => void = () => {},
): Promise<PytorchReport> {
  const python = options.python ?? DEFAULT_PYTHON;
  const why = await pytorchUnavailable(options);
  if (why) return { status: 'unavailable', reason: why, python, results: [] };
  return measurePytorch(models, settings, options, onProgress);
}

/** {@link runPytorch} without the check that torch is importable (for a caller that made it once for many runs). */
export async function measurePytorch(
  models: readonly { id: string; config: Record<string, unknown> }[],
  settings: PytorchBenchSettings,
  options: PytorchOptions = {},
  onProgress: (line: string) => void = () => {},
): Promise<PytorchReport> {
  const python = options.python ?? DEFAULT_PYTHON;
  const dir = mkdtempSync(join(tmpdir(), 'staircase-bench-'));
  const results: PytorchResult[] = [];
  try {
    for (const m of models) {
      onProgress(`pytorch ${m.id}: ${settings.warmup} warm-up + ${settings.steps} steps`);
      const file = join(dir, `${m.id}.json`);
      writeFileSync(file, JSON.stringify(m.config));
      const args = [...runArgs('bench', file, settings, options), '--steps', String(settings.steps), '--warmup', String(settings.warmup)];
      if (settings.positions.length > 0) {
        args.push('--stream-positions', settings.positions.join(','));
        if (settings.streamTokens !== undefined) args.push('--stream-tokens', String(settings.streamTokens));
        if (settings.historySegment !== undefined) args.push('--history-segment', String(settings.historySegment));
      }
      const r = await run(python, args, options.timeoutMs ?? 3_600_000);
      if (r.code !== 0) {
        results.push({ model: m.id, error: lastLine(r.stderr) || r.error || `exit ${r.code}` });
        continue;
      }
      try {
        results.push({ model: m.id, measured: JSON.parse(lastLine(r.stdout)) as PytorchMeasurement });
      } catch {
        results.push({ model: m.id, error: `run.py printed no JSON object (last line: ${lastLine(r.stdout).slice(0, 200)})` });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ok = results.some((r) => r.measured);
  return ok ? { status: 'measured', python, results } : { status: 'unavailable', reason: results.map((r) => `${r.model}: ${r.error}`).join('; '), python, results };
}

/** A model kept loaded by `run.py serve`: see {@link openPytorchSession}. */
export interface PytorchSession {
  /** What the peer reported when ready: torch's version and the BLAS it loaded. */
  readonly torch: string;
  readonly blas: string;
  /** Milliseconds for `steps` training or evaluation steps (state carried from call to call). */
  time(command: 'train' | 'eval', steps: number): Promise<number>;
  /** Ends the peer process. */
  close(): Promise<void>;
}

/**
 * Starts `run.py serve` for one model (`config`: our model config object) at batch × length, so
 * that a caller can time short runs of the peer between short runs of its own: two figures taken
 * seconds apart see the same machine, where two whole benchmark runs a minute apart do not. Rejects
 * with the peer's last line of stderr when it cannot start.
 */
export async function openPytorchSession(
  config: Record<string, unknown>,
  shape: { batch: number; length: number },
  options: PytorchOptions = {},
): Promise<PytorchSession> {
  const dir = mkdtempSync(join(tmpdir(), 'staircase-peer-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config));
  const args = runArgs('serve', file, shape, options);
  const child = spawn(options.python ?? DEFAULT_PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4096);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<string>((resolve) => {
    child.on('close', (code) => resolve(`run.py serve ended (exit ${code}): ${lastLine(stderr) || 'no message'}`));
    child.on('error', (e) => resolve(`run.py serve did not start: ${e.message}`));
  });
  const timeoutMs = options.timeoutMs ?? 3_600_000;
  const next = async (): Promise<Record<string, unknown>> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`run.py serve gave no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      // The process's end resolves (never rejects) so that no promise is left to reject unhandled.
      const line = await Promise.race([lines.next(), exited.then(() => ({ done: true as const, value: undefined })), timeout]);
      if (line.done) throw new Error(await exited);
      const answer = JSON.parse(line.value) as Record<string, unknown>;
      if (typeof answer.error === 'string') throw new Error(`run.py serve: ${answer.error}`);
      return answer;
    } finally {
      clearTimeout(timer);
    }
  };
  const close = async () => {
    child.stdin.end();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = await next();
    return {
      torch: String(ready.torch),
      blas: String(ready.blas),
      async time(command, steps) {
        child.stdin.write(`${command} ${steps}\n`);
        return Number((await next()).ms);
      },
      close,
    };
  } catch (e) {
    child.kill();
    await close();
    throw e;
  }
}
