/**
 * Backend selection shared by the Node entry (`select.ts`) and the browser entry
 * (`select-browser.ts`): the options, the `auto` order, the reports and errors. What differs by
 * platform (native tfjs-node, WebGPU outside a browser, where the `.wasm` files are) comes in as a
 * {@link Platform}, so this module reaches no Node built-in and bundles for browsers.
 */
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

/** What `selectBackend` picked. */
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

/** The `.wasm` files of `@tensorflow/tfjs-backend-wasm`, for a file-by-file `wasmPaths`. */
const wasmFiles = z.strictObject({
  'tfjs-backend-wasm.wasm': z.string().optional(),
  'tfjs-backend-wasm-simd.wasm': z.string().optional(),
  'tfjs-backend-wasm-threaded-simd.wasm': z.string().optional(),
});

const selectOptionsSchema = z.strictObject({
  /** `auto` (default) tries {@link BACKEND_NAMES} in order. */
  backend: z.enum(['auto', ...BACKEND_NAMES]).optional(),
  /** Environment to read `STAIRCASE_BACKEND` from; default `process.env` where there is one. */
  env: z.record(z.string(), z.string().optional()).optional(),
  /** In `auto`, also accept a software WebGPU adapter (lavapipe, SwiftShader). Default false. */
  allowSoftwareWebGPU: z.boolean().optional(),
  /**
   * Where the WASM backend's `.wasm` files are: a URL or path prefix ending in `/`, or one URL per
   * file. Default: in Node, the installed `@tensorflow/tfjs-backend-wasm`; in a browser, next to
   * the script that loads the backend, which a bundled page rarely has (copy the files from
   * `@tensorflow/tfjs-backend-wasm/dist/` to the site and give their URL).
   */
  wasmPaths: z.union([z.string().min(1), wasmFiles]).optional(),
});
/** Options of `selectBackend`. */
export type SelectBackendOptions = z.input<typeof selectOptionsSchema>;
/** Validated {@link SelectBackendOptions}['wasmPaths']. @internal */
export type WasmPaths = z.output<typeof selectOptionsSchema>['wasmPaths'];

/** One way a backend can fail to load: the short reason and what the user can do. @internal */
export class Unavailable extends Error {
  constructor(
    readonly why: string,
    readonly fix: string,
  ) {
    super(why);
  }
}

/** The part of `navigator.gpu` selection uses. @internal */
export interface GpuLike {
  requestAdapter(): Promise<{
    readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
    readonly isFallbackAdapter?: boolean;
  } | null>;
}

/**
 * What the platform provides to selection; each method throws {@link Unavailable} with a reason and
 * a fix when its backend cannot run. @internal
 */
export interface Platform {
  /** Loads and activates `@tensorflow/tfjs-node` or `-gpu`; `needs` says what their install needs. */
  loadNative(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', needs: string): Promise<Tf>;
  /** The WebGPU entry point: the browser's `navigator.gpu`, or one installed for Node. */
  gpu(): Promise<GpuLike>;
  /** Prepares the freshly imported WASM backend before it starts (file locations, engine flags). */
  prepareWasm(wasm: typeof import('@tensorflow/tfjs-backend-wasm'), wasmPaths: WasmPaths): Promise<void>;
}

interface LoadOptions {
  readonly auto: boolean;
  readonly allowSoftwareWebGPU: boolean;
  readonly wasmPaths: WasmPaths;
}

/**
 * `selectBackend` on a given platform: with `backend` absent, `STAIRCASE_BACKEND` (if set) decides;
 * otherwise `auto` tries {@link BACKEND_NAMES} in order and reports why each earlier one was
 * skipped. An explicitly requested backend that cannot run fails with a
 * {@link BackendUnavailableError} saying why and how to fix it. @internal
 */
export async function selectBackendOn(platform: Platform, options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const opts = parseConfig(selectOptionsSchema, options, 'selectBackend options');
  const env = opts.env ?? (typeof process !== 'undefined' ? process.env : {});
  const allowSoftwareWebGPU = opts.allowSoftwareWebGPU ?? false;
  const loaders: Record<BackendName, (o: LoadOptions) => Promise<Tf>> = {
    'tfjs-node-gpu': () => platform.loadNative('@tensorflow/tfjs-node-gpu', 'a CUDA GPU and internet access at install time'),
    'tfjs-node': () => platform.loadNative('@tensorflow/tfjs-node', 'internet access at install time'),
    webgpu: (o) => loadWebGPU(platform, o),
    wasm: async (o) => {
      await platform.prepareWasm(await import('@tensorflow/tfjs-backend-wasm'), o.wasmPaths);
      await activate(tfCore, 'wasm', 'the WASM backend did not start', 'check that the .wasm files of @tensorflow/tfjs-backend-wasm are present (see the `wasmPaths` option)');
      return tfCore;
    },
    cpu: async () => {
      await import('@tensorflow/tfjs-backend-cpu');
      await activate(tfCore, 'cpu', 'the CPU backend failed to initialise', 'report this as a bug');
      return tfCore;
    },
  };
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
      const tf = await loaders[requested]({ auto: false, allowSoftwareWebGPU: true, wasmPaths: opts.wasmPaths });
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
      const tf = await loaders[name]({ auto: true, allowSoftwareWebGPU, wasmPaths: opts.wasmPaths });
      const prefix = source === 'STAIRCASE_BACKEND' ? 'STAIRCASE_BACKEND=auto' : 'auto';
      const reason = `${prefix}: ${name} is the first available of ${BACKEND_NAMES.join(' → ')}`;
      return { tf, name, reason, skipped };
    } catch (e) {
      skipped.push({ name, why: e instanceof Unavailable ? e.why : oneLine(e) });
    }
  }
  throw new BackendUnavailableError(`no TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.why}`).join('; ')}`);
}

/**
 * A few lines saying which backend was picked, why, and why the others were skipped. Selection
 * itself prints nothing: print this where the user should see it.
 */
export function formatBackendReport(selection: BackendSelection): string {
  const lines = [`backend: ${selection.name} (${selection.reason})`];
  for (const s of selection.skipped) lines.push(`  skipped ${s.name}: ${s.why}`);
  return lines.join('\n');
}

async function loadWebGPU(platform: Platform, opts: LoadOptions): Promise<Tf> {
  const gpu = await platform.gpu();
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
  try {
    // An optional peer. A literal specifier, so that bundlers include it where it is installed.
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    const msg = String((e as { message?: string } | null)?.message ?? e);
    if (/Cannot find (module|package)|Failed to resolve|ERR_MODULE_NOT_FOUND/.test(`${(e as { code?: string }).code ?? ''} ${msg}`) && msg.includes('tfjs-backend-webgpu')) {
      throw new Unavailable('@tensorflow/tfjs-backend-webgpu is not installed', 'install it with `npm i @tensorflow/tfjs-backend-webgpu@4.22.0`');
    }
    throw e;
  }
  await activate(tfCore, 'webgpu', 'the WebGPU backend did not start', 'check the GPU driver');
  return tfCore;
}

/** Makes `backend` the active one of `tf`, or throws {@link Unavailable}. @internal */
export async function activate(tf: Tf, backend: string, why: string, fix: string): Promise<void> {
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
    await tf.ready();
  } catch (e) {
    throw new Unavailable(`${why} (${oneLine(e)})`, fix);
  }
  if (!ok || tf.getBackend() !== backend) throw new Unavailable(why, fix);
}

/** The first line of an error's message. @internal */
export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
