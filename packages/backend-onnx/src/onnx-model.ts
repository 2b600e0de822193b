import { rotaryTables } from '@staircase/core';
import { graphDigest } from './checksum.js';
import { METADATA_KEY, OnnxModelError, type OnnxModelMetadata, parseMetadata } from './format.js';
import { readModelInfo } from './model-info.js';
import { compareReference } from './reference.js';
import { checkStateLayout } from './state-limits.js';
import { isNode } from './runtime/environment.js';
import { type HostTensor, type OnnxProfile, type OnnxSession, type ProfileOptions, type OpenSessionOptions, openSession } from './runtime/index.js';

/** The two graphs of an export, as bytes (see {@link exportModel}). */
export interface OnnxModelFiles {
  readonly step: Uint8Array;
  readonly segment: Uint8Array;
}

/** Options of {@link OnnxModel.load}: the session's, plus how the files are checked. */
export interface LoadOptions extends OpenSessionOptions {
  /** Names of the two files, for messages. Default `step graph` / `segment graph`. */
  names?: { step: string; segment: string };
  /**
   * Run the export's reference batch on the opened sessions and refuse the model if the runtime's
   * logits differ from the exporter's (see {@link OnnxModel.load}). Costs one run of each graph.
   * `false` skips it, e.g. to investigate a device that fails it. Default true.
   */
  selfCheck?: boolean;
  /**
   * Receives notes that do not stop loading: an export written before checksums or the reference
   * existed (it loads unchecked). Default `console.warn`.
   */
  onWarning?: (message: string) => void;
}

/**
 * An exported model opened in ONNX Runtime: the streaming step graph for generation and the
 * segment graph for scoring, both checked against their metadata before use.
 */
export class OnnxModel {
  private constructor(
    readonly metadata: OnnxModelMetadata,
    private readonly sessions: { readonly step: OnnxSession; readonly segment: OnnxSession },
    readonly segmentMetadata: OnnxModelMetadata,
  ) {}

  /**
   * Opens both graphs on `device`. Refuses, with one line, bytes that are not ONNX or are
   * truncated, files without staircase metadata or of another format version, a graph whose
   * inputs and outputs differ from its metadata, and a step and segment graph of different exports.
   * `auto` opens an int8 export on the CPU path (`cpu` in Node, `wasm` in browsers): WebGPU has
   * no integer products, so ONNX Runtime would run them on the CPU and copy every activation
   * across; ask for `webgpu` explicitly to do that anyway.
   *
   * Integrity: a file whose graph or weights differ from its stored SHA-256 (flipped bytes, a bad
   * copy) is refused. Self-check (unless `selfCheck: false`): each graph runs the exporter's
   * reference batch and the model is refused, naming the runtime and device, if the logits differ
   * beyond tolerance, so a runtime can never hand back silently wrong numbers. Exports written
   * before these were stored load with a warning ({@link LoadOptions.onWarning}).
   */
  static async load(files: OnnxModelFiles, options: LoadOptions = {}): Promise<OnnxModel> {
    const names = options.names ?? { step: 'step graph', segment: 'segment graph' };
    const warn = options.onWarning ?? ((m: string) => console.warn(m));
    const step = checkGraph(files.step, names.step, 'step');
    const segment = checkGraph(files.segment, names.segment, 'segment');
    if (step.exportId !== segment.exportId) {
      throw new OnnxModelError(`${names.step} and ${names.segment} come from different exports — export the model again and keep both files together`);
    }
    // A checksum with no reference is an export made with `reference: false`, not an old one.
    if (!step.sha256) {
      warn(`${names.step}: an export from an older staircase (no checksum, no self-check reference): loading it unchecked — re-export to get both`);
    } else if (!step.reference && options.selfCheck !== false) {
      warn(`${names.step}: exported without a self-check reference (reference: false): the runtime's numbers are not checked`);
    }
    if (step.quantization && (options.device ?? 'auto') === 'auto') options = { ...options, device: isNode() ? 'cpu' : 'wasm' };
    const stepSession = await openChecked(files.step, names.step, options);
    let segmentSession: OnnxSession | undefined;
    try {
      segmentSession = await openChecked(files.segment, names.segment, options);
      if (options.selfCheck !== false) {
        await selfCheck(stepSession, step, names.step);
        await selfCheck(segmentSession, segment, names.segment);
      }
      return new OnnxModel(step, { step: stepSession, segment: segmentSession }, segment);
    } catch (e) {
      await segmentSession?.release();
      await stepSession.release();
      throw e;
    }
  }

  /** The device the sessions run on. */
  get device(): string {
    return this.sessions.step.device;
  }

  /** The runtime package in use. */
  get runtime(): string {
    return this.sessions.step.runtime;
  }

  /**
   * A stream of `batch` rows starting at position 0: `append` takes any number of tokens per row
   * and returns their logits, carrying the state. `segment` uses the long-run graph (scoring),
   * `step` the short one (generation).
   */
  stream(batch: number, graph: 'step' | 'segment' = 'step'): OnnxStream {
    return new OnnxStream(this.sessions[graph], graph === 'step' ? this.metadata : this.segmentMetadata, batch);
  }

  /**
   * Ends the profiles of a model loaded with `profile: true` (onnxruntime-node) and returns where
   * each graph's runs spent their time, per operator type (`runs` 0 for a graph not run;
   * `skipRuns` leaves out each graph's first runs).
   */
  async endProfile(options?: ProfileOptions): Promise<{ step: OnnxProfile; segment: OnnxProfile }> {
    return { step: await this.sessions.step.endProfile(options), segment: await this.sessions.segment.endProfile(options) };
  }

  /** Releases both sessions. */
  async release(): Promise<void> {
    await this.sessions.step.release();
    await this.sessions.segment.release();
  }
}

function checkGraph(bytes: Uint8Array, name: string, role: 'step' | 'segment'): OnnxModelMetadata {
  const info = readModelInfo(bytes, name);
  const meta = parseMetadata(info.metadata[METADATA_KEY], name);
  if (meta.role !== role) throw new OnnxModelError(`${name}: is the ${meta.role} graph, expected the ${role} graph`);
  const expectedInputs = [
    ...meta.state.map((s) => ({ name: `state.${s.name}`, dims: s.dims })),
    ...meta.positions.map((p) => ({ name: p.name, dims: [p.length, p.headDim / 2] })),
    ...(meta.phases ?? []).map((p) => ({ name: p.name, dims: [1, p.period] })),
    ...(meta.rolls ?? []).map((r) => ({ name: r.name, dims: [r.length] })),
    { name: 'tokens', dims: ['batch', meta.tokens] },
  ];
  const expectedOutputs = [
    { name: 'logits', dims: ['batch', meta.tokens, meta.vocabSize] },
    ...meta.state.flatMap((s) =>
      s.update !== 'ring' ? [{ name: `next.${s.name}`, dims: s.dims }] : s.role === 'bias' ? [] : [{ name: `next.${s.name}`, dims: s.dims.map((d, i) => (i === 2 ? (s.rings ?? 1) : d)) }],
    ),
  ];
  const same = (a: { name: string; dims: readonly (number | string)[] }[], b: { name: string; dims: readonly (number | string)[] }[]) =>
    JSON.stringify([...a].sort((x, y) => x.name.localeCompare(y.name))) === JSON.stringify([...b].sort((x, y) => x.name.localeCompare(y.name)));
  if (!same(info.inputs, expectedInputs) || !same(info.outputs, expectedOutputs)) {
    throw new OnnxModelError(`${name}: its graph's inputs and outputs do not match its staircase metadata — the file was altered; export it again`);
  }
  // Before any state is allocated for it (a stream's empty state, the self-check's).
  checkStateLayout(meta, name);
  // After the signature check, whose message is more specific for the changes it catches.
  if (meta.sha256 && graphDigest(bytes) !== meta.sha256) {
    throw new OnnxModelError(`${name}: checksum mismatch — its graph or weights changed since export (a damaged copy?); copy or export it again`);
  }
  return meta;
}

async function openChecked(bytes: Uint8Array, name: string, options: OpenSessionOptions): Promise<OnnxSession> {
  try {
    return await openSession(bytes, options);
  } catch (e) {
    if (e instanceof OnnxModelError) throw e;
    throw new OnnxModelError(`${name}: ONNX Runtime cannot load it: ${String((e as Error).message ?? e).split('\n')[0]}`);
  }
}

/**
 * Runs the export's reference batch (batch 1 from position 0) and refuses the session if its logits
 * are not the exporter's. The check goes through {@link OnnxStream}, the path every caller uses.
 */
async function selfCheck(session: OnnxSession, meta: OnnxModelMetadata, name: string): Promise<void> {
  const ref = meta.reference;
  if (!ref) return;
  let result: ReturnType<typeof compareReference>;
  try {
    const logits = await new OnnxStream(session, meta, 1).append(ref.tokens, ref.tokens.length);
    result = compareReference(ref, logits, meta.vocabSize, meta.quantization === 'int8');
  } catch (e) {
    if (e instanceof OnnxModelError) throw e;
    throw new OnnxModelError(`${name}: self-check run failed on ${session.runtime} (${session.device}): ${String((e as Error)?.message ?? e).split('\n')[0]}`);
  }
  if (!result.ok) {
    throw new OnnxModelError(
      `${name}: self-check failed on ${session.runtime} (${session.device}): logits differ from the exporter's reference by ${result.maxDiff.toPrecision(3)} (tolerance ${result.tolerance.toPrecision(3)}) — this runtime computes the model wrongly on this device; open it on another device (e.g. wasm or cpu), or pass selfCheck: false to skip the check`,
    );
  }
}

/**
 * Carries a batch's state through one graph. A run consumes exactly `tokens` tokens per row, so
 * whole runs are committed and a trailing partial run is computed on zero-padded input without
 * keeping its state: causal attention makes the real positions' logits exact, and the pending
 * tokens are run again, completed, by the next call.
 */
export class OnnxStream {
  private state: Record<string, HostTensor>;
  private pending: number[][];
  private committed = 0;

  constructor(
    private readonly session: OnnxSession,
    private readonly meta: OnnxModelMetadata,
    readonly batch: number,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new OnnxModelError(`batch must be a positive whole number, got ${batch}`);
    this.state = emptyState(meta, batch);
    this.pending = Array.from({ length: batch }, () => []);
  }

  /** Tokens consumed so far per row. */
  get position(): number {
    return this.committed + this.pending[0]!.length;
  }

  /** The carried state tensors, by graph input name (`state.<path>.<role>`). */
  get carried(): Readonly<Record<string, HostTensor>> {
    return this.state;
  }

  /** Forgets everything: the next token starts a new sequence. */
  reset(): void {
    this.state = emptyState(this.meta, this.batch);
    this.pending = Array.from({ length: this.batch }, () => []);
    this.committed = 0;
  }

  /**
   * Consumes `tokens` (row-major `[batch, length]`) and returns their logits (`[batch, length,
   * vocabSize]`, row-major).
   */
  async append(tokens: ArrayLike<number>, length: number): Promise<Float32Array> {
    const { batch, meta } = this;
    if (tokens.length !== batch * length) throw new OnnxModelError(`expected ${batch}×${length} tokens, got ${tokens.length}`);
    if (meta.maxPositions !== null && this.position + length > meta.maxPositions) {
      throw new OnnxModelError(
        `this export models the first ${meta.maxPositions} positions of a sequence exactly (its state grows with history); re-export with a larger --max-positions`,
      );
    }
    const V = meta.vocabSize;
    const G = meta.tokens;
    const out = new Float32Array(batch * length * V);
    const start = this.pending[0]!.length; // logits of pending tokens were returned before
    for (let b = 0; b < batch; b++) for (let i = 0; i < length; i++) this.pending[b]!.push(Number(tokens[b * length + i]));
    let done = 0; // tokens of this call whose logits are in `out`
    while (this.pending[0]!.length > 0) {
      const full = this.pending[0]!.length >= G;
      const input = new Int32Array(batch * G);
      for (let b = 0; b < batch; b++) input.set(this.pending[b]!.slice(0, G), b * G);
      const result = await this.session.run({ tokens: { type: 'int32', data: input, dims: [batch, G] }, ...this.state, ...positionFeeds(meta, this.committed) });
      const logits = result.logits!.data as Float32Array;
      const real = Math.min(G, this.pending[0]!.length);
      const skip = done === 0 ? start : 0; // pending tokens from an earlier call head this run
      for (let b = 0; b < batch; b++) {
        for (let i = skip; i < real; i++) {
          out.set(logits.subarray((b * G + i) * V, (b * G + i + 1) * V), (b * length + done + i - skip) * V);
        }
      }
      done += real - skip;
      if (!full) break;
      this.state = nextState(meta, this.state, result, this.committed);
      for (const row of this.pending) row.splice(0, G);
      this.committed += G;
    }
    return out;
  }
}

/**
 * The state after a committed run starting at `position`: whole blocks replaced by the graph's
 * next values, ring blocks written in place (entry `i` at index `i·L + position mod L`, the bias
 * there 0; see `StateSlot.update`), so a one-token step moves one row per ring, not the state.
 */
function nextState(meta: OnnxModelMetadata, state: Record<string, HostTensor>, result: Record<string, HostTensor>, position: number): Record<string, HostTensor> {
  // Ring blocks are this stream's own buffers (see emptyState): written in place.
  const next = { ...state };
  for (const s of meta.state) {
    const key = `state.${s.name}`;
    if (s.update !== 'ring') {
      next[key] = result[`next.${s.name}`]!;
      continue;
    }
    const ring = state[key]!;
    const data = ring.data as Float32Array;
    const rings = s.rings ?? 1;
    const len = ring.dims[s.role === 'bias' ? 3 : 2]! / rings;
    const at = position % len;
    if (s.role === 'bias') {
      for (let i = 0; i < rings; i++) data[i * len + at] = 0;
      continue;
    }
    const [b, h, , width] = ring.dims as [number, number, number, number];
    const entry = result[`next.${s.name}`]!.data as Float32Array;
    for (let r = 0; r < b * h; r++) {
      for (let i = 0; i < rings; i++) data.set(entry.subarray((r * rings + i) * width, (r * rings + i + 1) * width), (r * rings * len + i * len + at) * width);
    }
  }
  return next;
}

/** The RoPE tables, chunk-slot one-hots and roll indices of a run starting at `position` (none when the graph has none). */
function positionFeeds(meta: OnnxModelMetadata, position: number): Record<string, HostTensor> {
  const feeds: [string, HostTensor][] = meta.positions.map((p) => {
    const tables = rotaryTables(position + p.offset, p.length, p.headDim, p.base);
    return [p.name, { type: 'float32', data: tables[p.table], dims: [p.length, p.headDim / 2] }];
  });
  for (const p of meta.phases ?? []) {
    const data = new Float32Array(p.period);
    data[(((position + p.offset) % p.period) + p.period) % p.period] = 1;
    feeds.push([p.name, { type: 'float32', data, dims: [1, p.period] }]);
  }
  for (const r of meta.rolls ?? []) {
    const data = new Int32Array(r.length);
    const shift = position + r.offset;
    for (let j = 0; j < r.length; j++) {
      const b = j - (j % r.period);
      data[j] = b + ((((j - b - shift) % r.period) + r.period) % r.period);
    }
    feeds.push([r.name, { type: 'int32', data, dims: [r.length] }]);
  }
  return Object.fromEntries(feeds);
}

/** The state at the start of a sequence: every slot empty (keys and values 0, bias hiding them). */
function emptyState(meta: OnnxModelMetadata, batch: number): Record<string, HostTensor> {
  return Object.fromEntries(
    meta.state.map((s) => {
      const dims = s.dims.map((d) => (d === 'batch' ? batch : d));
      return [`state.${s.name}`, { type: 'float32', data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(s.fill), dims }];
    }),
  );
}
