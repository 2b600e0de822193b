import onnxProto from 'onnx-proto';
import { OnnxModelError } from './format.js';

/** What the loader checks in a file before handing it to ONNX Runtime. */
export interface ModelInfo {
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputs: { name: string; dims: (number | string)[] }[];
  readonly outputs: { name: string; dims: (number | string)[] }[];
}

function dimsOf(v: onnxProto.onnx.IValueInfoProto): (number | string)[] {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
}

/**
 * Decodes an ONNX file's graph signature and metadata, refusing with one line bytes that are not
 * an ONNX model or are cut short (ONNX Runtime's own messages for these are long and vague).
 */
export function readModelInfo(bytes: Uint8Array, source: string): ModelInfo {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    const cut = /index out of range|premature|truncat/i.test(String((e as Error).message));
    throw new OnnxModelError(
      cut ? `${source}: the ONNX file is truncated (${bytes.length} bytes) — copy or export it again` : `${source}: not an ONNX model (it does not decode as one)`,
    );
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0 || model.opsetImport.length === 0) {
    throw new OnnxModelError(`${source}: not an ONNX model (no graph or opset in it)`);
  }
  return {
    metadata: Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
    inputs: (graph.input ?? []).map((v) => ({ name: v.name ?? '', dims: dimsOf(v) })),
    outputs: (graph.output ?? []).map((v) => ({ name: v.name ?? '', dims: dimsOf(v) })),
  };
}
