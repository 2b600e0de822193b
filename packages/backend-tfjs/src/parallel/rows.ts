/**
 * Splitting and joining host model states by rows, so data-parallel replicas can each carry the
 * state of their own rows while checkpoints hold one state for the whole batch, exactly as the
 * single-process trainer writes it.
 *
 * Convention (core's models follow it): a tensor of a training state whose leading axis equals the
 * state's `batch` is row-major, one slice per row. Any other tensor is shared by all rows and is
 * copied whole to each part (and taken from the first part when joining).
 */
import type { HostModelState, HostTensor } from '../checkpoint.js';
import { isHostTensor } from '../state.js';

/** Rows `[from, from + count)` of a host state (a new tree; shared tensors stay shared). */
export function sliceStateRows(state: HostModelState, from: number, count: number): HostModelState {
  if (from < 0 || count < 1 || from + count > state.batch) {
    throw new Error(`rows ${from}..${from + count} are outside a state of ${state.batch} rows`);
  }
  const made = new Map<HostTensor, HostTensor>();
  const cut = (t: HostTensor): HostTensor => {
    let out = made.get(t);
    if (!out) {
      if (t.shape[0] !== state.batch) out = { shape: [...t.shape], data: t.data.slice() };
      else {
        const per = t.data.length / state.batch;
        out = { shape: [count, ...t.shape.slice(1)], data: t.data.slice(from * per, (from + count) * per) };
      }
      made.set(t, out);
    }
    return out;
  };
  return { ...state, batch: count, data: mapTensors(state.data, cut) };
}

/** Joins the states of consecutive row groups (in row order) into one state of all their rows. */
export function joinStateRows(parts: readonly HostModelState[]): HostModelState {
  const first = parts[0];
  if (!first) throw new Error('no states to join');
  for (const p of parts) {
    if (p.kind !== first.kind || p.position !== first.position) {
      throw new Error(`cannot join states of different kinds or positions (${first.kind}@${first.position}, ${p.kind}@${p.position})`);
    }
  }
  if (parts.length === 1) return first;
  const batch = parts.reduce((n, p) => n + p.batch, 0);
  // A tensor held twice in a state stays one tensor in the joined state (checkpoints store it once).
  const made = new Map<HostTensor, HostTensor>();
  // Walk every part's tree in lockstep: the same path holds the same tensor in every part.
  const join = (nodes: unknown[]): unknown => {
    const x = nodes[0];
    if (isHostTensor(x)) {
      const done = made.get(x);
      if (done) return done;
      const ts = nodes as HostTensor[];
      let out: HostTensor;
      if (x.shape[0] !== first.batch) out = { shape: [...x.shape], data: x.data.slice() };
      else {
        const data = new Float32Array(ts.reduce((n, t) => n + t.data.length, 0));
        let offset = 0;
        for (const t of ts) {
          data.set(t.data, offset);
          offset += t.data.length;
        }
        out = { shape: [batch, ...x.shape.slice(1)], data };
      }
      made.set(x, out);
      return out;
    }
    if (Array.isArray(x)) return x.map((_, i) => join(nodes.map((n) => (n as unknown[])[i])));
    if (x !== null && typeof x === 'object') {
      return Object.fromEntries(Object.keys(x).map((k) => [k, join(nodes.map((n) => (n as Record<string, unknown>)[k]))]));
    }
    return x;
  };
  if (parts.some((p) => p.batch !== first.batch)) throw new Error('cannot join states of unequal row counts');
  return { ...first, batch, data: join(parts.map((p) => p.data)) };
}

function mapTensors(tree: unknown, f: (t: HostTensor) => HostTensor): unknown {
  if (isHostTensor(tree)) return f(tree);
  if (Array.isArray(tree)) return tree.map((x) => mapTensors(x, f));
  if (tree !== null && typeof tree === 'object') return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, mapTensors(v, f)]));
  return tree;
}
