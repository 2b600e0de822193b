import onnxProto from 'onnx-proto';
import { graphDigest } from '../checksum.js';
import { type QuantizeReport, quantizeWeightProducts } from './quantize.js';
import { rawData } from './raw-data.js';

const { onnx } = onnxProto;
const latin1 = new TextDecoder('latin1');

/** The ONNX opset the exporter targets (LayerNormalization needs 17). */
export const OPSET = 17;

/** Element types the exporter emits. */
export type DType = 'float32' | 'int32' | 'int64';

const DATA_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A dimension: a number, or the name of a symbolic one (`batch`). */
export type Dim = number | string;

/** A graph input or output: its name, element type and shape. */
export interface ValueSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly dims: readonly Dim[];
}

/** An attribute value of a node. */
export type Attribute = number | string | readonly number[] | { readonly float: number };

function attribute(name: string, value: Attribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value as number[] };
  return { name, type: T.FLOAT, f: (value as { float: number }).float };
}

function valueInfo(spec: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[spec.dtype],
        shape: { dim: spec.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}


/**
 * Records an ONNX graph: nodes in execution order, initializers (weights and constants, shared
 * when identical), inputs and outputs, and serialises it as a `ModelProto`.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly constants = new Map<string, string>();
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  /** Values computed by nodes: those an output may take over (see {@link GraphBuilder.output}). */
  private readonly produced = new Set<string>();
  /** Values an output took over, by their former name. */
  private readonly renamed = new Map<string, string>();
  private counter = 0;

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  /** Declares a graph input. */
  input(spec: ValueSpec): string {
    this.inputs.push(spec);
    return spec.name;
  }

  /**
   * Declares a graph output produced by value `from`. A value computed by a node takes the output's
   * name (every use is renamed), so ONNX Runtime writes it once; an Identity node would copy it
   * (the next K/V memories: 4 copies, ~0.5 ms per Transformer-XL segment). Graph inputs,
   * initializers and values already given an output's name still go through an Identity.
   */
  output(spec: ValueSpec, from: string): void {
    const value = this.renamed.get(from) ?? from;
    if (!this.produced.has(value) || this.outputs.some((o) => o.name === value)) {
      this.node('Identity', [value], {}, spec.name);
    } else {
      const rename = (name: string) => (name === value ? spec.name : name);
      for (const node of this.nodes) {
        node.output = node.output!.map(rename);
        node.input = node.input!.map(rename);
      }
      this.produced.add(spec.name);
      this.renamed.set(from, spec.name);
    }
    this.outputs.push(spec);
  }

  /** Adds a named initializer (a weight). */
  initializer(name: string, dtype: DType, dims: readonly number[], values: Float32Array | Int32Array | BigInt64Array): string {
    this.initializers.push({ name, dataType: DATA_TYPE[dtype], dims: [...dims], rawData: rawData(values) });
    return name;
  }

  /** A constant, stored once however often the model code creates it (masks, tables, shapes). */
  constant(dtype: DType, dims: readonly number[], values: Float32Array | Int32Array | BigInt64Array): string {
    const raw = rawData(values);
    // latin1 decoding maps bytes to characters one to one: an exact key without Node's Buffer.
    const key = `${dtype}|${dims.join(',')}|${latin1.decode(raw)}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.fresh('const');
    this.initializers.push({ name, dataType: DATA_TYPE[dtype], dims: [...dims], rawData: raw });
    this.constants.set(key, name);
    return name;
  }

  /** An int64 vector constant (shapes, axes, slice bounds). */
  ints(values: readonly number[]): string {
    return this.constant('int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** Appends a node and returns its (first) output name. */
  node(op: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const out = output ?? this.fresh(op.toLowerCase());
    this.produced.add(out);
    this.nodes.push({
      opType: op,
      name: `${op}_${this.nodes.length}`,
      input: inputs.map((name) => this.renamed.get(name) ?? name),
      output: [out],
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /**
   * Stores the products with `weights` (2-D float initializers) as dynamic int8 quantization
   * ({@link quantizeWeightProducts}). Call once the graph is complete.
   */
  quantizeWeightProducts(weights: ReadonlySet<string>): QuantizeReport {
    return quantizeWeightProducts(this.nodes, this.initializers, weights, (prefix) => this.fresh(prefix));
  }

  /** Number of nodes recorded so far. */
  get size(): number {
    return this.nodes.length;
  }

  /** Serialises the graph as an ONNX model with the given metadata properties. */
  toBytes(name: string, metadata: Record<string, string>): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: '@staircase/backend-onnx',
      opsetImport: [{ domain: '', version: OPSET }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /**
   * Serialises the graph with metadata that may include the file's own checksum: `metadata`
   * receives the {@link graphDigest} of the model without metadata. The metadata is appended as a
   * second encoding of field 14 (protobuf merges concatenated messages), so the weights are
   * encoded once and the hashed bytes are exactly those in the file.
   */
  toBytesWithDigest(name: string, metadata: (sha256: string) => Record<string, string>): Uint8Array {
    const body = this.toBytes(name, {});
    const props = onnx.ModelProto.encode({
      metadataProps: Object.entries(metadata(graphDigest(body)!)).map(([key, value]) => ({ key, value })),
    } as onnxProto.onnx.IModelProto).finish();
    const out = new Uint8Array(body.length + props.length);
    out.set(body);
    out.set(props, body.length);
    return out;
  }
}
