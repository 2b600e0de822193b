import type { KV } from '@staircase/core';
import type { Sym } from './symbolic-ops.js';

/** Is this value a symbolic tensor? */
export function isSym(x: unknown): x is Sym {
  return typeof x === 'object' && x !== null && typeof (x as Sym).name === 'string' && Array.isArray((x as Sym).shape) && 'batchAxis' in x;
}

function isKV(x: unknown): x is KV<Sym> {
  return typeof x === 'object' && x !== null && isSym((x as KV<Sym>).k) && isSym((x as KV<Sym>).v);
}

/**
 * Rebuilds a model state's data tree (plain objects, arrays, numbers) with every K/V block
 * replaced by `fn(path, block)`. Paths name blocks by their place in the tree (`memories.0`,
 * `chunks.1.passes.0.2`), so the same layout gives the same names on every trace.
 */
export function mapKVs(tree: unknown, fn: (path: string, kv: KV<Sym>) => KV<Sym>, path = ''): unknown {
  if (isKV(tree)) return fn(path, tree);
  if (isSym(tree)) throw new Error(`internal: a state tensor outside a K/V block at "${path}"`);
  const join = (key: string | number) => (path ? `${path}.${key}` : String(key));
  if (Array.isArray(tree)) return tree.map((x, i) => mapKVs(x, fn, join(i)));
  if (typeof tree === 'object' && tree !== null) {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, mapKVs(v, fn, join(k))]));
  }
  return tree;
}

/** Every K/V block of a state tree with its path, in a fixed order. */
export function listKVs(tree: unknown): { path: string; kv: KV<Sym> }[] {
  const out: { path: string; kv: KV<Sym> }[] = [];
  mapKVs(tree, (path, kv) => {
    out.push({ path, kv });
    return kv;
  });
  return out;
}

/** The layout of a state tree: block paths and shapes, for telling when a state stops growing. */
export function layoutOf(tree: unknown): string {
  return listKVs(tree)
    .map(({ path, kv }) => `${path}:${kv.k.shape.join('x')}`)
    .join(';');
}
