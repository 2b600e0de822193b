/** Device selection: which runtime serves which device here, `auto`, and availability reports. */
import { isNode } from './environment.js';
import { type OrtFlavour, loadOrt } from './ort.js';
import type { DeviceReport, OnnxDevice, OnnxRuntimeName, ResolvedDevice } from './types.js';
import { probeWebGpu } from './webgpu.js';

/** A resolved choice: device, the ORT build that serves it, and the EP name to ask ORT for. */
export interface DeviceChoice {
  device: ResolvedDevice;
  flavour: OrtFlavour;
  runtime: OnnxRuntimeName;
  executionProvider: 'cpu' | 'wasm' | 'webgpu';
}

/**
 * The fixed mapping: in Node `cpu` is onnxruntime-node's CPU EP and `wasm`/`webgpu` are
 * onnxruntime-web; in browsers `cpu` means the WASM EP (there is no other CPU there).
 */
export function choiceFor(device: ResolvedDevice): DeviceChoice {
  if (device === 'webgpu') return { device, flavour: 'web-webgpu', runtime: 'onnxruntime-web', executionProvider: 'webgpu' };
  if (device === 'cpu' && isNode()) return { device, flavour: 'node', runtime: 'onnxruntime-node', executionProvider: 'cpu' };
  return { device, flavour: 'web-wasm', runtime: 'onnxruntime-web', executionProvider: 'wasm' };
}

/**
 * Resolves `auto` and checks that an explicit WebGPU request can be served; throws one line saying
 * why not and what to use instead. (A missing runtime package is reported when it is loaded.)
 */
export async function resolveDevice(requested: OnnxDevice = 'auto'): Promise<DeviceChoice> {
  if (requested === 'auto') {
    const probe = await probeWebGpu();
    // A software adapter computes correctly but is slower than the CPU path it emulates.
    if (!probe.error && !probe.software) return choiceFor('webgpu');
    return choiceFor(isNode() ? 'cpu' : 'wasm');
  }
  if (requested === 'webgpu') {
    const probe = await probeWebGpu();
    if (probe.error) throw new Error(probe.error);
  }
  if (!['webgpu', 'wasm', 'cpu'].includes(requested)) {
    throw new Error(`unknown ONNX device "${String(requested)}": use auto, webgpu, wasm or cpu`);
  }
  return choiceFor(requested);
}

/**
 * What each device would be served by here and whether it works, for `staircase info`-style
 * reports. Loads the runtime packages (not sessions) to check they are installed.
 */
export async function describeDevices(): Promise<DeviceReport[]> {
  const reports: DeviceReport[] = [];
  const probe = await probeWebGpu();
  const web = await installed('web-webgpu');
  if (probe.error) reports.push({ device: 'webgpu', available: false, reason: probe.error });
  else if (web) reports.push({ device: 'webgpu', available: false, reason: web });
  else
    reports.push({
      device: 'webgpu',
      available: true,
      reason: probe.software
        ? `software adapter (${probe.description}): correct but slow, so auto skips it`
        : `onnxruntime-web WebGPU EP on ${probe.description}`,
    });
  const wasm = await installed('web-wasm');
  reports.push(wasm ? { device: 'wasm', available: false, reason: wasm } : { device: 'wasm', available: true, reason: 'onnxruntime-web WASM EP' });
  if (isNode()) {
    const node = await installed('node');
    reports.push(node ? { device: 'cpu', available: false, reason: node } : { device: 'cpu', available: true, reason: 'onnxruntime-node CPU EP' });
  } else {
    reports.push({ ...reports[reports.length - 1]!, device: 'cpu', reason: wasm ?? 'in browsers cpu is the onnxruntime-web WASM EP' });
  }
  const auto = !probe.error && !probe.software && !web ? 'webgpu' : isNode() ? 'cpu' : 'wasm';
  reports.push({ device: 'auto', available: reports.some((r) => r.device === auto && r.available), reason: `picks ${auto} here` });
  return reports;
}

/** Undefined when the flavour's package loads, else the one-line reason. */
async function installed(flavour: OrtFlavour): Promise<string | undefined> {
  try {
    await loadOrt(flavour);
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
