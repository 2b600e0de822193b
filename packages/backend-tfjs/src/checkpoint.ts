import { type HostParams, type Model, type ModelState, type ParamSpec, getModelKind, listModelKinds, parseConfig } from '@staircase/core';
import type { AdamWState } from './adamw.js';
import { crc32 } from './crc32.js';
import { isHostTensor, isTensor } from './state.js';

/** The format tag in every checkpoint's `__metadata__.format`. */
export const CHECKPOINT_FORMAT = 'staircase-checkpoint';
/** The layout version this library writes and reads. */
export const CHECKPOINT_VERSION = 1;
const OPTIMIZER_PREFIX = 'optimizer/';
const STATE_PREFIX = 'state/';
const RESERVED_PREFIXES = [OPTIMIZER_PREFIX, STATE_PREFIX];

/** A float32 tensor in host memory. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Everything needed to resume training or to run a trained model: named weights, the model config,
 * the optimizer state, the step, where the data stream was, the tokenizer and free-form metadata.
 */
export interface Checkpoint {
  /** The model's validated config (`model.config`). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Weights by parameter name. */
  readonly params: Readonly<Record<string, HostTensor>>;
  /** AdamW moments (same names and shapes as `params`) and update count. */
  readonly optimizer?: AdamWState | undefined;
  /** Training updates applied when the checkpoint was taken. */
  readonly step: number;
  /** Where the data stream was (JSON), for resuming. */
  readonly dataPosition?: unknown;
  /** The tokenizer, serialised as JSON. */
  readonly tokenizer?: unknown;
  /** Anything else (JSON): run name, metrics, library versions. */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
  /**
   * The model state training carries from batch to batch, one entry per accumulation micro-batch
   * (`null`: that micro-batch has no state yet), with every tensor as a {@link HostTensor}. Absent:
   * a resumed run starts from an empty state.
   */
  readonly modelState?: readonly (HostModelState | null)[] | undefined;
}

/**
 * A model state in host memory: core's `ModelState` whose `data` tree (plain objects, arrays,
 * numbers, strings, booleans, null, undefined) holds {@link HostTensor}s where the live state holds
 * tensors. A HostTensor that appears twice in the tree is stored once and comes back shared.
 */
export type HostModelState = ModelState<HostTensor>;

/** A checkpoint that cannot be read or does not fit the model; the message is one line naming the file. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

/**
 * Serialises a checkpoint in the layout described in this package's README: safetensors
 * (8-byte little-endian header length, JSON header, raw little-endian float32 data) with a
 * `__metadata__` holding the format tag, version, config, step, optimizer step, data position,
 * tokenizer, metadata and a CRC-32 over header and data.
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  assertLittleEndian();
  const entries: [string, readonly number[], Float32Array][] = [];
  for (const [name, t] of Object.entries(checkpoint.params)) {
    if (RESERVED_PREFIXES.some((p) => name.startsWith(p))) throw new CheckpointError(`parameter name "${name}" is reserved`);
    if (t.data.length !== sizeOf(t.shape)) {
      throw new CheckpointError(`parameter "${name}" has ${t.data.length} values but shape [${t.shape.join(', ')}]`);
    }
    entries.push([name, t.shape, t.data]);
  }
  if (checkpoint.optimizer) {
    for (const moment of ['m', 'v'] as const) {
      for (const [name, t] of Object.entries(checkpoint.params)) {
        const data = checkpoint.optimizer[moment][name];
        if (!data || data.length !== t.data.length) throw new CheckpointError(`optimizer moment ${moment} of "${name}" is missing or mis-sized`);
        entries.push([`${OPTIMIZER_PREFIX}${moment}/${name}`, t.shape, data]);
      }
    }
  }
  let stateSkeleton: string | undefined;
  if (checkpoint.modelState) {
    const names = new Map<HostTensor, string>();
    const used = new Set<string>();
    const skeletons = checkpoint.modelState.map((state, micro) => {
      if (state === null) return null;
      return encodeTree(state, [], (t, path) => {
        let name = names.get(t);
        if (name === undefined) {
          const base = `${STATE_PREFIX}${micro}/${path.join('.')}`;
          name = base;
          for (let n = 2; used.has(name); n++) name = `${base}#${n}`;
          used.add(name);
          names.set(t, name);
          entries.push([name, t.shape, t.data]);
        }
        return name;
      });
    });
    stateSkeleton = JSON.stringify(skeletons);
  }
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape, data] of entries) {
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const meta: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    format_version: String(CHECKPOINT_VERSION),
    config: JSON.stringify(checkpoint.config),
    step: String(checkpoint.step),
  };
  if (checkpoint.optimizer) meta['optimizer'] = JSON.stringify({ type: 'adamw', step: checkpoint.optimizer.step });
  if (checkpoint.dataPosition !== undefined) meta['data_position'] = JSON.stringify(checkpoint.dataPosition);
  if (checkpoint.tokenizer !== undefined) meta['tokenizer'] = JSON.stringify(checkpoint.tokenizer);
  if (checkpoint.metadata !== undefined) meta['metadata'] = JSON.stringify(checkpoint.metadata);
  if (stateSkeleton !== undefined) meta['model_state'] = stateSkeleton;
  header['__metadata__'] = meta;

  const data = new Uint8Array(offset);
  let at = 0;
  for (const [, , values] of entries) {
    data.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  }
  meta['crc32'] = checksum(header, data);
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

/** Options of {@link decodeCheckpoint} and `loadCheckpoint`. */
export interface DecodeOptions {
  /** How messages name the checkpoint (a path). Default `checkpoint`. */
  readonly source?: string;
  /** When given, the weights must fit this model (see {@link assertCheckpointFits}). */
  readonly model?: Pick<Model, 'config' | 'paramSpecs'>;
}

/**
 * At most this many tensors in one checkpoint. A model has a few hundred parameters at most; with
 * two optimizer moments each and the carried state of every micro-batch, real files stay far below.
 */
export const MAX_CHECKPOINT_ENTRIES = 100_000;
/** Largest header (bytes) read: the JSON is parsed whole, so its size bounds the memory parsing takes. */
const MAX_HEADER_BYTES = 256 * 2 ** 20;
/** Most axes a tensor may have, and the largest axis (TensorFlow.js indexes with int32). */
const MAX_RANK = 16;
const MAX_DIM = 2 ** 31 - 1;
/** Keys of a safetensors header entry; anything else is refused (the checksum walks the whole header). */
const ENTRY_KEYS = new Set(['dtype', 'shape', 'data_offsets']);

/**
 * Parses and verifies a checkpoint: format, version, header, checksum, and the model when given.
 *
 * Everything the header declares is checked before any tensor is copied, so a crafted or damaged
 * file is refused with one line naming the file and the entry, and decoding never allocates more
 * than the file's own size: every entry's byte range lies inside the data section, the entries tile
 * the data exactly (no overlap, no gap), each shape times 4 bytes (F32) equals its range, there are
 * at most {@link MAX_CHECKPOINT_ENTRIES} of them, and the parameters' shapes are those of
 * `options.model` or, without it, those the checkpoint's own config implies (when its kind is
 * registered with `@staircase/core`).
 *
 * @throws {@link CheckpointError} for every problem with the bytes.
 */
export function decodeCheckpoint(bytes: Uint8Array, options: DecodeOptions = {}): Checkpoint {
  assertLittleEndian();
  const src = options.source ?? 'checkpoint';
  const fail = (what: string): never => {
    throw new CheckpointError(`${src} ${what}`);
  };
  if (bytes.length < 8) fail(`is truncated: expected at least 8 bytes, found ${bytes.length}`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || headerLength < 2) fail(`is not a ${CHECKPOINT_FORMAT} (header length ${headerLength} is implausible)`);
  if (8 + headerLength > bytes.length) fail(`is truncated: expected at least ${8 + headerLength} bytes, found ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('not an object');
  } catch {
    return fail(`is not a ${CHECKPOINT_FORMAT} or is damaged (its header is not a JSON object)`);
  }
  const meta = header['__metadata__'] as Record<string, unknown> | undefined;
  if (!meta || typeof meta !== 'object' || meta['format'] !== CHECKPOINT_FORMAT) {
    fail(`is not a ${CHECKPOINT_FORMAT} (no "format": "${CHECKPOINT_FORMAT}" in its header)`);
  }
  const version = Number(meta!['format_version']);
  if (version !== CHECKPOINT_VERSION) {
    fail(`has format version ${String(meta!['format_version'])}; this library reads version ${CHECKPOINT_VERSION}`);
  }
  // safetensors metadata is a map of strings; refusing anything else also keeps the checksum's walk flat.
  for (const [key, value] of Object.entries(meta!)) {
    if (typeof value !== 'string') fail(`has a malformed header: __metadata__.${key} is not a string`);
  }
  const dataStart = 8 + headerLength;
  const names = Object.keys(header).filter((n) => n !== '__metadata__');
  if (names.length > MAX_CHECKPOINT_ENTRIES) fail(`declares ${names.length} tensors; a checkpoint holds at most ${MAX_CHECKPOINT_ENTRIES}`);
  const tensors = new Map<string, { shape: number[]; begin: number; end: number }>();
  for (const name of names) {
    const entry = header[name];
    const bad = (why: string): never => fail(`has a malformed header entry for "${name}": ${why}`);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) bad('it is not an object');
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const unknown = Object.keys(e).find((k) => !ENTRY_KEYS.has(k));
    if (unknown !== undefined) bad(`unknown key "${unknown}"`);
    if (e.dtype !== 'F32') fail(`holds tensor "${name}" of dtype ${String(e.dtype)}; only F32 is supported`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIM)) {
      bad(`shape ${short(shape)} is not a list of at most ${MAX_RANK} sizes, each an integer in [0, ${MAX_DIM}]`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      bad(`data_offsets ${short(offsets)} are not [begin, end] with 0 ≤ begin ≤ end`);
    }
    const [begin, end] = offsets as [number, number];
    // Multiplied in floating point: an absurd shape overflows to a huge product, never wraps around.
    const bytesNeeded = 4 * (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== bytesNeeded) {
      bad(`offsets [${begin}, ${end}] (${end - begin} bytes) do not hold shape [${(shape as number[]).join(', ')}] (${bytesNeeded} bytes of F32)`);
    }
    tensors.set(name, { shape: shape as number[], begin, end });
  }
  // The entries must tile the data section: no byte read twice (the crafted file that points every
  // entry at the same bytes would otherwise be copied once per entry), none left over.
  const ordered = [...tensors].sort(([, a], [, b]) => a.begin - b.begin || a.end - b.end);
  const last = ordered.reduce<[string, { end: number }] | undefined>((far, t) => (far === undefined || t[1].end > far[1].end ? t : far), undefined);
  const expected = dataStart + (last?.[1].end ?? 0);
  if (bytes.length < expected) fail(`is truncated: expected ${expected} bytes, found ${bytes.length} (tensor "${last![0]}" ends past the end of the file)`);
  let at = 0;
  let previous = '';
  for (const [name, t] of ordered) {
    if (t.begin > at) fail(`is damaged: bytes [${at}, ${t.begin}) of its data belong to no tensor (the gap before "${name}")`);
    if (t.begin < at) fail(`has a malformed header: tensor "${name}" (bytes [${t.begin}, ${t.end})) overlaps tensor "${previous}" (which ends at byte ${at})`);
    at = t.end;
    previous = name;
  }
  if (bytes.length > expected) fail(`is damaged: expected ${expected} bytes, found ${bytes.length} (trailing data)`);
  const data = bytes.subarray(dataStart, expected);
  const stored = meta!['crc32'];
  const { crc32: _, ...rest } = meta!;
  const computed = checksum({ ...header, __metadata__: rest }, data);
  if (stored !== computed) fail(`is corrupt: checksum ${String(stored)} stored, ${computed} computed (the file was altered or damaged)`);

  const readJson = (key: string): unknown => {
    const raw = meta![key];
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(String(raw));
    } catch {
      return fail(`has a malformed "${key}" field in its metadata`);
    }
  };
  const config = (readJson('config') ?? {}) as Record<string, unknown>;
  // Shapes are checked against the model before anything is copied: refusing a wrong file costs nothing.
  const paramShapes = new Map<string, readonly number[]>();
  for (const [name, t] of tensors) if (!RESERVED_PREFIXES.some((p) => name.startsWith(p))) paramShapes.set(name, t.shape);
  if (options.model) assertShapesFit(paramShapes, config, options.model, src);
  else {
    const own = modelOfConfig(config);
    const problem = own && fitProblem(paramShapes, own.paramSpecs(), 'its config');
    if (problem) fail(`does not match its own config: it ${problem}`);
  }
  // Copy (Uint8Array.prototype.slice: a Node Buffer's own slice would share memory) into an aligned buffer.
  const copy = (t: { begin: number; end: number }) => new Float32Array(Uint8Array.prototype.slice.call(data, t.begin, t.end).buffer);
  const params: Record<string, HostTensor> = {};
  for (const name of paramShapes.keys()) {
    const t = tensors.get(name)!;
    params[name] = { shape: t.shape, data: copy(t) };
  }
  let optimizer: AdamWState | undefined;
  const opt = readJson('optimizer') as { step?: number } | undefined;
  if (opt) {
    const m: HostParams = {};
    const v: HostParams = {};
    for (const [name, p] of Object.entries(params)) {
      for (const [moment, into] of [['m', m], ['v', v]] as const) {
        const t = tensors.get(`${OPTIMIZER_PREFIX}${moment}/${name}`);
        if (!t || !sameShape(t.shape, p.shape)) fail(`lacks a well-formed optimizer moment ${moment} for "${name}"`);
        into[name] = copy(t!);
      }
    }
    optimizer = { step: Number(opt.step ?? 0), m, v };
  }
  let modelState: HostModelState[] | undefined;
  const skeletons = readJson('model_state');
  if (skeletons !== undefined) {
    if (!Array.isArray(skeletons)) fail('has a malformed "model_state" field in its metadata');
    const made = new Map<string, HostTensor>();
    const tensorNamed = (name: unknown): HostTensor => {
      const t = typeof name === 'string' && name.startsWith(STATE_PREFIX) ? tensors.get(name) : undefined;
      if (!t) return fail(`has a malformed "model_state": it refers to tensor ${JSON.stringify(name)}, which the file lacks`);
      let host = made.get(name as string);
      if (!host) {
        host = { shape: t.shape, data: copy(t) };
        made.set(name as string, host);
      }
      return host;
    };
    modelState = (skeletons as unknown[]).map((skeleton) => {
      if (skeleton === null) return null;
      let state: unknown;
      try {
        state = decodeTree(skeleton, tensorNamed);
      } catch (e) {
        if (e instanceof CheckpointError) throw e;
        return fail(`has a malformed "model_state" (${(e as Error).message})`);
      }
      const s = state as Partial<HostModelState> | null;
      if (s === null || typeof s !== 'object' || typeof s.kind !== 'string' || typeof s.batch !== 'number' || typeof s.position !== 'number') {
        return fail('has a malformed "model_state" (an entry is not a model state)');
      }
      return s as HostModelState;
    }) as HostModelState[];
  }
  const checkpoint: Checkpoint = {
    config,
    params,
    optimizer,
    step: Number(meta!['step'] ?? 0),
    dataPosition: readJson('data_position'),
    tokenizer: readJson('tokenizer'),
    metadata: readJson('metadata') as Record<string, unknown> | undefined,
    modelState,
  };
  return checkpoint;
}

/** Config fields that do not change the shape of any weight; a difference in them is not reported. */
export const NON_STRUCTURAL = new Set(['seed', 'dropout', 'attnDropout', 'layerNormEps']);

/**
 * Throws a {@link CheckpointError} unless the checkpoint holds exactly the model's parameters with
 * the same shapes. The message names the config field that explains a mismatch when there is one
 * ("written for a model with dModel 64, this model has 128"), else the parameter.
 */
export function assertCheckpointFits(checkpoint: Checkpoint, model: Pick<Model, 'config' | 'paramSpecs'>, source = 'checkpoint'): void {
  const shapes = new Map(Object.entries(checkpoint.params).map(([name, t]) => [name, t.shape] as const));
  assertShapesFit(shapes, checkpoint.config, model, source);
}

/** {@link assertCheckpointFits} on parameter shapes alone (decoding checks them before copying any data). */
function assertShapesFit(
  shapes: ReadonlyMap<string, readonly number[]>,
  theirs: Readonly<Record<string, unknown>>,
  model: Pick<Model, 'config' | 'paramSpecs'>,
  source: string,
): void {
  const problem = fitProblem(shapes, model.paramSpecs(), 'this model');
  if (!problem) return;
  const ours = model.config as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    if (NON_STRUCTURAL.has(key)) continue;
    if (JSON.stringify(theirs[key]) !== JSON.stringify(ours[key])) {
      throw new CheckpointError(`${source} was written for a model with ${key} ${show(theirs[key])}, this model has ${show(ours[key])}`);
    }
  }
  throw new CheckpointError(`${source} does not fit this model: it ${problem}`);
}

/** The first difference between stored parameter shapes and a model's specs, as "lacks …" / "has …"; none: undefined. */
function fitProblem(shapes: ReadonlyMap<string, readonly number[]>, specs: readonly ParamSpec[], against: 'this model' | 'its config'): string | undefined {
  const expects = against === 'this model' ? 'this model expects' : 'its config implies';
  for (const spec of specs) {
    const shape = shapes.get(spec.name);
    if (!shape) return `lacks parameter "${spec.name}"`;
    if (!sameShape(shape, spec.shape)) return `has parameter "${spec.name}" of shape [${shape.join(', ')}], ${expects} [${spec.shape.join(', ')}]`;
  }
  const known = new Set(specs.map((s) => s.name));
  const extra = [...shapes.keys()].find((n) => !known.has(n));
  return extra === undefined ? undefined : `has parameter "${extra}", which ${against} does not have`;
}

/**
 * The model a checkpoint's own config describes, for checking shapes when the caller gave none; undefined
 * when its kind is not registered in this process or the config does not validate (whoever builds the
 * model from it reports that).
 */
function modelOfConfig(config: unknown): Pick<Model, 'paramSpecs'> | undefined {
  if (config === null || typeof config !== 'object') return undefined;
  const kindName = (config as { kind?: unknown }).kind;
  if (typeof kindName !== 'string' || !listModelKinds().includes(kindName)) return undefined;
  try {
    const kind = getModelKind(kindName);
    return kind.create(parseConfig(kind.schema, config));
  } catch {
    return undefined;
  }
}

/**
 * The JSON skeleton of a host state tree: numbers (finite, not -0), strings, booleans and null as
 * themselves, arrays and objects walked; everything else is an object tagged by its `"$"` key:
 * `{"$": "tensor", "name": entry}`, `{"$": "number", "value": "Infinity" | "-Infinity" | "NaN" | "-0"}`,
 * `{"$": "undefined"}`, and `{"$": "object", "value": {…}}` for an object that has a `"$"` key itself.
 */
function encodeTree(x: unknown, path: string[], tensor: (t: HostTensor, path: string[]) => string): unknown {
  const where = () => (path.length ? `"${path.join('.')}"` : 'its root');
  if (isTensor(x)) throw new CheckpointError(`model state holds a TensorFlow.js tensor at ${where()}; checkpoints take HostTensors (see Trainer.checkpoint)`);
  if (isHostTensor(x)) {
    if (!x.shape.every((d) => Number.isInteger(d) && d >= 0) || x.data.length !== sizeOf(x.shape)) {
      throw new CheckpointError(`model state tensor at ${where()} has ${x.data.length} values but shape [${x.shape.join(', ')}]`);
    }
    return { $: 'tensor', name: tensor(x, path) };
  }
  if (typeof x === 'number') return Number.isFinite(x) && !Object.is(x, -0) ? x : { $: 'number', value: Object.is(x, -0) ? '-0' : String(x) };
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return x;
  if (x === undefined) return { $: 'undefined' };
  if (Array.isArray(x)) return Array.from(x, (v, i) => encodeTree(v, [...path, String(i)], tensor));
  const proto = typeof x === 'object' ? Object.getPrototypeOf(x) : undefined;
  if (proto === Object.prototype || proto === null) {
    const value = Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, encodeTree(v, [...path, k], tensor)]));
    return '$' in value ? { $: 'object', value } : value;
  }
  throw new CheckpointError(`model state holds an unsupported value (${typeof x === 'object' ? (proto?.constructor?.name ?? 'object') : typeof x}) at ${where()}`);
}

/** Inverse of {@link encodeTree}; throws a plain Error on a malformed skeleton. */
function decodeTree(x: unknown, tensor: (name: unknown) => HostTensor): unknown {
  if (Array.isArray(x)) return x.map((v) => decodeTree(v, tensor));
  if (x === null || typeof x !== 'object') return x;
  const o = x as Record<string, unknown>;
  if (!('$' in o)) return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decodeTree(v, tensor)]));
  switch (o['$']) {
    case 'tensor':
      return tensor(o['name']);
    case 'number': {
      const numbers: Record<string, number> = { Infinity, '-Infinity': -Infinity, NaN, '-0': -0 };
      const v = Object.hasOwn(numbers, String(o['value'])) ? numbers[String(o['value'])] : undefined;
      if (v === undefined) throw new Error(`unknown number ${JSON.stringify(o['value'])}`);
      return v;
    }
    case 'undefined':
      return undefined;
    case 'object': {
      const value = o['value'];
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('a tagged object holds no object');
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeTree(v, tensor)]));
    }
    default:
      throw new Error(`unknown tag ${JSON.stringify(o['$'])}`);
  }
}

/** CRC-32 (hex) of the canonical header (sorted keys, without the checksum) followed by the data. */
function checksum(header: Record<string, unknown>, data: Uint8Array): string {
  const head = new TextEncoder().encode(canonicalJson(header));
  return crc32(data, crc32(head)).toString(16).padStart(8, '0');
}

function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    const keys = Object.keys(x).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** A value from a header, shortened for a one-line message. */
function short(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : typeof v === 'string' ? v : JSON.stringify(v);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new CheckpointError('checkpoints are little-endian; this host is big-endian, which is not supported');
  }
}
