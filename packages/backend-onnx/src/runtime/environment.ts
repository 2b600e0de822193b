/** Facts about the host, kept in one place so browser and Node paths do not diverge silently. */

/** True in Node (and Node-compatible runtimes), false in browsers and web workers. */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** Logical cores: what "all cores" means for the threads default. */
export async function hardwareThreads(): Promise<number> {
  if (isNode()) {
    const os = await nodeOnlyImport<typeof import('node:os')>('node:os');
    return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, n ?? 1);
}

/**
 * Imports a module that only exists in Node (builtins, onnxruntime-node, webgpu). The specifier is a
 * variable and the bundler hints are set so that browser bundles do not try to include it.
 */
export function nodeOnlyImport<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}
