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
  const src = raw as { length: number };
  // A fresh array of the right class, so the caller owns it even after the session is released.
  const data = type === 'int64' ? new BigInt64Array(src as BigInt64Array) : type === 'int32' ? new Int32Array(src as Int32Array) : new Float32Array(src as Float32Array);
  return { type, data, dims: [...t.dims] };
}
