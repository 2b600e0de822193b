/**
 * ONNX Runtime sessions behind one small interface: pick a device, open the model on the ORT build
 * that serves it, run with plain CPU tensors.
 */
import { type DeviceChoice, resolveDevice } from './devices.js';
import { hardwareThreads, isNode } from './environment.js';
import { invalidModelError, isModelParseError } from './errors.js';
import { type OrtInferenceSession, type OrtModule, loadOrt } from './ort.js';
import { toHostTensor, toOrtTensor } from './tensors.js';
import { type ProfileRecording, startProfile } from './profile.js';
import type { HostTensor, OnnxProfile, OnnxSession, OpenSessionOptions, ProfileOptions } from './types.js';
import { ensureNavigatorGpu, withBaselineWasmCompile } from './webgpu.js';


/**
 * Opens `model` (ONNX protobuf bytes) on a device.
 *
 * - `cpu`: onnxruntime-node's CPU EP in Node, onnxruntime-web's WASM EP in browsers.
 * - `wasm`: onnxruntime-web's WASM EP.
 * - `webgpu`: onnxruntime-web's WebGPU EP (in Node through the `webgpu` package and a Vulkan driver).
 * - `auto` (default): WebGPU on a hardware adapter, else `cpu` in Node and `wasm` in browsers.
 *
 * A device that cannot be served, a missing runtime package, or bytes that are not an ONNX model
 * each fail with one line saying why.
 */
export async function openSession(model: Uint8Array, options: OpenSessionOptions = {}): Promise<OnnxSession> {
  if (!(model instanceof Uint8Array) || model.byteLength === 0) {
    throw new Error('not a valid ONNX model: the model is empty (expected ONNX protobuf bytes)');
  }
  const choice = await resolveDevice(options.device ?? 'auto');
  if (choice.device === 'webgpu') await ensureNavigatorGpu();
  const ort = await loadOrt(choice.flavour);
  if (options.profile && choice.flavour !== 'node') {
    throw new Error(`ONNX Runtime profiling is available on onnxruntime-node only (device cpu in Node), not on ${choice.runtime} (${choice.device})`);
  }
  const recording = options.profile ? await startProfile() : null;
  const sessionOptions = { ...(await configure(ort, choice, options)), ...recording?.sessionOptions };
  let session: OrtInferenceSession;
  try {
    const create = () => ort.InferenceSession.create(model, sessionOptions);
    session = choice.device === 'webgpu' ? await withBaselineWasmCompile(create) : await create();
  } catch (e) {
    await recording?.discard();
    if (isModelParseError(e)) throw invalidModelError(e);
    throw new Error(`ONNX Runtime (${choice.runtime}, ${choice.device}) could not open the model: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  return wrap(ort, session, choice, recording);
}

/**
 * Session options and process-wide env settings for the choice.
 *
 * Threads, measured on this project's 2-core machines: onnxruntime-node honours intraOpNumThreads.
 * onnxruntime-web's Node build does start its worker threads (one OS thread per extra thread was
 * seen), so `wasm` gets the requested count; its WebGPU bundle cannot (spawning a worker fails with
 * "fetch failed" in Node), so WebGPU in Node runs with 1 (only CPU-fallback kernels use it anyway).
 * `proxy` (running ORT in a web worker) is off: it does not exist in Node and adds a copy per run.
 */
async function configure(ort: OrtModule, choice: DeviceChoice, options: OpenSessionOptions): Promise<Record<string, unknown>> {
  const threads = Math.max(1, Math.floor(options.threads ?? (await hardwareThreads())));
  const base: Record<string, unknown> = { executionProviders: [choice.executionProvider] };
  if (choice.flavour === 'node') return { ...base, intraOpNumThreads: threads };
  ort.env.wasm.proxy = false;
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  if (choice.flavour === 'web-webgpu' && isNode()) ort.env.wasm.numThreads = 1;
  else if (options.threads !== undefined || isNode()) ort.env.wasm.numThreads = threads;
  // In browsers without an explicit count, ORT's own default applies (it checks crossOriginIsolated).
  return base;
}

function wrap(ort: OrtModule, session: OrtInferenceSession, choice: DeviceChoice, recording: ProfileRecording | null): OnnxSession {
  let released = false;
  let profiling = recording !== null;
  const inputNames = [...session.inputNames];
  const outputNames = [...session.outputNames];
  return {
    runtime: choice.runtime,
    device: choice.device,
    inputNames,
    outputNames,
    async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
      if (released) throw new Error('this ONNX session was released');
      const unknown = Object.keys(feeds).filter((k) => !inputNames.includes(k));
      if (unknown.length > 0) throw new Error(`unknown input(s) ${unknown.join(', ')}; the model takes ${inputNames.join(', ')}`);
      const missing = inputNames.filter((k) => !(k in feeds));
      if (missing.length > 0) throw new Error(`missing input(s) ${missing.join(', ')}`);
      const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrtTensor(ort, k, t)]));
      const out = await session.run(ortFeeds);
      const result: Record<string, HostTensor> = {};
      try {
        for (const name of outputNames) {
          const t = out[name];
          if (t) result[name] = await toHostTensor(name, t);
        }
      } finally {
        // GPU-located outputs hold GPU buffers until disposed; CPU ones make this a no-op.
        for (const t of Object.values(out)) t.dispose?.();
      }
      return result;
    },
    async endProfile(options?: ProfileOptions): Promise<OnnxProfile> {
      if (!recording) throw new Error('this ONNX session was opened without profile: true');
      if (!profiling) throw new Error("this ONNX session's profile was already ended");
      if (released) throw new Error('this ONNX session was released');
      profiling = false;
      await session.endProfiling!();
      return recording.read(options);
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      await session.release();
      if (profiling) await recording!.discard();
    },
  };
}
