#!/usr/bin/env node
import { benchOptionsFrom, isUserError, parseQuantization, wholeNumber } from '@staircase/trainer';
import { Command } from 'commander';
import { profileMarkdown, profileOnnxEval } from './profile.js';

/** `pnpm bench:profile`: ONNX Runtime's per-operator profile of the bench models' evaluation. */
export function program(): Command {
  return new Command('bench:profile')
    .description("where ONNX Runtime's evaluation time goes, per operator type (onnxruntime-node, CPU)")
    .option('--size <name>', 'tiny | reference', 'reference')
    .option('--kinds <list>', 'comma list of models, as pnpm bench takes them (default: transformer-xl)', 'transformer-xl')
    .option('--runs <n>', 'profiled runs per model', wholeNumber, 35)
    .option('--warmup <n>', 'runs before them, left out', wholeNumber, 5)
    .option('--quantize <type>', 'int8: profile the int8 export (weight products in int8)')
    .option('--json', 'print JSON instead of markdown')
    .action(async (o) => {
      // Size and models checked and parsed as every bench command line does.
      const { size, kinds } = benchOptionsFrom({ size: o.size, kinds: o.kinds });
      const quantize = parseQuantization(o.quantize);
      const profiles = await profileOnnxEval({
        size,
        ...(kinds ? { kinds } : {}),
        runs: o.runs,
        warmup: o.warmup,
        ...(quantize ? { quantize } : {}),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(o.json ? `${JSON.stringify(profiles, null, 2)}\n` : profileMarkdown(profiles));
    });
}

try {
  await program().parseAsync(process.argv);
} catch (e) {
  if (!isUserError(e)) throw e;
  process.stderr.write(`bench:profile: ${e.message}\n`);
  process.exitCode = 1;
}
