/**
 * ONNX export of Staircase / Ladder models and ONNX Runtime inference.
 *
 * Export runs the model's own `forward` with symbolic {@link createSymbolicOps | ops}, so the
 * graph is the training code; {@link OnnxModel} runs it with onnxruntime-node or onnxruntime-web
 * (WebGPU, WASM, CPU).
 */
export { exportModel, EMPTY_SLOT_BIAS, type ExportOptions, type ExportedModel } from './export/export-model.js';
export { createSymbolicOps, concatTree, ExportError, MAX_CONCAT_INPUTS, type Sym } from './export/symbolic-ops.js';
export { GraphBuilder, OPSET } from './export/graph.js';
export { quantizeColumns, quantizeWeightProducts, type Quantization, type QuantizeReport } from './export/quantize.js';
export {
  FORMAT_VERSION,
  METADATA_KEY,
  OnnxModelError,
  parseMetadata,
  type ModelReference,
  type PhaseInput,
  type OnnxModelMetadata,
  type StateSlot,
} from './format.js';
export { graphDigest } from './checksum.js';
export { checkStateLayout, MAX_STATE_VALUES_PER_ROW } from './state-limits.js';
export { readModelInfo, type ModelInfo } from './model-info.js';
export { OnnxModel, OnnxStream, type LoadOptions, type OnnxModelFiles } from './onnx-model.js';
export { generate } from './generate.js';
export { score, scoreBatches, logProbability, type ScoredBatch, type SequenceScore } from './score.js';
export { openSession, describeDevices, nodePlacement, probeWebGpu, summarizeProfile } from './runtime/index.js';
export type {
  AdapterProbe,
  OnnxDevice,
  ResolvedDevice,
  OnnxRuntimeName,
  HostTensor,
  OpenSessionOptions,
  OnnxSession,
  OnnxProfile,
  OnnxProfileOp,
  ProfileOptions,
  DeviceReport,
  NodePlacementReport,
  NodePlacementOptions,
  PlacedNode,
} from './runtime/index.js';
