import { defineConfig } from 'tsup';

export default defineConfig({
  // parallel-worker.js is the entry of createParallelTrainer's worker threads (found next to index.js).
  entry: { index: 'src/index.ts', testing: 'src/testing.ts', 'parallel-worker': 'src/parallel/worker.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url in the CJS build (the WASM backend's file paths are resolved from it).
  shims: true,
  // tfjs-core's gradient registrations are extensionless ESM files Node cannot import: inline them.
  noExternal: ['@tensorflow/tfjs-core/dist/register_all_gradients'],
});
