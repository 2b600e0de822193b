import type { FixedStep, HostParams, Model, ModelState, Params } from '@staircase/core';
import {
  FORMAT_VERSION,
  METADATA_KEY,
  type ModelReference,
  type OnnxModelMetadata,
  type PhaseInput,
  type PositionInput,
  type RollInput,
  type StateSlot,
} from '../format.js';
import { makeReference, referenceTokens } from '../reference.js';
import { GraphBuilder } from './graph.js';
import { createHostOps, type HostValue } from './host-ops.js';
import type { Quantization } from './quantize.js';
import { layoutOf, listKVs, mapKVs } from './state-tree.js';
import { ExportError, type Sym, createSymbolicOps } from './symbolic-ops.js';

/** Options of {@link exportModel}. */
export interface ExportOptions {
  /** Tokens per run of the streaming step graph. Default: the staircase chunk `F`, or 1. */
  readonly stepTokens?: number;
  /** Tokens per run of the segment graph (evaluation). Default: 8 steps' worth, at least 64. */
  readonly segmentTokens?: number;
  /**
   * Positions the export must model exactly, for kinds whose state grows without bound (Global
   * Cached Staircase); runtimes refuse to go further. Default 4096. Ignored for other kinds.
   */
  readonly maxPositions?: number;
  /** The tokenizer, stored in the metadata for runtimes that take text. */
  readonly tokenizer?: unknown;
  /** Settings of the training run, stored in the metadata (e.g. for a CLI's defaults). */
  readonly run?: unknown;
  /**
   * `int8`: store the weights of every matrix product as int8 with a scale per output column, and
   * quantize the activations entering them per run (dynamic quantization, standard ONNX
   * operators). Weights take a quarter of the space; on CPUs with integer dot products ONNX
   * Runtime's products run ~3× as fast (whole evaluation 1.3–2.3× at the bench's reference size).
   * Logits move within int8 rounding (a few % relative; 7-bit weight codes, so that CPUs without
   * VNNI do not saturate): measure the loss before shipping.
   * Embeddings, the relative-position table, biases and LayerNorm stay float32. Default: float32
   * throughout.
   */
  readonly quantize?: Quantization;
  /**
   * Store the self-check reference: the logits of one batch of each graph's length, computed with
   * the model's `forward` in plain JavaScript, which {@link OnnxModel.load} compares the runtime
   * against on open. Costs one forward pass per graph at export (≈ 2·parameters·tokens flops at
   * ~1 GFLOP/s); `false` leaves it out for models where that is too slow. Default true.
   */
  readonly reference?: boolean;
}

/** The two graphs of an exported model, serialised, and the metadata they carry. */
export interface ExportedModel {
  /** The streaming step: `tokens` `[batch, stepTokens]` and the state in, logits and the next state out. */
  readonly step: Uint8Array;
  /** The same with `segmentTokens` tokens per run, for scoring whole segments. */
  readonly segment: Uint8Array;
  readonly stepMetadata: OnnxModelMetadata;
  readonly segmentMetadata: OnnxModelMetadata;
}

// The traced batch size. Any number works (the batch stays symbolic); an unusual one makes a
// reshape that would wrongly treat another axis as the batch fail loudly in the parity tests.
const TRACE_BATCH = 7;
// Safety net: a state still growing after this many positions is unbounded.
const MAX_TRACE_POSITIONS = 1 << 16;
/** The additive score bias of an empty state slot: far below any real score, yet finite. */
export const EMPTY_SLOT_BIAS = -1e9;

/**
 * Exports a model as ONNX by running its own `forward` with symbolic ops: the graph is the
 * training code, not a re-implementation.
 *
 * Each graph is traced once the model's state has stopped growing (its "steady" layout), with
 * every state K/V block a graph input carrying an extra additive score bias per position. At the
 * start of a sequence the runtime feeds a state of that layout whose slots are all empty (bias
 * −1e9), so the same graph serves every position: attention to an empty slot has zero weight,
 * exactly as if the slot did not exist.
 */
export function exportModel(model: Model, params: HostParams, options: ExportOptions = {}): ExportedModel {
  const maxPositions = model.bounded ? (options.maxPositions ?? 4096) : null;
  const traced = maxPositions === null ? model : model.bounded!(maxPositions);
  const alignment = (model.config as { chunk?: number }).chunk ?? 1;
  // Kinds with a fixed-shape step (the staircase family) stream one token per run; the others'
  // state keeps its shape token by token already, so their step is one chunk (1 token) too.
  const stepTokens = options.stepTokens ?? (traced.fixedStep ? 1 : alignment);
  const segmentTokens = options.segmentTokens ?? alignment * Math.ceil(Math.max(64, 8 * alignment) / alignment);
  const oneToken = stepTokens === 1 && traced.fixedStep !== undefined;
  for (const [what, n] of [
    ['stepTokens', stepTokens],
    ['segmentTokens', segmentTokens],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || (n % alignment !== 0 && !(what === 'stepTokens' && oneToken))) {
      throw new ExportError(`${what} must be a positive multiple of the chunk size ${alignment}${traced.fixedStep ? ' (or 1 for stepTokens)' : ''}, got ${n}`);
    }
  }
  const exportId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  if (options.quantize !== undefined && options.quantize !== 'int8') {
    throw new ExportError(`quantize must be "int8" (or left out for float32), got ${JSON.stringify(options.quantize)}`);
  }
  const common = {
    kind: model.kind,
    config: model.config as Record<string, unknown>,
    tokenizer: options.tokenizer,
    run: options.run,
    alignment,
    maxPositions,
    exportId,
    ...(options.quantize ? { quantization: options.quantize } : {}),
  };
  const withReference = options.reference ?? true;
  const step = oneToken
    ? traceGraph(traced, params, 1, 'step', { ...common, alignment: 1 }, withReference, traced.fixedStep)
    : traceGraph(traced, params, stepTokens, 'step', common, withReference);
  const segment = traceGraph(traced, params, segmentTokens, 'segment', common, withReference);
  return { step: step.bytes, segment: segment.bytes, stepMetadata: step.metadata, segmentMetadata: segment.metadata };
}

type Common = Pick<OnnxModelMetadata, 'kind' | 'config' | 'tokenizer' | 'run' | 'alignment' | 'maxPositions' | 'exportId' | 'quantization'>;

/** Declares every parameter the model specifies as an initializer. */
function paramInitializers(graph: GraphBuilder, model: Model, params: HostParams): Params<Sym> {
  const out: Record<string, Sym> = {};
  for (const spec of model.paramSpecs()) {
    const data = params[spec.name];
    if (!data) throw new ExportError(`the checkpoint lacks parameter "${spec.name}"`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new ExportError(`parameter "${spec.name}" holds ${data.length} values, the model needs [${spec.shape}]`);
    out[spec.name] = { name: graph.initializer(spec.name, 'float32', spec.shape, data), shape: [...spec.shape], dtype: 'float32', batchAxis: null };
  }
  return out;
}

/**
 * Runs the model on symbolic tokens, `tokens` at a time from the start of a sequence, until its
 * state layout stops changing, and returns that state (to be replaced by graph inputs).
 */
function steadyState(model: Model, tokens: number): ModelState<Sym> | null {
  // Only shapes matter here: parameters are bare names, and each call records into a fresh
  // graph that is dropped, so tracing many calls costs neither weight copies nor memory.
  const params: Params<Sym> = Object.fromEntries(
    model.paramSpecs().map((s) => [s.name, { name: s.name, shape: [...s.shape], dtype: 'float32', batchAxis: null } satisfies Sym]),
  );
  const input: Sym = { name: 'tokens', shape: [TRACE_BATCH, tokens], dtype: 'int32', batchAxis: 0 };
  let state: ModelState<Sym> | null = null;
  let layout = '';
  let unchanged = 0;
  while (unchanged < 2) {
    if ((state?.position ?? 0) > MAX_TRACE_POSITIONS) {
      throw new ExportError(`the state of "${model.kind}" keeps growing after ${MAX_TRACE_POSITIONS} positions; it cannot be exported with fixed shapes`);
    }
    state = model.forward(createSymbolicOps(new GraphBuilder(), TRACE_BATCH), params, input, state).state;
    const next = layoutOf(state.data);
    unchanged = next === layout ? unchanged + 1 : 0;
    layout = next;
  }
  return listKVs(state!.data).length === 0 ? null : state;
}

/** The self-check reference of a graph of `tokens` tokens: the model's own logits, computed on the host. */
function referenceOf(model: Model, params: HostParams, tokens: number): ModelReference {
  const ops = createHostOps();
  const p: Params<HostValue> = Object.fromEntries(model.paramSpecs().map((s) => [s.name, { data: params[s.name]!, shape: [...s.shape] }]));
  const input = referenceTokens(tokens, model.config.vocabSize);
  const { logits } = model.forward(ops, p, ops.constantInt(input, [1, tokens]), null);
  return makeReference(input, logits.data, model.config.vocabSize);
}

/**
 * The state template of a fixed-shape step: its initial state, recorded into a graph that is
 * dropped (only the shapes are used).
 */
function fixedTemplate(fixed: FixedStep): ModelState<Sym> | null {
  const state = fixed.initialState(createSymbolicOps(new GraphBuilder(), TRACE_BATCH), TRACE_BATCH);
  return listKVs(state.data).length === 0 ? null : state;
}

/**
 * Records one graph. With `fixed`, the graph is that fixed-shape step (one token per run, traced
 * from its initial state); otherwise the model's `forward` on `tokens` tokens, traced at its
 * steady state.
 */
function traceGraph(model: Model, params: HostParams, tokens: number, role: 'step' | 'segment', common: Common, withReference: boolean, fixed?: FixedStep) {
  const template = fixed ? fixedTemplate(fixed) : steadyState(model, tokens);
  const graph = new GraphBuilder();
  const tracedAt = template?.position ?? 0;
  // RoPE rotations depend on absolute positions: their tables are inputs the runtime computes
  // for each run, named by their offset from the run's first position.
  const positions: PositionInput[] = [];
  const tables = new Map<string, { cos: Sym; sin: Sym }>();
  const rotary = (start: number, length: number, headDim: number, base: number) => {
    const key = `${start - tracedAt}_${length}_${headDim}_${base}`;
    if (!tables.has(key)) {
      const declare = (table: 'cos' | 'sin'): Sym => {
        const name = graph.input({ name: `rotary.${table}.${key}`, dtype: 'float32', dims: [length, headDim / 2] });
        positions.push({ name, table, offset: start - tracedAt, length, headDim, base });
        return { name, shape: [length, headDim / 2], dtype: 'float32', batchAxis: null };
      };
      tables.set(key, { cos: declare('cos'), sin: declare('sin') });
    }
    return tables.get(key)!;
  };
  // The slot inside a chunk (fixed-shape steps): a one-hot input the runtime computes per run.
  const phases: PhaseInput[] = [];
  const phaseInputs = new Map<string, Sym>();
  const phase = (position: number, period: number): Sym => {
    const key = `${position - tracedAt}_${period}`;
    if (!phaseInputs.has(key)) {
      const name = graph.input({ name: `phase.${key}`, dtype: 'float32', dims: [1, period] });
      phases.push({ name, period, offset: position - tracedAt });
      phaseInputs.set(key, { name, shape: [1, period], dtype: 'float32', batchAxis: null });
    }
    return phaseInputs.get(key)!;
  };
  // Ring-order gather indices (fixed-shape steps): an int32 input the runtime computes per run.
  const rolls: RollInput[] = [];
  const rollInputs = new Map<string, Sym>();
  const rollIndex = (position: number, length: number, period: number): Sym => {
    const key = `${position - tracedAt}_${length}_${period}`;
    if (!rollInputs.has(key)) {
      const name = graph.input({ name: `roll.${key}`, dtype: 'int32', dims: [length] });
      rolls.push({ name, length, period, offset: position - tracedAt });
      rollInputs.set(key, { name, shape: [length], dtype: 'int32', batchAxis: null });
    }
    return rollInputs.get(key)!;
  };
  // ONNX Runtime folds arithmetic on initializers at load; int8 quantization needs the products to
  // read the weights themselves.
  const ops = createSymbolicOps(graph, TRACE_BATCH, rotary, phase, rollIndex, common.quantization !== 'int8');
  const p = paramInitializers(graph, model, params);
  const slots: StateSlot[] = [];
  const dimsOf = (x: Sym) => x.shape.map((d, i) => (i === x.batchAxis ? ('batch' as const) : d));
  const stateIn = template && {
    ...template,
    data: mapKVs(template.data, (path, kv) => {
      const declare = (r: 'k' | 'v' | 'bias', shape: number[], batchAxis: number | null, fill: number): Sym => {
        const x: Sym = { name: `state.${path}.${r}`, shape, dtype: 'float32', batchAxis };
        slots.push({ name: `${path}.${r}`, role: r, dims: dimsOf(x), fill, ...(fixed ? { update: 'ring' as const } : {}) });
        graph.input({ name: x.name, dtype: 'float32', dims: dimsOf(x) });
        return x;
      };
      const len = kv.k.shape[2]!;
      return {
        k: declare('k', [...kv.k.shape], 0, 0),
        v: declare('v', [...kv.v.shape], 0, 0),
        bias: declare('bias', [1, 1, 1, len], null, EMPTY_SLOT_BIAS),
      };
    }),
  };
  const tokensIn = graph.input({ name: 'tokens', dtype: 'int32', dims: ['batch', tokens] });
  const tokensSym: Sym = { name: tokensIn, shape: [TRACE_BATCH, tokens], dtype: 'int32', batchAxis: 0 };
  const result = fixed ? fixed.step(ops, p, tokensSym, stateIn!) : model.forward(ops, p, tokensSym, stateIn);
  graph.output({ name: 'logits', dtype: 'float32', dims: dimsOf(result.logits) }, result.logits.name);
  // A fixed step returns each ring block's new entry; a forward, the whole next state.
  const out = stateIn ? listKVs('entries' in result ? result.entries : result.state.data) : [];
  const roles = fixed ? (['k', 'v'] as const) : (['k', 'v', 'bias'] as const);
  const expected = slots.filter((s) => (roles as readonly string[]).includes(s.role)).map((s) => s.name).join(',');
  const produced = out.flatMap(({ path }) => roles.map((r) => `${path}.${r}`)).join(',');
  if (expected !== produced) throw new ExportError(`internal: the state layout changed within a step (${expected} → ${produced})`);
  for (const { path, kv } of out) {
    for (const r of roles) {
      const x = r === 'bias' ? (kv.bias ?? ops.zeros([1, 1, 1, kv.k.shape[2]!])) : kv[r];
      const slot = slots.find((s) => s.name === `${path}.${r}`)!;
      const dims = [...slot.dims];
      if (fixed) {
        // The entry's positions: one per stacked ring of the block.
        const rings = x.shape[2]!;
        if (slot.dims[2] as number % rings !== 0) throw new ExportError(`internal: state ${slot.name} is not ${rings} rings`);
        for (const s of slots) if (s.name.startsWith(`${path}.`) && rings > 1) s.rings = rings;
        dims[2] = rings;
      }
      if (dimsOf(x).join(',') !== dims.join(',')) throw new ExportError(`internal: state ${slot.name} changes shape within a step`);
      graph.output({ name: `next.${path}.${r}`, dtype: 'float32', dims }, x.name);
    }
  }
  if (common.quantization === 'int8') {
    graph.quantizeWeightProducts(new Set(model.paramSpecs().filter((s) => s.shape.length === 2).map((s) => s.name)));
  }
  const metadata: OnnxModelMetadata = {
    format: 'staircase-onnx',
    version: FORMAT_VERSION,
    role,
    ...common,
    vocabSize: model.config.vocabSize,
    tokens,
    tracedAt,
    state: slots,
    positions,
    ...(phases.length > 0 ? { phases } : {}),
    ...(rolls.length > 0 ? { rolls } : {}),
    // A one-token graph is checked over a run that crosses chunk boundaries (its reference is the
    // row-parallel `forward`, so the check also covers the fixed-shape formulation).
    ...(withReference ? { reference: referenceOf(model, params, fixed ? Math.min(2 * ((model.config as { chunk?: number }).chunk ?? 1) + 1, 129) : tokens) } : {}),
  };
  let final = metadata;
  const bytes = graph.toBytesWithDigest(`${model.kind}-${role}`, (sha256) => {
    final = { ...metadata, sha256 };
    return { [METADATA_KEY]: JSON.stringify(final) };
  });
  return { bytes, metadata: final };
}
