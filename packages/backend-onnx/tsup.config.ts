import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // No shims: tsup's ESM shim for __filename imports `path` and `url` at the top of the build,
  // which browsers and bundlers (esbuild: "Could not resolve") refuse. The one user
  // (placement.ts moduleDir) checks for __filename and falls back to import.meta.url itself.
  shims: false,
  external: ['onnxruntime-node', 'onnxruntime-web', 'webgpu'],
});
