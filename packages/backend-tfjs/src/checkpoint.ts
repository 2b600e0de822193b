import type { HostParams, Model, ModelState } from '@staircase/core';
import type { AdamWState } from './adamw.js';
import { type AtomicWriteHooks, writeFileAtomic } from './atomic-write.js';
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

/** Options of {@link decodeCheckpoint} and {@link loadCheckpoint}. */
export interface DecodeOptions {
  /** How messages name the checkpoint (a path). Default `checkpoint`. */
  readonly source?: string;
  /** When given, the weights must fit this model (see {@link assertCheckpointFits}). */
  readonly model?: Pick<Model, 'config' | 'paramSpecs'>;
}

/** Parses and verifies a checkpoint (format, version, sizes, checksum, and the model when given). */
export function decodeCheckpoint(bytes: Uint8Array, options: DecodeOptions = {}): Checkpoint {
  assertLittleEndian();
  const src = options.source ?? 'checkpoint';
  const fail = (what: string): never => {
    throw new CheckpointError(`${src} ${what}`);
  };
  if (bytes.length < 8) fail(`is truncated: expected at least 8 bytes, found ${bytes.length}`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > 1 << 30 || headerLength < 2) fail(`is not a ${CHECKPOINT_FORMAT} (header length ${headerLength} is implausible)`);
  if (8 + headerLength > bytes.length) fail(`is truncated: expected at least ${8 + headerLength} bytes, found ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('not an object');
  } catch {
    return fail(`is not a ${CHECKPOINT_FORMAT} or is damaged (its header is not a JSON object)`);
  }
  const meta = header['__metadata__'] as Record<string, unknown> | undefined;
  if (!meta || meta['format'] !== CHECKPOINT_FORMAT) fail(`is not a ${CHECKPOINT_FORMAT} (no "format": "${CHECKPOINT_FORMAT}" in its header)`);
  const version = Number(meta!['format_version']);
  if (version !== CHECKPOINT_VERSION) {
    fail(`has format version ${String(meta!['format_version'])}; this library reads version ${CHECKPOINT_VERSION}`);
  }
  const dataStart = 8 + headerLength;
  let dataLength = 0;
  const tensors = new Map<string, { shape: number[]; begin: number; end: number }>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32') fail(`holds tensor "${name}" of dtype ${String(e.dtype)}; only F32 is supported`);
    const shape = e.shape as number[];
    const [begin, end] = (e.data_offsets ?? []) as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) || !Number.isInteger(begin) || !Number.isInteger(end)) {
      fail(`has a malformed header entry for "${name}"`);
    }
    if (end! - begin! !== 4 * sizeOf(shape) || begin! < 0) {
      fail(`has a malformed header entry for "${name}": offsets [${begin}, ${end}] do not hold shape [${shape.join(', ')}]`);
    }
    tensors.set(name, { shape, begin: begin!, end: end! });
    dataLength = Math.max(dataLength, end!);
  }
  const expected = dataStart + dataLength;
  if (bytes.length < expected) fail(`is truncated: expected ${expected} bytes, found ${bytes.length}`);
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
  // Copy (Uint8Array.prototype.slice: a Node Buffer's own slice would share memory) into an aligned buffer.
  const copy = (t: { begin: number; end: number }) => new Float32Array(Uint8Array.prototype.slice.call(data, t.begin, t.end).buffer);
  const params: Record<string, HostTensor> = {};
  for (const [name, t] of tensors) if (!RESERVED_PREFIXES.some((p) => name.startsWith(p))) params[name] = { shape: t.shape, data: copy(t) };
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
    config: (readJson('config') ?? {}) as Record<string, unknown>,
    params,
    optimizer,
    step: Number(meta!['step'] ?? 0),
    dataPosition: readJson('data_position'),
    tokenizer: readJson('tokenizer'),
    metadata: readJson('metadata') as Record<string, unknown> | undefined,
    modelState,
  };
  if (options.model) assertCheckpointFits(checkpoint, options.model, src);
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
  const specs = model.paramSpecs();
  let problem: string | undefined;
  for (const spec of specs) {
    const t = checkpoint.params[spec.name];
    if (!t) {
      problem = `lacks parameter "${spec.name}"`;
      break;
    }
    if (!sameShape(t.shape, spec.shape)) {
      problem = `has parameter "${spec.name}" of shape [${t.shape.join(', ')}], this model expects [${spec.shape.join(', ')}]`;
      break;
    }
  }
  if (!problem) {
    const known = new Set(specs.map((s) => s.name));
    const extra = Object.keys(checkpoint.params).find((n) => !known.has(n));
    if (extra) problem = `has parameter "${extra}", which this model does not`;
  }
  if (!problem) return;
  const theirs = checkpoint.config;
  const ours = model.config as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    if (NON_STRUCTURAL.has(key)) continue;
    if (JSON.stringify(theirs[key]) !== JSON.stringify(ours[key])) {
      throw new CheckpointError(`${source} was written for a model with ${key} ${show(theirs[key])}, this model has ${show(ours[key])}`);
    }
  }
  throw new CheckpointError(`${source} does not fit this model: it ${problem}`);
}

/**
 * Writes a checkpoint atomically: to `path.tmp-<pid>`, fsynced, then renamed over `path`, so the
 * previous checkpoint stays loadable until the new one is complete.
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint, hooks?: AtomicWriteHooks): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(checkpoint), hooks);
}

/** Reads and verifies a checkpoint file (see {@link decodeCheckpoint}). */
export async function loadCheckpoint(path: string, options: Omit<DecodeOptions, 'source'> = {}): Promise<Checkpoint> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CheckpointError(code === 'ENOENT' ? `checkpoint ${path} does not exist` : `checkpoint ${path} cannot be read (${code ?? String(e)})`);
  }
  return decodeCheckpoint(bytes, { ...options, source: `checkpoint ${path}` });
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
