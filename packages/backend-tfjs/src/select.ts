import * as tfCore from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { parseConfig } from '@staircase/core';
import type { Tf } from './tf.js';

/** The TensorFlow.js backends this package can run on, fastest first. */
export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A backend that `auto` passed over, and why. */
export interface SkippedBackend {
  readonly name: BackendName;
  readonly why: string;
}

/** What {@link selectBackend} picked. */
export interface BackendSelection {
  /** The TensorFlow.js namespace to use, with the backend active. */
  readonly tf: Tf;
  readonly name: BackendName;
  /** Why this one: `requested …`, `STAIRCASE_BACKEND=…` or `auto: …`. */
  readonly reason: string;
  /** Backends tried before it, each with the reason it was not used. */
  readonly skipped: readonly SkippedBackend[];
}

/** Raised when an explicitly requested backend cannot run here; the message says why and how to fix it. */
export class BackendUnavailableError extends Error {
  override readonly name = 'BackendUnavailableError';
}

const selectOptionsSchema = z.strictObject({
  /** `auto` (default) tries {@link BACKEND_NAMES} in order. */
  backend: z.enum(['auto', ...BACKEND_NAMES]).optional(),
  /** Environment to read `STAIRCASE_BACKEND` from; default `process.env`. */
  env: z.record(z.string(), z.string().optional()).optional(),
  /** In `auto`, also accept a software WebGPU adapter (lavapipe, SwiftShader). Default false. */
  allowSoftwareWebGPU: z.boolean().optional(),
});
/** Options of {@link selectBackend}. */
export type SelectBackendOptions = z.input<typeof selectOptionsSchema>;

/** One way a backend can fail to load: the short reason and what the user can do. */
class Unavailable extends Error {
  constructor(
    readonly why: string,
    readonly fix: string,
  ) {
    super(why);
  }
}

type Loader = (opts: { auto: boolean; allowSoftwareWebGPU: boolean }) => Promise<Tf>;

const loaders: Record<BackendName, Loader> = {
  'tfjs-node-gpu': () => loadNode('@tensorflow/tfjs-node-gpu', 'a CUDA GPU and internet access at install time'),
  'tfjs-node': () => loadNode('@tensorflow/tfjs-node', 'internet access at install time'),
  webgpu: loadWebGPU,
  wasm: loadWasm,
  cpu: async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    await activate(tfCore, 'cpu', 'the CPU backend failed to initialise', 'report this as a bug');
    return tfCore;
  },
};

/**
 * Picks and activates a TensorFlow.js backend.
 *
 * With `backend` absent, `STAIRCASE_BACKEND` (if set) decides; otherwise `auto` tries, in order,
 * `tfjs-node-gpu` and `tfjs-node` (optional peer dependencies, loaded only if installed), WebGPU (a
 * browser's `navigator.gpu`, or Node with the `webgpu` package and a hardware adapter), WASM and
 * the pure-JS CPU backend, and reports why each earlier one was skipped. An explicitly requested
 * backend that cannot run fails with a {@link BackendUnavailableError} saying why and how to fix it.
 *
 * @example
 * ```ts
 * const selection = await selectBackend();
 * console.log(formatBackendReport(selection));
 * const ops = createTfjsOps(selection.tf);
 * ```
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const opts = parseConfig(selectOptionsSchema, options, 'selectBackend options');
  const env = opts.env ?? (typeof process !== 'undefined' ? process.env : {});
  const allowSoftwareWebGPU = opts.allowSoftwareWebGPU ?? false;
  let requested = opts.backend;
  let source = 'requested';
  if (requested === undefined) {
    const fromEnv = env['STAIRCASE_BACKEND']?.trim();
    if (fromEnv) {
      if (fromEnv !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(fromEnv)) {
        throw new BackendUnavailableError(
          `STAIRCASE_BACKEND="${fromEnv}" is not a backend; use one of auto, ${BACKEND_NAMES.join(', ')}`,
        );
      }
      requested = fromEnv as BackendName | 'auto';
      source = 'STAIRCASE_BACKEND';
    }
  }
  if (requested !== undefined && requested !== 'auto') {
    try {
      const tf = await loaders[requested]({ auto: false, allowSoftwareWebGPU: true });
      const reason = source === 'requested' ? `requested backend "${requested}"` : `STAIRCASE_BACKEND=${requested}`;
      return { tf, name: requested, reason, skipped: [] };
    } catch (e) {
      const via = source === 'requested' ? '' : ' (from STAIRCASE_BACKEND)';
      if (e instanceof Unavailable) {
        throw new BackendUnavailableError(`backend "${requested}"${via} is not available: ${e.why}; ${e.fix}`);
      }
      throw new BackendUnavailableError(`backend "${requested}"${via} failed to start: ${oneLine(e)}`);
    }
  }
  const skipped: SkippedBackend[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const tf = await loaders[name]({ auto: true, allowSoftwareWebGPU });
      const prefix = source === 'STAIRCASE_BACKEND' ? 'STAIRCASE_BACKEND=auto' : 'auto';
      const reason = `${prefix}: ${name} is the first available of ${BACKEND_NAMES.join(' → ')}`;
      return { tf, name, reason, skipped };
    } catch (e) {
      skipped.push({ name, why: e instanceof Unavailable ? e.why : oneLine(e) });
    }
  }
  throw new BackendUnavailableError(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.why}`).join('; ')}`);
}

/** A few lines saying which backend was picked, why, and why the others were skipped. */
export function formatBackendReport(selection: BackendSelection): string {
  const lines = [`backend: ${selection.name} (${selection.reason})`];
  for (const s of selection.skipped) lines.push(`  skipped ${s.name}: ${s.why}`);
  return lines.join('\n');
}

async function loadNode(pkg: string, needs: string): Promise<Tf> {
  const binaryMissing = new Unavailable(
    `${pkg} is installed but its native binary is missing (its install script did not run or could not download libtensorflow)`,
    `run \`npm rebuild ${pkg}\` (needs ${needs}) or uninstall it`,
  );
  if (typeof process !== 'undefined' && process.versions?.node) {
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

async function loadWebGPU(opts: { auto: boolean; allowSoftwareWebGPU: boolean }): Promise<Tf> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  let gpu = nav?.gpu;
  if (!gpu) {
    if (typeof process === 'undefined' || !process.versions?.node) {
      throw new Unavailable('this browser has no navigator.gpu', 'use a browser with WebGPU enabled');
    }
    gpu = await installNodeWebGPU();
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Unavailable(
      'no WebGPU adapter found',
      'install a Vulkan driver (e.g. `apt-get install mesa-vulkan-drivers` from bookworm-backports for the lavapipe CPU driver) or use a machine with a GPU',
    );
  }
  const info = adapter.info ?? {};
  const described = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  if (opts.auto && !opts.allowSoftwareWebGPU && (adapter.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software/i.test(described))) {
    throw new Unavailable(
      `the WebGPU adapter is a software renderer (${info.description || info.device || 'fallback adapter'}), slower than WASM`,
      'request `webgpu` explicitly to use it anyway',
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  await activate(tfCore, 'webgpu', 'the WebGPU backend did not start', 'check the GPU driver');
  return tfCore;
}

interface GpuLike {
  requestAdapter(): Promise<{
    readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
    readonly isFallbackAdapter?: boolean;
  } | null>;
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

async function loadWasm(): Promise<Tf> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (typeof process !== 'undefined' && process.versions?.node) {
    // Point the backend at its own .wasm files so it works from any cwd and from an installed tarball.
    const { createRequire } = await import('node:module');
    const { dirname, join } = await import('node:path');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
    // Node 20's V8 has relaxed SIMD behind a flag (on by default from Node 22); this package's
    // matmul kernel uses its fused multiply-add, ~1.7× faster here (see wasm-gemm.ts). The flag
    // only makes more WebAssembly valid; nothing else changes.
    const { setFlagsFromString } = await import('node:v8');
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  await activate(tfCore, 'wasm', 'the WASM backend did not start', 'check that the .wasm files of @tensorflow/tfjs-backend-wasm are present');
  return tfCore;
}

async function activate(tf: Tf, backend: string, why: string, fix: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
    await tf.ready();
  } catch (e) {
    throw new Unavailable(`${why} (${oneLine(e)})`, fix);
  }
  if (!ok || tf.getBackend() !== backend) throw new Unavailable(why, fix);
}

/** Imports a package that may be absent, hiding the specifier from bundlers and type checking. */
function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to (load|resolve)/i.test(String(e));
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
