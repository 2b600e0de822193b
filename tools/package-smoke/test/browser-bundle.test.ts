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

/** Bundles `contents` for the browser; returns the bundle's inputs and every Node built-in it reached. */
async function bundle(contents: string): Promise<{ inputs: string[]; reached: string[] }> {
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
    stdin: { contents, resolveDir: here, loader: 'js' },
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
  return { inputs: Object.keys(result.metafile.inputs), reached };
}

it('@staircase/backend-onnx bundles for the browser with no Node built-ins', async () => {
  const { inputs, reached } = await bundle("import { OnnxModel, exportModel, score } from '@staircase/backend-onnx'; console.log(OnnxModel, exportModel, score);");
  expect(reached).toEqual([]);
  // The browser bundle resolved the package's ESM build and onnxruntime-web's browser entries.
  expect(inputs.some((f) => /backend-onnx\/dist\/.*\.js$/.test(f))).toBe(true);
  expect(inputs.some((f) => /onnxruntime-web\/dist\/ort\.webgpu\.bundle\.min\.mjs$/.test(f))).toBe(true);
  expect(inputs.some((f) => /onnxruntime-web\/dist\/ort\.bundle\.min\.mjs$/.test(f))).toBe(true);
});

it('@staircase/data bundles for the browser (its browser entry: tasks, batching, the eval tally) with no Node built-ins', async () => {
  const { inputs, reached } = await bundle(
    "import { EvalTally, createBatcher, generateTaskData, randomWalkTask } from '@staircase/data'; console.log(EvalTally, createBatcher, generateTaskData, randomWalkTask);",
  );
  expect(reached).toEqual([]);
  expect(inputs.some((f) => /data\/dist\/browser\/index\.js$/.test(f))).toBe(true);
});
