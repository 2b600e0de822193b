/** The ONNX Runtime session layer of @staircase/backend-onnx. */
export { openSession } from './session.js';
export { describeDevices } from './devices.js';
export { nodePlacement } from './placement.js';
export { probeWebGpu, type AdapterProbe } from './webgpu.js';
export { summarizeProfile } from './profile.js';
export type { NodePlacementOptions } from './placement.js';
export type {
  DeviceReport,
  HostTensor,
  NodePlacementReport,
  OnnxDevice,
  OnnxProfile,
  OnnxProfileOp,
  ProfileOptions,
  OnnxRuntimeName,
  OnnxSession,
  OpenSessionOptions,
  PlacedNode,
  ResolvedDevice,
} from './types.js';
