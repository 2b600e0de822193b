/** Where a session runs. `auto` picks a hardware WebGPU adapter when one exists, else the CPU path. */
export type OnnxDevice = 'auto' | 'webgpu' | 'wasm' | 'cpu';

/** A device that was actually chosen (never `auto`). */
export type ResolvedDevice = Exclude<OnnxDevice, 'auto'>;

/** The ONNX Runtime package that serves a session. */
export type OnnxRuntimeName = 'onnxruntime-node' | 'onnxruntime-web';

/** A tensor in plain CPU memory: the only kind that crosses the session boundary. */
export interface HostTensor {
  readonly type: 'float32' | 'int32' | 'int64';
  readonly data: Float32Array | Int32Array | BigInt64Array;
  readonly dims: readonly number[];
}

/** Options of {@link openSession}. */
export interface OpenSessionOptions {
  /** Default `auto`. */
  device?: OnnxDevice;
  /**
   * Intra-op threads. Default: all cores. onnxruntime-web reads it once per process (its wasm module
   * is initialised once), so the first wasm session decides. WebGPU in Node always uses 1: the worker
   * threads of onnxruntime-web's WebGPU bundle cannot start there (see `configure` in session.ts).
   */
  threads?: number;
  /**
   * Record ONNX Runtime's profile of every run (its `enableProfiling`), read back with
   * {@link OnnxSession.endProfile}. onnxruntime-node only (`cpu` in Node); profiling costs a
   * little time per node.
   */
  profile?: boolean;
  /**
   * Where onnxruntime-web fetches its `.wasm` (and `.mjs` loader) files: a URL prefix ending in `/`
   * (e.g. `/ort/`, a CDN folder of the same onnxruntime-web version), or a map of file name to URL
   * (ORT's `env.wasm.wasmPaths`). Needed in a bundled page: bundlers do not copy the files, and ORT
   * looks for them next to the bundle. Process-wide (ORT's `env`), read when the first wasm or
   * WebGPU session starts. Default: ORT's own lookup. Ignored by onnxruntime-node.
   */
  wasmPaths?: string | Readonly<Record<string, string>>;
}

/** One operator type of an {@link OnnxProfile}. */
export interface OnnxProfileOp {
  /** e.g. `MatMul`, `FusedMatMul`, `Softmax`. */
  readonly op: string;
  /** Mean kernel milliseconds per run, all nodes of this type together. */
  readonly msPerRun: number;
  /** Nodes of this type executed per run. */
  readonly nodes: number;
  /** Matrix products only: floating-point operations per run, from the nodes' shapes. */
  readonly flopsPerRun?: number;
}

/** How a profile is read. */
export interface ProfileOptions {
  /** Leave out the first runs, e.g. warm-up (the first run also plans memory). Default 0. */
  readonly skipRuns?: number;
}

/** Where a profiled session's time went: see {@link OpenSessionOptions.profile}. */
export interface OnnxProfile {
  /** Runs recorded. */
  readonly runs: number;
  /** Mean milliseconds per run inside ONNX Runtime (kernels plus its own overhead). */
  readonly msPerRun: number;
  /** Operator types, most time first. */
  readonly ops: readonly OnnxProfileOp[];
}

/** An open ONNX Runtime inference session. */
export interface OnnxSession {
  readonly runtime: OnnxRuntimeName;
  /** What was actually chosen. */
  readonly device: ResolvedDevice;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the model; outputs are always copied back to CPU memory. */
  run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  /** Ends the profile of a session opened with `profile: true` and returns it; throws otherwise. */
  endProfile(options?: ProfileOptions): Promise<OnnxProfile>;
  /** Frees the native/wasm/GPU resources; the session is unusable afterwards. */
  release(): Promise<void>;
}

/** One line of {@link describeDevices}. */
export interface DeviceReport {
  device: string;
  available: boolean;
  /** Why it is unavailable, or what to know about it (e.g. a software adapter). */
  reason?: string;
}

/** One node of a placement report. */
export interface PlacedNode {
  name: string;
  opType: string;
  /** ORT's execution provider name, e.g. `WebGpuExecutionProvider`, `CPUExecutionProvider`. */
  provider: string;
}

/** Result of {@link nodePlacement}. */
export interface NodePlacementReport {
  /** The device the session was opened on. */
  device: string;
  nodes: PlacedNode[];
  /** Nodes that landed on the CPU EP although another EP was requested (empty for cpu/wasm). */
  fallbacks: PlacedNode[];
  /** ORT's warning lines (`[W:`), and notes on what ORT did not report. */
  warnings: string[];
}
