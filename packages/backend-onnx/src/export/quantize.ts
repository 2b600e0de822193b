import onnxProto from 'onnx-proto';

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
 * A weight `[K, N]` as int8 with one symmetric scale per output column (`max |w| / 127`): the
 * column, not the whole matrix, sets the range, so one large column does not crush the others.
 */
export function quantizeColumns(values: Float32Array, k: number, n: number): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) scales[j] = Math.max(scales[j]!, Math.abs(values[i * n + j]!));
  }
  // An all-zero column keeps scale 1 and codes 0: its products stay exactly 0.
  for (let j = 0; j < n; j++) scales[j] = scales[j]! > 0 ? scales[j]! / 127 : 1;
  const q = new Int8Array(k * n);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < n; j++) q[i * n + j] = Math.round(values[i * n + j]! / scales[j]!);
  }
  return { q, scales };
}

function floats(t: Initializer): Float32Array {
  const raw = t.rawData!;
  // Copy: raw_data need not be 4-byte aligned inside its buffer.
  return new Float32Array(raw.slice().buffer, 0, raw.length / 4);
}

function raw(values: Int8Array | Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
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
 * where some other node still reads them. `fresh` names new values; nodes and initializers are
 * edited in place.
 */
export function quantizeWeightProducts(
  nodes: Node[],
  initializers: Initializer[],
  weights: ReadonlySet<string>,
  fresh: (prefix: string) => string,
): QuantizeReport {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const byName = new Map(initializers.map((t) => [t.name!, t]));
  const quantized = new Map<string, { q: string; scales: string }>();
  const eligible = (node: Node) => {
    if (node.opType !== 'MatMul' || !weights.has(node.input![1]!)) return false;
    const w = byName.get(node.input![1]!);
    return w?.dataType === FLOAT && w.dims?.length === 2 && w.rawData !== undefined && w.rawData !== null;
  };
  const out: Node[] = [];
  let products = 0;
  for (const node of nodes) {
    if (!eligible(node)) {
      out.push(node);
      continue;
    }
    const [x, wName] = node.input as [string, string];
    let w = quantized.get(wName);
    if (!w) {
      const t = byName.get(wName)!;
      const [k, n] = t.dims!.map(Number) as [number, number];
      const { q, scales } = quantizeColumns(floats(t), k, n);
      w = { q: `${wName}.int8`, scales: `${wName}.scale` };
      initializers.push({ name: w.q, dataType: onnx.TensorProto.DataType.INT8, dims: [k, n], rawData: raw(q) });
      initializers.push({ name: w.scales, dataType: FLOAT, dims: [n], rawData: raw(scales) });
      quantized.set(wName, w);
    }
    const [xq, xs, xz, acc, accFloat, scale] = ['xq', 'xs', 'xz', 'acc', 'accf', 'scale'].map(fresh) as string[] as [string, string, string, string, string, string];
    const base = node.name ?? 'MatMul';
    out.push(
      { opType: 'DynamicQuantizeLinear', name: `${base}.quantize`, input: [x], output: [xq, xs, xz], attribute: [] },
      { opType: 'MatMulInteger', name: `${base}.int8`, input: [xq, w.q, xz], output: [acc], attribute: [] },
      { opType: 'Mul', name: `${base}.scale`, input: [xs, w.scales], output: [scale], attribute: [] },
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
