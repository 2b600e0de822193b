import type { CoreConfig } from './config.js';
import { SeededRandom } from './rng.js';

/** How a parameter is created and treated by optimisers. */
export interface ParamSpec {
  /** Dotted name, e.g. `layers.3.attn.wq`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** `normal` draws N(0, std²); `zeros`/`ones` are constant. */
  readonly init: 'normal' | 'zeros' | 'ones';
  readonly std?: number;
  /** Whether AdamW applies weight decay (not to norms, biases, embeddings, position tables). */
  readonly decay: boolean;
}

/** Values of parameters in host memory, row-major, by name. */
export type HostParams = Record<string, Float32Array>;

/** Per-head width. */
export function headDim(config: CoreConfig): number {
  return config.dModel / config.heads;
}

/**
 * The parameters of the core stack: embeddings, the shared relative-position table, `layers`
 * pre-norm blocks and the final LayerNorm + output projection (untied). Output projections of
 * attention and FFN start scaled down by `1/sqrt(2·layers)`, as in the paper's reference.
 */
export function coreParamSpecs(config: CoreConfig): ParamSpec[] {
  const { dModel: d, dFF, vocabSize: V, layers: L } = config;
  const linear = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const residualScale = 1 / Math.sqrt(2 * L);
  const specs: ParamSpec[] = [{ name: 'embed', shape: [V, d], init: 'normal', std: 1, decay: false }];
  if (config.position.type === 'relative') {
    specs.push({ name: 'pos.rel', shape: [headDim(config), config.position.maxDistance], init: 'normal', std: config.position.initStd ?? 0.02, decay: false });
  }
  for (let l = 0; l < L; l++) {
    const p = `layers.${l}`;
    specs.push(
      { name: `${p}.ln1.g`, shape: [d], init: 'ones', decay: false },
      { name: `${p}.ln1.b`, shape: [d], init: 'zeros', decay: false },
      { name: `${p}.attn.wq`, shape: [d, d], init: 'normal', std: linear(d), decay: true },
      { name: `${p}.attn.wk`, shape: [d, d], init: 'normal', std: linear(d), decay: true },
      { name: `${p}.attn.wv`, shape: [d, d], init: 'normal', std: linear(d), decay: true },
      { name: `${p}.attn.wo`, shape: [d, d], init: 'normal', std: linear(d) * residualScale, decay: true },
      { name: `${p}.ln2.g`, shape: [d], init: 'ones', decay: false },
      { name: `${p}.ln2.b`, shape: [d], init: 'zeros', decay: false },
      { name: `${p}.ffn.w1`, shape: [d, dFF], init: 'normal', std: linear(d), decay: true },
      { name: `${p}.ffn.b1`, shape: [dFF], init: 'zeros', decay: false },
      { name: `${p}.ffn.w2`, shape: [dFF, d], init: 'normal', std: linear(dFF) * residualScale, decay: true },
      { name: `${p}.ffn.b2`, shape: [d], init: 'zeros', decay: false },
    );
  }
  specs.push(
    { name: 'lnf.g', shape: [d], init: 'ones', decay: false },
    { name: 'lnf.b', shape: [d], init: 'zeros', decay: false },
    { name: 'out.w', shape: [d, V], init: 'normal', std: linear(d), decay: true },
    { name: 'out.b', shape: [V], init: 'zeros', decay: false },
  );
  return specs;
}

/** Number of scalars in a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Total parameter count of a spec list. */
export function countParams(specs: readonly ParamSpec[]): number {
  return specs.reduce((n, s) => n + sizeOf(s.shape), 0);
}

/**
 * Creates every parameter from its spec with a seeded generator: the same seed gives the same
 * values on every backend. Parameters are drawn in spec order.
 */
export function initParams(specs: readonly ParamSpec[], seed: number): HostParams {
  const rng = new SeededRandom(seed);
  const out: HostParams = {};
  for (const spec of specs) {
    const data = new Float32Array(sizeOf(spec.shape));
    if (spec.init === 'ones') data.fill(1);
    else if (spec.init === 'normal') {
      const std = spec.std ?? 0.02;
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    out[spec.name] = data;
  }
  return out;
}
