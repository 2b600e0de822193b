import { defineConfig } from 'tsup';

// Bundles the bench script, the parallel trainer's worker and the kinds module with the workspace
// packages' sources (the `source` export condition), so they run without building every package
// first. Splitting keeps one copy of core's kind registry shared by the worker and the kinds module.
export default defineConfig({
  entry: {
    'train-speed': 'bench/train-speed.ts',
    'wasm-simd-peak': 'bench/wasm-simd-peak.ts',
    'memory-trace': 'bench/memory-trace.ts',
    'parallel-worker': 'src/parallel/worker.ts',
    kinds: 'bench/kinds.ts',
  },
  format: ['esm'],
  outDir: '.tmp/bench',
  target: 'node20',
  platform: 'node',
  clean: true,
  splitting: true,
  shims: true,
  noExternal: [/^@staircase\//, '@tensorflow/tfjs-core/dist/register_all_gradients'],
  esbuildOptions(options) {
    options.conditions = ['source'];
  },
});
