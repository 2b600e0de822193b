/**
 * Backend selection in Node: native tfjs-node when installed with its binary, WebGPU through the
 * `webgpu` package (Dawn), WASM with its `.wasm` files found in the installed package. Browsers get
 * `select-browser.ts` (the package's browser entry), which shares everything else.
 */
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';
import {
  type BackendSelection,
  type GpuLike,
  type Platform,
  type SelectBackendOptions,
  Unavailable,
  type WasmPaths,
  activate,
  oneLine,
  selectBackendOn,
} from './select-core.js';
import type { Tf } from './tf.js';

export {
  BACKEND_NAMES,
  BackendUnavailableError,
  formatBackendReport,
  type BackendName,
  type BackendSelection,
  type SelectBackendOptions,
  type SkippedBackend,
} from './select-core.js';

/**
 * Picks and activates a TensorFlow.js backend.
 *
 * With `backend` absent, `STAIRCASE_BACKEND` (if set) decides; otherwise `auto` tries, in order,
 * `tfjs-node-gpu` and `tfjs-node` (optional peer dependencies, loaded only if installed), WebGPU (a
 * browser's `navigator.gpu`, or Node with the `webgpu` package and a hardware adapter), WASM and
 * the pure-JS CPU backend, and records why each earlier one was skipped. It prints nothing: pass
 * the result to `formatBackendReport` to show the choice. An explicitly requested backend that
 * cannot run fails with a `BackendUnavailableError` saying why and how to fix it.
 *
 * @example
 * ```ts
 * const selection = await selectBackend();
 * console.log(formatBackendReport(selection));
 * const ops = createTfjsOps(selection.tf);
 * ```
 */
export function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  return selectBackendOn(nodePlatform, options);
}

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

const nodePlatform: Platform = {
  loadNative: loadNode,
  async gpu() {
    const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (gpu) return gpu;
    if (!isNode()) throw new Unavailable('this browser has no navigator.gpu', 'use a browser with WebGPU enabled');
    return installNodeWebGPU();
  },
  prepareWasm,
};

async function loadNode(pkg: string, needs: string): Promise<Tf> {
  const binaryMissing = new Unavailable(
    `${pkg} is installed but its native binary is missing (its install script did not run or could not download libtensorflow)`,
    `run \`npm rebuild ${pkg}\` (needs ${needs}) or uninstall it`,
  );
  if (isNode()) {
    // Look before importing: a package without its binary registers half its kernels, then throws.
    const { createRequire } = await import('node:module');
    const { existsSync, readdirSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    let root: string | undefined;
    try {
      root = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
    } catch {
      throw new Unavailable(`${pkg} is not installed`, `install it with \`npm i ${pkg}\` (needs ${needs})`);
    }
    const lib = join(root, 'lib');
    const found = existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
    if (!found) throw binaryMissing;
  }
  let mod: Tf;
  try {
    mod = (await importOptional(pkg)) as Tf;
  } catch (e) {
    if (isModuleNotFound(e)) {
      throw new Unavailable(`${pkg} is not installed`, `install it with \`npm i ${pkg}\` (needs ${needs})`);
    }
    if (/tfjs_binding|native addon/i.test(String(e))) throw binaryMissing;
    throw new Unavailable(`${pkg} failed to load (${oneLine(e)})`, `reinstall ${pkg}; it needs ${needs}`);
  }
  await activate(mod, 'tensorflow', `${pkg} is installed but its native backend did not start`, `reinstall ${pkg}`);
  return mod;
}

let nodeGpu: GpuLike | undefined;

/** Makes Dawn's WebGPU (the `webgpu` package) the global `navigator.gpu` in Node. */
async function installNodeWebGPU(): Promise<GpuLike> {
  if (nodeGpu) return nodeGpu;
  let mod: { create: (flags: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    mod = (await importOptional('webgpu')) as typeof mod;
  } catch (e) {
    if (isModuleNotFound(e)) {
      throw new Unavailable('the `webgpu` package is not installed (Node has no built-in WebGPU)', 'install it with `npm i webgpu` and a Vulkan driver');
    }
    throw new Unavailable(`the \`webgpu\` package failed to load (${oneLine(e)})`, 'reinstall `webgpu` (it ships a prebuilt Dawn for linux-x64, darwin and win32)');
  }
  if (!process.env['XDG_RUNTIME_DIR']) {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    process.env['XDG_RUNTIME_DIR'] = mkdtempSync(join(tmpdir(), 'staircase-xdg-'));
  }
  const g = globalThis as Record<string, unknown>;
  for (const [key, value] of Object.entries(mod.globals)) if (!(key in g)) g[key] = value;
  const gpu = mod.create([]);
  const nav = g['navigator'] as Record<string, unknown> | undefined;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  nodeGpu = gpu;
  return gpu;
}

async function prepareWasm(wasm: typeof WasmBackend, wasmPaths: WasmPaths): Promise<void> {
  if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths);
  if (!isNode()) return;
  if (wasmPaths === undefined) {
    // Point the backend at its own .wasm files so it works from any cwd and from an installed tarball.
    const { createRequire } = await import('node:module');
    const { dirname, join } = await import('node:path');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
  }
  // Node 20's V8 has relaxed SIMD behind a flag (on by default from Node 22); this package's
  // matmul kernel uses its fused multiply-add, ~1.7× faster here (see wasm/gemm.ts). The flag
  // only makes more WebAssembly valid; nothing else changes.
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--experimental-wasm-relaxed-simd');
}

/** Imports a package that may be absent, hiding the specifier from bundlers and type checking. */
function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to (load|resolve)/i.test(String(e));
}
