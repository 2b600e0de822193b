/**
 * Opening an export in the page: the two files `staircase export` writes (`NAME.onnx`, the
 * streaming step, and `NAME.segment.onnx`, for scoring), on the device chosen — WebGPU where the
 * adapter is a real GPU, else WASM — with the export's own self-check run on open. Every mistake
 * (one file, a wrong file, files of two exports, a runtime that computes wrong numbers) is one line.
 */
import { OnnxModel, type OnnxModelFiles, probeWebGpu } from '@staircase/backend-onnx';

export type Device = 'auto' | 'webgpu' | 'wasm';

/** The device a request resolves to here, and why, in words. */
export async function chooseDevice(requested: Device): Promise<{ device: 'webgpu' | 'wasm'; why: string }> {
  if (requested === 'wasm') return { device: 'wasm', why: 'WASM, as chosen' };
  const probe = await probeWebGpu();
  if (requested === 'webgpu') {
    if (probe.error) throw new Error(probe.error.replace('--device wasm', 'choose WASM'));
    return { device: 'webgpu', why: `WebGPU, as chosen: ${probe.description}${probe.software ? ' (a software renderer: slower than WASM)' : ''}` };
  }
  if (probe.error) return { device: 'wasm', why: `WASM: ${probe.error.replace(/ — use --device \w+$/, '')}` };
  if (probe.software) return { device: 'wasm', why: `WASM: the WebGPU adapter is a software renderer (${probe.description}), slower than WASM` };
  return { device: 'webgpu', why: `WebGPU: ${probe.description}` };
}

/** The step and segment graphs among the files a user picked or dropped. */
export async function pickExport(files: readonly File[]): Promise<{ files: OnnxModelFiles; names: { step: string; segment: string } }> {
  const segment = files.find((f) => f.name.endsWith('.segment.onnx'));
  const step = files.find((f) => f.name.endsWith('.onnx') && f !== segment);
  const other = files.find((f) => !f.name.endsWith('.onnx'));
  if (other) throw new Error(`${other.name} is not an ONNX export: pick the two files staircase export writes (NAME.onnx and NAME.segment.onnx)`);
  if (!step || !segment) {
    const have = files.map((f) => f.name).join(', ') || 'nothing';
    throw new Error(`an export is two files, NAME.onnx and NAME.segment.onnx (got ${have}): pick or drop both together`);
  }
  return {
    files: { step: new Uint8Array(await step.arrayBuffer()), segment: new Uint8Array(await segment.arrayBuffer()) },
    names: { step: step.name, segment: segment.name },
  };
}

/** Opens an export on `device`; the export's self-check refuses a runtime that computes wrong numbers. */
export async function openExport(files: OnnxModelFiles, names: { step: string; segment: string }, device: 'webgpu' | 'wasm'): Promise<OnnxModel> {
  const warnings: string[] = [];
  const model = await OnnxModel.load(files, { device, names, onWarning: (m) => warnings.push(m) });
  if (warnings.length > 0) console.warn(warnings.join('\n'));
  return model;
}
