/** The ONNX Runtime session layer of @staircase/backend-onnx. */
export { describeDevices, nodePlacement, openSession } from './session.js';
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
