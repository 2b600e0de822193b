/**
 * ESM entry URL of an installed package, for worker threads that must import it themselves
 * (model kinds register by side-effect import).
 */
async function esmEntry(pkg: string): Promise<string> {
  const { createRequire } = await import('node:module');
  const { readFileSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  // CJS build: __filename; ESM build and source: import.meta.url.
  const from = typeof __filename === 'string' ? __filename : import.meta.url;
  const manifest = createRequire(from).resolve(`${pkg}/package.json`);
  const json = JSON.parse(readFileSync(manifest, 'utf8')) as { module?: string; exports?: { '.'?: { import?: { default?: string } } } };
  const entry = json.exports?.['.']?.import?.default ?? json.module ?? './dist/index.js';
  return pathToFileURL(join(dirname(manifest), entry)).href;
}

/**
 * The modules that register the built-in model kinds (`@staircase/staircase` and
 * `@staircase/ladder`, their built ESM entries as `file:` URLs), for the `kindModules` option of
 * `createParallelTrainer`: each data-parallel worker thread imports them before it builds its model.
 * The entries are the packages' `dist/` files: an installed package has them; in a source
 * checkout, build first (`pnpm build`).
 */
export async function kindModuleUrls(): Promise<string[]> {
  return [await esmEntry('@staircase/staircase'), await esmEntry('@staircase/ladder')];
}
