import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildResult, build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';
import { periodicBatch, toyModel } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `entry` for a browser the way a page's bundler would: everything inlined, nothing external. */
function bundle(entry: { file: string } | { contents: string }): Promise<BuildResult<{ write: false; metafile: true }>> {
  return build({
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, resolveDir: root, loader: 'ts' } }),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const isBuiltin = (specifier: string) => builtins.has(specifier) || specifier.startsWith('node:');

/**
 * The Node built-ins a bundle would need at run time: imports left external, or any import of one
 * from this package's own code. A dependency's `require('fs')` that its package.json `browser`
 * field maps to `false` becomes an empty module (esbuild's `(disabled):fs`): that is the
 * dependency's Node-only branch, shipped inert, and allowed.
 */
function nodeBuiltinsIn(result: BuildResult<{ write: false; metafile: true }>): string[] {
  const found = new Set<string>();
  for (const [input, { imports }] of Object.entries(result.metafile.inputs)) {
    const ours = !input.includes('node_modules');
    for (const i of imports) {
      const specifier = i.original ?? i.path;
      if (i.external || (isBuiltin(specifier) && (ours || !i.path.startsWith('(disabled):')))) found.add(`${input} imports ${specifier}`);
    }
  }
  for (const output of Object.values(result.metafile.outputs)) for (const i of output.imports) found.add(`output imports ${i.path}`);
  // Belt and braces: a `node:` specifier in the emitted code itself (tsup's shims add such imports).
  for (const file of result.outputFiles) {
    const match = file.text.match(/(?:require\(|import\(|from\s*)["']node:[^"']+["']/);
    if (match) found.add(`output contains ${match[0]}`);
  }
  return [...found];
}

describe('browser entry', () => {
  it('bundles with esbuild for a browser, reaching no Node built-in', async () => {
    const result = await bundle({ file: join(root, 'src/browser.ts') });
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(nodeBuiltinsIn(result)).toEqual([]);
    // The bundle holds the backends and the model code, not an empty shell.
    const inputs = Object.keys(result.metafile.inputs);
    for (const dep of ['tfjs-backend-wasm', 'tfjs-backend-webgpu', 'tfjs-core', 'src/train.ts', 'src/wasm/gemm.ts']) {
      expect(inputs.some((i) => i.includes(dep)), dep).toBe(true);
    }
  }, 120_000);

  it('the check can fail: the Node entry does not bundle for a browser', async () => {
    const failure = await bundle({ file: join(root, 'src/index.ts') }).then(
      () => undefined,
      (e: { errors: { text: string }[] }) => e.errors.map((x) => x.text).join('\n'),
    );
    expect(failure).toMatch(/node:(worker_threads|fs|module)/);
  }, 120_000);

  it.skipIf(!existsSync(join(root, 'dist/browser/index.js')))('the built package resolves to it under the browser condition, and bundles', async () => {
    for (const specifier of ['@staircase/backend-tfjs', '@staircase/backend-tfjs/browser']) {
      const result = await bundle({ contents: `export * from '${specifier}';` });
      expect(Object.keys(result.metafile.inputs), specifier).toContain('dist/browser/index.js');
      expect(nodeBuiltinsIn(result), specifier).toEqual([]);
    }
  }, 120_000);

  it('exports what the Node entry does, less what needs Node', () => {
    const nodeOnly = ['saveCheckpoint', 'loadCheckpoint', 'MAX_CHECKPOINT_FILE_BYTES', 'createParallelTrainer'];
    expect(Object.keys(browser).sort()).toEqual(Object.keys(node).filter((k) => !nodeOnly.includes(k)).sort());
    // Shared classes are the same classes: `instanceof` works whichever entry threw.
    expect(browser.CheckpointError).toBe(node.CheckpointError);
    expect(browser.BackendUnavailableError).toBe(node.BackendUnavailableError);
  });

  it('selects, trains and round-trips a checkpoint through bytes', async () => {
    const selection = await browser.selectBackend({ backend: 'cpu' });
    expect(browser.formatBackendReport(selection)).toBe('backend: cpu (requested backend "cpu")');
    const trainer = browser.createTrainer(toyModel(), { tf: selection.tf, optimizer: { lr: 1e-2, warmupSteps: 1, totalSteps: 10 } });
    const { loss } = await trainer.step(periodicBatch(0));
    expect(Number.isFinite(loss)).toBe(true);
    const back = browser.decodeCheckpoint(browser.encodeCheckpoint(await trainer.checkpoint()), { model: trainer.model });
    expect(back.step).toBe(1);
    trainer.dispose();
  });

  it('says tfjs-node is Node-only and refuses unknown options, one line each', async () => {
    await expect(browser.selectBackend({ backend: 'tfjs-node' })).rejects.toThrow(
      'backend "tfjs-node" is not available: @tensorflow/tfjs-node runs only in Node; in a browser use webgpu, wasm or cpu',
    );
    // Node has no navigator.gpu unless the `webgpu` package put one there; the browser entry never does.
    if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
      await expect(browser.selectBackend({ backend: 'webgpu' })).rejects.toThrow('this browser has no navigator.gpu');
    }
    await expect(browser.selectBackend({ backend: 'cpu', wasmPaths: { 'tfjs-backend-wasm.was': '/x' } as never })).rejects.toThrow(
      /selectBackend options/,
    );
  });
});
