import { DataError } from '../errors.js';
import { checkInt, checkKeys } from '../util/options.js';
import type { Rng } from '../util/rng.js';
import { checkAlgorithmicProgram } from './algorithmic-check.js';
import { type Episode, IGNORE, type Task } from './task.js';

/** Parameters of the algorithmic state-tracking task (PAPER.md, "Tasks"). */
export interface AlgorithmicOptions {
  /** 3 (`x y z`), 5 (`x y z p r`), or explicit variable names. Default 3. */
  variables?: 3 | 5 | readonly string[];
  /** Statements per program before `END`. Default 100. */
  statements?: number;
  /** Values are `1..maxValue`. Default 10. */
  maxValue?: number;
}

/** Resolved parameters. */
export interface AlgorithmicParams {
  variables: readonly string[];
  statements: number;
  maxValue: number;
}

const NAMES: Record<3 | 5, readonly string[]> = { 3: ['x', 'y', 'z'], 5: ['x', 'y', 'z', 'p', 'r'] };

/** Validates options and fills defaults. */
export function algorithmicParams(options: AlgorithmicOptions = {}): AlgorithmicParams {
  checkKeys(options, ['variables', 'statements', 'maxValue'], 'algorithmic task');
  const v = options.variables ?? 3;
  let variables: readonly string[];
  if (v === 3 || v === 5) variables = NAMES[v];
  else if (Array.isArray(v) && v.length >= 1 && v.every((n) => typeof n === 'string' && /^[a-z]\w*$/.test(n))) {
    variables = [...v];
  } else throw new DataError('algorithmic task: variables must be 3, 5 or a list of lower-case names');
  if (new Set(variables).size !== variables.length) throw new DataError('algorithmic task: variable names must differ');
  const reserved = ['print', 'if', 'END'];
  if (variables.some((n) => reserved.includes(n))) throw new DataError('algorithmic task: "print" and "if" are not variable names');
  return {
    variables,
    statements: checkInt(options.statements ?? 100, 'algorithmic task: statements', 1),
    maxValue: checkInt(options.maxValue ?? 10, 'algorithmic task: maxValue', 2, 1000),
  };
}

type Kind = 'assign' | 'inc' | 'dec' | 'print' | 'if';
const KINDS: readonly Kind[] = ['assign', 'inc', 'dec', 'print', 'if'];
const SIMPLE: readonly Kind[] = ['assign', 'inc', 'dec'];
type State = Map<string, number>;

/**
 * Tries to write one simple statement (assign / ++ / --) of `kind` for the state `state`.
 * Returns its tokens and applies it to `apply` (when given), or null when impossible.
 */
function simple(kind: Kind, rng: Rng, p: AlgorithmicParams, state: State, apply: State | null): string[] | null {
  const assigned = p.variables.filter((v) => state.has(v));
  if (kind === 'assign') {
    const free = p.variables.filter((v) => !state.has(v));
    if (free.length === 0) return null;
    const v = rng.pick(free);
    const c = rng.range(1, p.maxValue);
    apply?.set(v, c);
    return [v, '=', String(c), ';'];
  }
  if (assigned.length === 0) return null;
  const v = rng.pick(assigned);
  const value = state.get(v) as number;
  if (kind === 'inc') {
    if (value >= p.maxValue) return null;
    apply?.set(v, value + 1);
    return [v, '++', ';'];
  }
  if (value <= 1) return null;
  apply?.set(v, value - 1);
  return [v, '--', ';'];
}

/** Tries one top-level statement of `kind`; pushes tokens/labels and updates `state`, or returns false. */
function statement(kind: Kind, rng: Rng, p: AlgorithmicParams, state: State, out: Episode): boolean {
  if (kind === 'assign' || kind === 'inc' || kind === 'dec') {
    const toks = simple(kind, rng, p, state, state);
    if (!toks) return false;
    out.tokens.push(...toks);
    out.labels.push(...toks.map(() => IGNORE));
    return true;
  }
  const assigned = p.variables.filter((v) => state.has(v));
  if (assigned.length === 0) return false;
  if (kind === 'print') {
    const v = rng.pick(assigned);
    out.tokens.push('print', v, ';');
    out.labels.push(IGNORE, IGNORE, String(state.get(v)));
    return true;
  }
  const v = rng.pick(assigned);
  const op = rng.next() < 0.5 ? '<' : '>';
  let w: string;
  let right: number;
  if (rng.next() < 0.5) {
    const others = assigned.filter((o) => o !== v);
    if (others.length === 0) return false;
    w = rng.pick(others);
    right = state.get(w) as number;
  } else {
    right = rng.range(1, p.maxValue);
    w = String(right);
  }
  const left = state.get(v) as number;
  const holds = op === '<' ? left < right : left > right;
  let nested: string[] | null = null;
  while (!nested) nested = simple(rng.pick(SIMPLE), rng, p, state, holds ? state : null);
  const toks = ['if', v, op, w, ':', ...nested];
  out.tokens.push(...toks);
  out.labels.push(...toks.map(() => IGNORE));
  return true;
}

/**
 * Draws one program: `statements` statements then `END`. Each statement kind is uniform over
 * assign / ++ / -- / print / if and re-drawn while impossible; only the `;` of a `print` is
 * labelled (with the printed value).
 */
export function generateProgram(rng: Rng, params: AlgorithmicParams): Episode {
  const out: Episode = { tokens: [], labels: [] };
  const state: State = new Map();
  for (let s = 0; s < params.statements; s++) {
    while (!statement(rng.pick(KINDS), rng, params, state, out)) {
      // re-draw an impossible statement
    }
  }
  out.tokens.push('END');
  out.labels.push(IGNORE);
  return out;
}

/**
 * The algorithmic state-tracking task of PAPER.md: `algorithmic:3var` by default,
 * `algorithmic:5var` with `{ variables: 5 }`.
 *
 * @example
 * ```ts
 * const task = algorithmicTask({ variables: 3 });
 * const program = task.episode(createRng(1)); // ~430 tokens, ~25 labelled
 * task.check(program); // []
 * ```
 */
export function algorithmicTask(options: AlgorithmicOptions = {}): Task {
  const p = algorithmicParams(options);
  const values = Array.from({ length: p.maxValue }, (_, i) => String(i + 1));
  const name = options.variables === undefined || options.variables === 3 ? 'algorithmic:3var'
    : options.variables === 5 ? 'algorithmic:5var' : `algorithmic:${p.variables.length}var`;
  return {
    name,
    vocabulary: [...p.variables, '=', '++', '--', ';', 'print', 'if', '<', '>', ':', 'END', ...values],
    labelNames: values,
    params: { variables: p.variables, statements: p.statements, maxValue: p.maxValue },
    episode: (rng) => generateProgram(rng, p),
    check: (ep) => checkAlgorithmicProgram(ep, p),
  };
}
