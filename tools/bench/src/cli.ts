#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { type BenchSize, isUserError } from '@staircase/trainer';
import { DEFAULT_PYTHON, REFERENCE_SCRIPT, type SuiteReport, runSuite, suiteMarkdown } from './index.js';

const integer = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return n;
};
const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function write(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

/** The `pnpm bench` command line: TensorFlow.js (+ ONNX) and the PyTorch peer in one invocation. */
export function program(): Command {
  return new Command('bench')
    .description('staircase bench plus the PyTorch peer, with the issue targets')
    .option('--size <name>', 'tiny | reference', 'reference')
    .option('--kinds <list>', 'comma list of models (see staircase bench --help)')
    .option('--backends <list>', 'comma list of TensorFlow.js backends')
    .option('--steps <n>', 'measured steps', integer)
    .option('--warmup <n>', 'untimed warm-up steps', integer)
    .option('--workers <n>', 'also measure data-parallel training with N replicas on wasm/cpu', integer)
    .option('--positions <list>', 'streaming positions (empty string: none)')
    .option('--stream-tokens <n>', 'timed single-token calls per position', integer)
    .option('--python <path>', 'Python with torch for the peer', DEFAULT_PYTHON)
    .option('--script <path>', 'the peer script', REFERENCE_SCRIPT)
    .option('--threads <n>', "PyTorch's own (intra-op) threads", integer, 1)
    .option('--blas-threads <n>', "OpenBLAS's threads under PyTorch (default: every core)", integer)
    .option('--no-pytorch', 'skip the PyTorch peer')
    .option('--out <file>', 'write the JSON report to FILE')
    .option('--markdown <file>', 'write the markdown report to FILE')
    .option('--json', 'print the JSON report instead of markdown')
    .action(async (o) => {
      const positions = list(o.positions)?.map((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--positions: expected whole numbers ≥ 1, got "${p}"`);
        return n;
      });
      const kinds = list(o.kinds);
      const backends = list(o.backends);
      const report: SuiteReport = await runSuite({
        size: o.size as BenchSize,
        ...(kinds ? { kinds } : {}),
        ...(backends ? { backends } : {}),
        ...(o.steps !== undefined ? { steps: o.steps } : {}),
        ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
        ...(o.workers !== undefined ? { workers: o.workers } : {}),
        ...(positions ? { positions } : {}),
        ...(o.streamTokens !== undefined ? { streamTokens: o.streamTokens } : {}),
        pytorch: o.pytorch === false ? false : { python: o.python, script: o.script, threads: o.threads, ...(o.blasThreads !== undefined ? { blasThreads: o.blasThreads } : {}) },
        onProgress: (line) => process.stderr.write(`bench: ${line}\n`),
      });
      const json = `${JSON.stringify(report, null, 2)}\n`;
      const md = suiteMarkdown(report);
      if (o.out) write(o.out, json);
      if (o.markdown) write(o.markdown, md);
      process.stdout.write(o.json ? json : md);
    });
}

try {
  await program().parseAsync(process.argv);
} catch (e) {
  if (!isUserError(e)) throw e;
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
}
