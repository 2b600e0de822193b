import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'tsup';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Builds the worker entry and the test's kind module from source into one folder (one bundle with
 * shared chunks, so both use the same copy of core's kind registry). Tests run from source, where
 * no built `dist/parallel-worker.js` need exist. The folder is inside the package so the bundles
 * resolve TensorFlow.js from its node_modules.
 */
export async function bundleWorker(): Promise<{ workerUrl: URL; kindModules: string[] }> {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const outDir = mkdtempSync(join(root, '.tmp', 'parallel-test-'));
  await build({
    entry: { 'parallel-worker': join(root, 'src/parallel/worker.ts'), kinds: join(root, 'test/parallel/worker-kinds.ts') },
    format: ['esm'],
    outDir,
    target: 'node20',
    platform: 'node',
    splitting: true,
    silent: true,
    config: false,
    noExternal: [/^@staircase\//, '@tensorflow/tfjs-core/dist/register_all_gradients'],
    esbuildOptions(options) {
      options.conditions = ['source'];
    },
  });
  return { workerUrl: pathToFileURL(join(outDir, 'parallel-worker.js')), kindModules: [pathToFileURL(join(outDir, 'kinds.js')).href] };
}
