#!/usr/bin/env node
import { addBenchOptions, benchOptionsFrom, emitBenchReport, isUserError, wholeNumber } from '@staircase/trainer';
import { Command } from 'commander';
import { DEFAULT_PYTHON, REFERENCE_SCRIPT, runSuite, suiteMarkdown } from './index.js';

/** The `pnpm bench` command line: `staircase bench`'s options plus the PyTorch peer's. */
export function program(): Command {
  return addBenchOptions(new Command('bench').description('staircase bench plus the PyTorch peer, with the issue targets'), 'reference')
    .option('--python <path>', 'Python with torch for the peer', DEFAULT_PYTHON)
    .option('--script <path>', 'the peer script', REFERENCE_SCRIPT)
    .option('--threads <n>', "PyTorch's own (intra-op) threads", wholeNumber, 1)
    .option('--blas-threads <n>', "OpenBLAS's threads under PyTorch (default: every core)", wholeNumber)
    .option('--no-pytorch', 'skip the PyTorch peer')
    .option('--rounds <n>', 'measure every model this many times on both sides, alternating which goes first; targets use the median (memory: the worst)', wholeNumber, 1)
    .option(
      '--pairs <n>',
      'per model and round, also time WASM training and ONNX Runtime evaluation in this many pairs of short runs alternating with PyTorch (a cross-check, reported beside the targets)',
      wholeNumber,
      0,
    )
    .action(async (o) => {
      const report = await runSuite({
        ...benchOptionsFrom(o),
        rounds: o.rounds,
        pairs: o.pairs,
        pytorch:
          o.pytorch === false
            ? false
            : { python: o.python, script: o.script, threads: o.threads, ...(o.blasThreads !== undefined ? { blasThreads: o.blasThreads } : {}) },
      });
      emitBenchReport(o, report, suiteMarkdown(report));
    });
}

try {
  await program().parseAsync(process.argv);
} catch (e) {
  if (!isUserError(e)) throw e;
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
}
