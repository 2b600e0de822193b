/**
 * Browser bundling: an app importing `@staircase/backend-onnx` (its built `dist/`, as published)
 * bundles with esbuild for the browser, and no Node built-in is reachable from it. esbuild itself
 * refuses a bare built-in on platform `browser` ("Could not resolve "path""); the plugin also
 * catches `node:`-prefixed ones, which esbuild would otherwise leave as external imports.
 */
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, build } from 'esbuild';
import { expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

it('@staircase/backend-onnx bundles for the browser with no Node built-ins', async () => {
  const reached: string[] = [];
  const watch: Plugin = {
    name: 'node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (BUILTINS.has(args.path)) reached.push(`${args.path} (from ${args.importer})`);
        return undefined;
      });
    },
  };
  const result = await build({
    stdin: {
      contents: "import { OnnxModel, exportModel, score } from '@staircase/backend-onnx'; console.log(OnnxModel, exportModel, score);",
      resolveDir: here,
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    outdir: join(here, 'out'),
    metafile: true,
    logLevel: 'silent',
    plugins: [watch],
  });
  expect(result.errors).toEqual([]);
  expect(reached).toEqual([]);
  const inputs = Object.keys(result.metafile.inputs);
  // The browser bundle resolved the package's ESM build and onnxruntime-web's browser entries.
  expect(inputs.some((f) => /backend-onnx\/dist\/.*\.js$/.test(f))).toBe(true);
  expect(inputs.some((f) => /onnxruntime-web\/dist\/ort\.webgpu\.bundle\.min\.mjs$/.test(f))).toBe(true);
  expect(inputs.some((f) => /onnxruntime-web\/dist\/ort\.bundle\.min\.mjs$/.test(f))).toBe(true);
});
