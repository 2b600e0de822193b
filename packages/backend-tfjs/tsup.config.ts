import { defineConfig } from 'tsup';

// tfjs-core's gradient registrations are extensionless ESM files Node cannot import: inline them.
const noExternal = ['@tensorflow/tfjs-core/dist/register_all_gradients'];

export default defineConfig([
  {
    // parallel-worker.js is the entry of createParallelTrainer's worker threads (found next to index.js).
    entry: { index: 'src/index.ts', testing: 'src/testing.ts', 'parallel-worker': 'src/parallel/worker.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // The browser build below writes into dist/browser at the same time: leave it alone.
    clean: ['!browser/**'],
    target: 'node20',
    // import.meta.url in the CJS build (the WASM backend's file paths are resolved from it).
    shims: true,
    noExternal,
  },
  {
    // The browser entry: its own build, so that no chunk is shared with the Node entry's and tsup's
    // Node shims (which import `path` and `url`) stay out of it.
    entry: { index: 'src/browser.ts' },
    outDir: 'dist/browser',
    format: ['esm', 'cjs'],
    platform: 'browser',
    target: 'es2022',
    dts: true,
    sourcemap: true,
    splitting: false,
    clean: true,
    shims: false,
    noExternal,
  },
]);
