import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { defaultClientConditions, defineConfig } from 'vite';
import { viteStaticCopy } from 'vite-plugin-static-copy';

const require = createRequire(import.meta.url);
// TF.js's WASM backend fetches its .wasm files at run time from where it is told (wasmPaths):
// bundlers do not see those fetches, so the files are copied next to the page (tfjs/). ONNX
// Runtime Web's bundled entries name theirs with `new URL(…, import.meta.url)`, which Vite sees
// and emits as assets itself. Forward slashes: the copy plugin takes globs.
const tfjsWasmDist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm')).replaceAll('\\', '/');

// Cross-origin isolation gives SharedArrayBuffer, hence WASM threads for both runtimes. A static
// host must send the same two headers (README).
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  base: './',
  // `source`: the workspace packages' TypeScript, so the page needs no package build first.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  plugins: [
    viteStaticCopy({
      targets: [
        { src: `${tfjsWasmDist}/*.wasm`, dest: 'tfjs', rename: { stripBase: true } },
      ],
    }),
  ],
});
