/** The ONNX Runtime session layer of @staircase/backend-onnx. */
export { openSession } from './session.js';
export { describeDevices } from './devices.js';
export { nodePlacement } from './placement.js';
export type { NodePlacementOptions } from './placement.js';
export type {
  DeviceReport,
  HostTensor,
  NodePlacementReport,
  OnnxDevice,
  OnnxRuntimeName,
  OnnxSession,
  OpenSessionOptions,
  PlacedNode,
  ResolvedDevice,
} from './types.js';
