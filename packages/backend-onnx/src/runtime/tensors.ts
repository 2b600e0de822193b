/** Moving tensors across the session boundary: HostTensor in, HostTensor (CPU memory) out. */
import type { OrtModule, OrtTensor } from './ort.js';
import type { HostTensor } from './types.js';

const ARRAY_OF = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array } as const;

/** Checks a feed and wraps it in the runtime's own Tensor class (each ORT package has its own). */
export function toOrtTensor(ort: OrtModule, name: string, t: HostTensor): OrtTensor {
  const Expected = ARRAY_OF[t.type];
  if (!Expected) throw new Error(`input "${name}": unsupported type "${String(t.type)}" (float32, int32 or int64)`);
  if (!(t.data instanceof Expected)) {
    throw new Error(`input "${name}": type ${t.type} needs a ${Expected.name}, got ${t.data?.constructor?.name ?? typeof t.data}`);
  }
  const size = t.dims.reduce((a, d) => a * d, 1);
  if (t.dims.some((d) => !Number.isInteger(d) || d < 0) || size !== t.data.length) {
    throw new Error(`input "${name}": dims [${t.dims.join(', ')}] need ${size} elements, data has ${t.data.length}`);
  }
  return new ort.Tensor(t.type, t.data, [...t.dims]);
}

/**
 * Copies an output into plain CPU memory. GPU-located outputs are downloaded; views of a shared or
 * foreign buffer are copied so the caller owns the result after the session is released.
 */
export async function toHostTensor(name: string, t: OrtTensor): Promise<HostTensor> {
  const type = t.type;
  if (type !== 'float32' && type !== 'int32' && type !== 'int64') {
    throw new Error(`output "${name}" has type ${type}; sessions return float32, int32 or int64 (cast it in the model)`);
  }
  const raw = t.location && t.location !== 'cpu' && t.location !== 'cpu-pinned' && t.getData ? await t.getData() : t.data;
  const Class = ARRAY_OF[type];
  // The caller must own the result even after the session is released. An array of the right
  // class that is the whole of a plain ArrayBuffer is already its own (onnxruntime-node returns
  // those); a view of a larger or shared buffer (a WASM heap) is copied. Skipping the copy saves
  // one pass over the carried state per run (4 MiB for Transformer-XL at the bench's reference size).
  const data = ownsWholeBuffer(raw, Class) ? raw : new Class(raw as never);
  return { type, data, dims: [...t.dims] } as HostTensor;
}

function ownsWholeBuffer(x: unknown, Class: (typeof ARRAY_OF)[keyof typeof ARRAY_OF]): boolean {
  if (!(x instanceof Class)) return false;
  const { buffer } = x;
  return buffer instanceof ArrayBuffer && !(typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) && x.byteOffset === 0 && x.byteLength === buffer.byteLength;
}
