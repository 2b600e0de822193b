import onnxProto from 'onnx-proto';
import { rawData } from './raw-data.js';
import { ExportError } from './symbolic-ops.js';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Initializer = onnxProto.onnx.ITensorProto;

/** Weight precisions an export can store. */
export type Quantization = 'int8';

/** What {@link quantizeWeightProducts} changed. */
export interface QuantizeReport {
  /** Products rewritten to int8. */
  readonly products: number;
  /** Weights stored as int8 (a weight shared by several products counts once). */
  readonly weights: number;
}

/**
 * A weight `[K, N]` (row-major `values`, `K · N` of them) as int8 codes with one symmetric scale
 * per output column, `max |w| / 63`: the column, not the whole matrix, sets the range, so one
 * large column does not crush the others. Codes are `round(w / scale)` (half away from zero for
 * negatives as `Math.round` does), clamped to [−63, 63]; an all-zero column gets scale 1 and codes
 * 0, so its products stay exactly 0. Throws an `ExportError` on a non-finite value.
 *
 * Why 7 bits ("reduced range"): on x86 CPUs without VNNI (AVX2 only), ONNX Runtime's uint8 × int8
 * products add pairs of products in 16 bits with saturation, so full-range codes (255 × 127 × 2
 * overflows 32 767) clip; measured here, logits moved 8–12 % against float32 instead of 1–2 %.
 * With codes in [−63, 63] no pair can saturate, on every CPU, for one more bit of rounding.
 */
export function quantizeColumns(values: Float32Array, k: number, n: number): { q: Int8Array; scales: Float32Array } {
  if (values.length !== k * n) throw new ExportError(`quantizeColumns: [${k}, ${n}] needs ${k * n} values, got ${values.length}`);
  const scales = new Float32Array(n);
  for (let i = 0; i < k * n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new ExportError(`a weight holds a non-finite value (${v}) at [${Math.floor(i / n)}, ${i % n}]; the checkpoint is broken, use an earlier one`);
    scales[i % n] = Math.max(scales[i % n]!, Math.abs(v));
  }
  for (let j = 0; j < n; j++) scales[j] = scales[j]! > 0 ? scales[j]! / 63 : 1;
  const q = new Int8Array(k * n);
  for (let i = 0; i < k * n; i++) q[i] = Math.max(-63, Math.min(63, Math.round(values[i]! / scales[i % n]!)));
  return { q, scales };
}

/** The values of a float initializer `[K, N]` (raw_data or float_data), or null if it holds neither in full. */
function floats(t: Initializer, size: number): Float32Array | null {
  const bytes = t.rawData;
  // Copy: a decoded file's raw_data is a view into the whole file (a Node Buffer), maybe unaligned.
  if (bytes && bytes.length === 4 * size) return new Float32Array(new Uint8Array(bytes).buffer);
  if (t.floatData && t.floatData.length === size) return Float32Array.from(t.floatData);
  return null;
}

/**
 * Rewrites every `MatMul` whose right operand is one of `weights` (2-D float initializers) into
 * dynamic int8 quantization, in standard ONNX operators only:
 *
 * ```
 * DynamicQuantizeLinear(x) → xq (uint8), xs, xz      the activation: one scale per run
 * MatMulInteger(xq, Wq, xz) → int32                   Wq: int8, per-column scales Ws
 * Cast → float, times xs · Ws                         = x · W within int8 rounding
 * ```
 *
 * Any ONNX runtime runs it; ONNX Runtime's CPU provider fuses the chain into one
 * `DynamicQuantizeMatMul` (integer dot products: VNNI where the CPU has it). Weights stay float
 * where some other node still reads them, and where the initializer holds neither `raw_data` nor
 * `float_data` in full. New initializers are named `<weight>.int8` and `<weight>.scale` (or by
 * `fresh` where the graph already uses those names); `fresh` names the other new values, and nodes
 * without a name. `nodes` and `initializers` are edited in place. Throws an `ExportError` on a
 * weight with a non-finite value.
 */
export function quantizeWeightProducts(
  nodes: Node[],
  initializers: Initializer[],
  weights: ReadonlySet<string>,
  fresh: (prefix: string) => string,
): QuantizeReport {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const byName = new Map(initializers.map((t) => [t.name!, t]));
  const taken = new Set([...byName.keys(), ...nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])])]);
  // A new value's name: `preferred` unless the graph already uses it.
  const unique = (preferred: string) => {
    const name = taken.has(preferred) ? fresh(preferred) : preferred;
    taken.add(name);
    return name;
  };
  const quantized = new Map<string, { q: string; scales: string }>();
  const out: Node[] = [];
  let products = 0;
  for (const node of nodes) {
    const wName = node.input?.[1];
    if (node.opType !== 'MatMul' || wName === undefined || !weights.has(wName)) {
      out.push(node);
      continue;
    }
    let stored = quantized.get(wName);
    if (!stored) {
      const w = byName.get(wName);
      const dims = w?.dims?.map(Number);
      const values = w?.dataType === FLOAT && dims?.length === 2 ? floats(w, dims[0]! * dims[1]!) : null;
      if (!values) {
        out.push(node);
        continue;
      }
      const [k, n] = dims as [number, number];
      const { q, scales } = quantizeColumns(values, k, n);
      stored = { q: unique(`${wName}.int8`), scales: unique(`${wName}.scale`) };
      initializers.push({ name: stored.q, dataType: onnx.TensorProto.DataType.INT8, dims: [k, n], rawData: rawData(q) });
      initializers.push({ name: stored.scales, dataType: FLOAT, dims: [n], rawData: rawData(scales) });
      quantized.set(wName, stored);
    }
    const x = node.input![0]!;
    const [xq, xs, xz, acc, accFloat, scale] = ['xq', 'xs', 'xz', 'acc', 'accf', 'scale'].map(fresh) as [string, string, string, string, string, string];
    const base = node.name || fresh('MatMul');
    out.push(
      { opType: 'DynamicQuantizeLinear', name: `${base}.quantize`, input: [x], output: [xq, xs, xz], attribute: [] },
      { opType: 'MatMulInteger', name: `${base}.int8`, input: [xq, stored.q, xz], output: [acc], attribute: [] },
      { opType: 'Mul', name: `${base}.scale`, input: [xs, stored.scales], output: [scale], attribute: [] },
      { opType: 'Cast', name: `${base}.float`, input: [acc], output: [accFloat], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
      { opType: 'Mul', name: base, input: [accFloat, scale], output: node.output!, attribute: [] },
    );
    products++;
  }
  nodes.splice(0, nodes.length, ...out);
  // Drop the float copies no node reads any more (a weight also read elsewhere stays).
  const read = new Set(nodes.flatMap((n) => n.input ?? []));
  for (let i = initializers.length - 1; i >= 0; i--) {
    if (quantized.has(initializers[i]!.name!) && !read.has(initializers[i]!.name!)) initializers.splice(i, 1);
  }
  return { products, weights: quantized.size };
}
