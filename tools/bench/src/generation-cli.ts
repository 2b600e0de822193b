#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { wholeNumber } from '@staircase/trainer';
import { Command } from 'commander';
import { generationMarkdown, measureGeneration } from './generation.js';

/** `pnpm bench:generation`: generation speed over a long `staircase sample`, window by window. */
export function program(): Command {
  return new Command('bench:generation')
    .description('time `staircase sample --tokens N` (TF.js and ONNX Runtime CPU) window by window: a flat per-token cost gives last/first ≈ 1')
    .option('--tokens <n>', 'tokens to generate per runtime', wholeNumber, 100_000)
    .option('--preset <name>', 'model preset', 'small')
    .option('--kind <kind>', 'model kind', 'staircase')
    .option('--data <spec>', 'byte-level data to train one step on', 'brown')
    .option('--runtimes <list>', 'tfjs,onnx (comma-separated)', 'tfjs,onnx')
    .option('--windows <n>', 'windows of equal output', wholeNumber, 10)
    .option('--json <file>', 'also write the report as JSON')
    .action(async (o) => {
      const runtimes = String(o.runtimes).split(',').map((s) => s.trim());
      for (const r of runtimes) if (r !== 'tfjs' && r !== 'onnx') throw new Error(`--runtimes: unknown runtime "${r}" (tfjs, onnx)`);
      const report = await measureGeneration({
        tokens: o.tokens,
        preset: o.preset,
        kind: o.kind,
        data: o.data,
        windows: o.windows,
        runtimes: runtimes as ('tfjs' | 'onnx')[],
        log: (l) => process.stderr.write(`${l}\n`),
      });
      if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${generationMarkdown(report)}\n`);
    });
}

try {
  await program().parseAsync(process.argv);
} catch (e) {
  // Benchmarks fail for reasons a user can act on (a flag, a missing build): one line either way.
  process.stderr.write(`bench:generation: ${(e as Error).message.split('\n')[0]}\n`);
  process.exitCode = 1;
}
