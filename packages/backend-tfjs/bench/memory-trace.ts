/**
 * Where the resident memory of a training run goes, step by step: the process's RSS split into the
 * WebAssembly memory (the WASM backend's heap), V8's heap (and its code space), the native malloc
 * heap, other anonymous mappings and file-backed pages, from `/proc/self/smaps` (Linux; elsewhere
 * only `process.memoryUsage()`). It tells a leak (one part growing step after step) from pages
 * touched for the first time or code being optimised.
 *
 * Build and run (from packages/backend-tfjs):
 *   pnpm exec tsup --config bench/tsup.config.ts && node [--expose-gc] .tmp/bench/memory-trace.js [--kind transformer-xl]
 *     [--steps 1000] [--every 50] [--backend wasm]
 *
 * With `--expose-gc`, a full garbage collection runs before each sample, so `used` is the live JS
 * heap: flat when nothing leaks, whatever the heap's physical size does.
 */
import './kinds.js';
import { existsSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { createModel } from '@staircase/core';
import { selectBackend } from '../src/select.js';
import { heap } from '../src/wasm/heap.js';
import { createTrainer } from '../src/train.js';
import { benchArgs, kindConfig, randomBatch } from './common.js';

const MiB = 2 ** 20;

interface Parts {
  rss: number;
  wasm: number;
  brk: number;
  anon: number;
  file: number;
}

/**
 * RSS by kind of mapping, MiB. The WebAssembly memory is the anonymous mapping exactly as long as
 * the backend's heap (V8 maps it on its own; without guard regions here), or of ≥ 4 GiB where V8
 * reserves guard regions.
 */
function mappings(wasmBytes: number): Parts | undefined {
  if (!existsSync('/proc/self/smaps')) return undefined;
  const parts: Parts = { rss: 0, wasm: 0, brk: 0, anon: 0, file: 0 };
  let kind: keyof Parts = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const size = Number.parseInt(head[2]!, 16) - Number.parseInt(head[1]!, 16);
      const name = head[4]!.trim();
      kind = name === '[heap]' ? 'brk' : name.startsWith('/') ? 'file' : size === wasmBytes || size >= 4 * 2 ** 30 ? 'wasm' : 'anon';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      const mib = Number(rss[1]) / 1024;
      parts[kind] += mib;
      parts.rss += mib;
    }
  }
  return parts;
}

const args = benchArgs(process.argv.slice(2));
const steps = process.argv.includes('--steps') ? args.steps : 1000;
const every = (args as unknown as { every?: number }).every ?? 50;
const { tf } = await selectBackend({ backend: args.backend });
const model = createModel(kindConfig(args.kind, args.d));
const trainer = createTrainer(model, { tf, seed: 1, optimizer: { lr: 1e-3, warmupSteps: 0 } });

const collect = (globalThis as { gc?: () => void }).gc;
const fmt = (x: number) => x.toFixed(1).padStart(7);
console.log(`${args.kind} on ${args.backend}, ${steps} steps, batch ${args.batch} × ${args.length}; MiB`);
console.log(`   step     rss    wasm     brk    anon    file  v8 heap     new     old    code    used  external  tensors${collect ? ' (after a full GC)' : ''}`);
console.log('(wasm: the resident part of the WebAssembly memory; v8 heap: physical size, of which new, old and code space)');
const sample = (step: number) => {
  collect?.();
  const m = mappings(heap(tf.backend())?.wasm.HEAPU8.byteLength ?? -1);
  const mu = process.memoryUsage();
  const spaces = getHeapSpaceStatistics();
  const space = (name: string) => (spaces.find((s) => s.space_name === name)?.physical_space_size ?? 0) / MiB;
  const row = m
    ? [m.rss, m.wasm, m.brk, m.anon, m.file]
    : [mu.rss / MiB, Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  console.log(
    `${String(step).padStart(7)} ${row.map(fmt).join(' ')} ${fmt(getHeapStatistics().total_physical_size / MiB)} ${fmt(space('new_space'))} ${fmt(space('old_space'))} ${fmt(space('code_space'))} ${fmt(getHeapStatistics().used_heap_size / MiB)} ${fmt(mu.external / MiB).padStart(9)} ${String(tf.memory().numTensors).padStart(8)}`,
  );
};

sample(0);
for (let i = 1; i <= steps; i++) {
  await trainer.step(randomBatch(i, args.batch, args.length));
  if (i <= 3 || i % every === 0) sample(i);
}
trainer.dispose();
sample(steps);
