/**
 * Backend selection in a browser: `navigator.gpu` for WebGPU, the `.wasm` files where `wasmPaths`
 * says (or next to the script), and no tfjs-node. Reaches no Node built-in, so bundlers can ship it.
 */
import type * as WasmBackend from '@tensorflow/tfjs-backend-wasm';
import { env } from '@tensorflow/tfjs-core';
import {
  type BackendSelection,
  type GpuLike,
  type Platform,
  type SelectBackendOptions,
  Unavailable,
  type WasmPaths,
  selectBackendOn,
} from './select-core.js';

/**
 * Picks and activates a TensorFlow.js backend in a browser (or a Web Worker).
 *
 * With `backend` absent, `auto` tries WebGPU (`navigator.gpu` with a hardware adapter), then WASM,
 * then the pure-JS CPU backend (`tfjs-node` and `tfjs-node-gpu` are skipped: they run only in Node),
 * and records why each earlier one was skipped. It prints nothing: pass the result to
 * `formatBackendReport` to show the choice. A bundled page should pass `wasmPaths` (the URL where
 * it serves the `.wasm` files of `@tensorflow/tfjs-backend-wasm`). An explicitly requested backend
 * that cannot run fails with a `BackendUnavailableError` saying why and how to fix it.
 *
 * @example
 * ```ts
 * import { createTfjsOps, formatBackendReport, selectBackend } from '@staircase/backend-tfjs/browser';
 * const selection = await selectBackend({ wasmPaths: '/wasm/' });
 * console.log(formatBackendReport(selection));
 * const ops = createTfjsOps(selection.tf);
 * ```
 */
export function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  return selectBackendOn(browserPlatform, options);
}

const browserPlatform: Platform = {
  async loadNative(pkg) {
    throw new Unavailable(`${pkg} runs only in Node`, 'in a browser use webgpu, wasm or cpu');
  },
  async gpu() {
    const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (!gpu) throw new Unavailable('this browser has no navigator.gpu', 'use a browser with WebGPU enabled');
    return gpu;
  },
  async prepareWasm(wasm: typeof WasmBackend, wasmPaths: WasmPaths) {
    if (wasmPaths !== undefined) wasm.setWasmPaths(wasmPaths);
    // On a cross-origin isolated page the WASM backend picks its threaded build, whose pthread
    // workers start from a copy of the backend's own script: a bundled page has none (each worker
    // dies with "e is not defined", measured in Chromium 156 with Vite 8) and training never
    // starts. The single-threaded build runs everywhere; this package's own kernels do the products.
    env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  },
};
