/**
 * Training speed at the reference size (d 256, 4 heads, FFN 1024, 2 layers, batch 8 × 128,
 * vocab 256) on one backend: ms/step, tokens/s and (with --profile) the kernels' share of a step.
 *
 * Build and run (from packages/backend-tfjs):
 *   pnpm exec tsup --config bench/tsup.config.ts && node .tmp/bench/train-speed.js [--kind transformer-xl|staircase]
 *     [--backend wasm] [--steps 5] [--workers 2] [--profile] [--batch 8] [--length 128] [--xnn 0]
 */
import './kinds.js';
import { createModel } from '@staircase/core';
import { createParallelTrainer } from '../src/parallel/trainer.js';
import { selectBackend } from '../src/select.js';
import type { Batch } from '../src/train.js';
import { benchArgs, kindConfig, randomBatch, reportProfile } from './common.js';

const args = benchArgs(process.argv.slice(2));
const { tf } = await selectBackend({ backend: args.backend });
const model = createModel(kindConfig(args.kind, args.d));
const trainer = await createParallelTrainer(model, {
  tf,
  seed: 1,
  optimizer: { lr: 1e-3 },
  workers: args.workers,
  // The bundle's own worker and kinds module (see bench/tsup.config.ts).
  workerUrl: new URL('./parallel-worker.js', import.meta.url),
  kindModules: [new URL('./kinds.js', import.meta.url).href],
  ...(args.xnn === 0 ? { wasmKernels: false } : {}),
});
const batches: Batch[] = Array.from({ length: args.steps + 2 }, (_, i) => randomBatch(i, args.batch, args.length));

// Two warm-up steps: the first compiles/allocates, the second still grows the memory pool.
for (const b of batches.slice(0, 2)) await trainer.step(b);
const times: number[] = [];
let loss = 0;
// CPU time of the whole process (every thread): with free cores, wall ≈ CPU / workers.
const cpu0 = process.cpuUsage();
for (const b of batches.slice(2)) {
  const t = performance.now();
  loss = (await trainer.step(b)).loss;
  times.push(performance.now() - t);
}
const cpu = process.cpuUsage(cpu0);
const cpuMsPerStep = Math.round((cpu.user + cpu.system) / 1000 / times.length);
const ms = median(times);
console.log(
  JSON.stringify({ kind: args.kind, backend: args.backend, workers: args.workers, msPerStep: Math.round(ms), minMs: Math.round(Math.min(...times)), cpuMsPerStep, tokensPerSec: Math.round((args.batch * args.length * 1000) / ms), times: times.map(Math.round), loss }),
);
if (args.profile) {
  const info = await tf.profile(() => trainer.step(batches[0]!) as unknown as never);
  reportProfile(info);
}
trainer.dispose();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
