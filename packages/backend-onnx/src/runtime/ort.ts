/**
 * Loading ONNX Runtime. Both packages are optional peers, so each is reached through a dynamic
 * `import()`: a user who installed only one of them can use it, and the other's absence becomes one
 * clear line instead of a resolution stack trace.
 */
import { isNode, nodeOnlyImport } from './environment.js';

/** The slice of ONNX Runtime's JS API this layer uses (the same in onnxruntime-node and -web). */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  readonly location?: string;
  getData?(): Promise<unknown>;
  dispose?(): void;
}
/** The slice of ORT's InferenceSession used here. */
export interface OrtInferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  /** Writes the profile of a session created with `enableProfiling`. */
  endProfiling?(): unknown;
  release(): Promise<void>;
}
/** The slice of an ORT package's exports used here. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtInferenceSession> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
  env: {
    logLevel?: string;
    wasm: { numThreads?: number; proxy?: boolean; wasmPaths?: unknown };
    webgpu?: Record<string, unknown>;
    versions?: Record<string, string>;
  };
}

/** Which build of ONNX Runtime serves a device here. */
export type OrtFlavour = 'node' | 'web-wasm' | 'web-webgpu';

const cache = new Map<OrtFlavour, Promise<OrtModule>>();

/**
 * Loads one flavour once. WebGPU always uses the `onnxruntime-web/webgpu` entry (ORT's native
 * WebGPU EP, compiled to wasm): in Node the main entry resolves to a build without WebGPU, and in
 * browsers the main entry's WebGPU EP (JSEP) was measured returning all-zero logits with no
 * exception for a graph this entry runs correctly (Chromium, SwiftShader; see the README's browser
 * guide). WASM uses the main entry.
 */
export function loadOrt(flavour: OrtFlavour): Promise<OrtModule> {
  let p = cache.get(flavour);
  if (!p) {
    p = importFlavour(flavour);
    cache.set(flavour, p);
    // A failed import should not be cached forever (e.g. the user installs the package and retries).
    p.catch(() => cache.delete(flavour));
  }
  return p;
}

async function importFlavour(flavour: OrtFlavour): Promise<OrtModule> {
  try {
    // Node-only entries are hidden from bundlers; the browser entries are plain imports they follow.
    if (flavour === 'node') return normalise(await nodeOnlyImport('onnxruntime-node'));
    if (flavour === 'web-webgpu') return normalise(isNode() ? await nodeOnlyImport('onnxruntime-web/webgpu') : await import('onnxruntime-web/webgpu'));
    return normalise(await import('onnxruntime-web'));
  } catch (e) {
    if (isModuleNotFound(e)) throw new Error(missingPackageMessage(flavour));
    throw e;
  }
}

/** CJS interop: the namespace may carry the API directly or under `default`. */
function normalise(mod: unknown): OrtModule {
  const m = mod as Partial<OrtModule> & { default?: OrtModule };
  return (m.InferenceSession ? m : m.default) as OrtModule;
}

/** The one line shown when a runtime package is not installed. */
export function missingPackageMessage(flavour: OrtFlavour): string {
  if (flavour === 'node') return 'onnxruntime-node is not installed: install onnxruntime-node to run on the CPU in Node (or use --device wasm with onnxruntime-web)';
  const what = flavour === 'web-webgpu' ? 'to run on WebGPU' : 'to run on WASM';
  return `onnxruntime-web is not installed: install onnxruntime-web ${what}`;
}

/** True when an import failed because the package is not installed (Node, Vite and webpack wordings). */
export function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  const msg = String((e as { message?: string } | null)?.message ?? e);
  return /Cannot find (module|package)|Failed to resolve module|Failed to load url/i.test(msg);
}
