import type { AlgorithmicParams } from './algorithmic.js';
import { type Episode, IGNORE } from './task.js';

/**
 * Re-executes a program and lists every rule it breaks: grammar, statement count, `END`, the
 * preconditions of each statement (assign only an unassigned variable, no ++ at the top value or
 * -- at 1, print / if / ++ / -- only on assigned variables, no nested print or if) and every label
 * (recomputed from the execution). Returns `[]` for a valid program.
 */
export function checkAlgorithmicProgram(ep: Episode, p: AlgorithmicParams): string[] {
  const problems: string[] = [];
  const { tokens, labels } = ep;
  if (tokens.length !== labels.length) return [`${tokens.length} tokens but ${labels.length} labels`];
  const state = new Map<string, number>();
  const isVar = (t: string | undefined): t is string => t !== undefined && p.variables.includes(t);
  const isValue = (t: string | undefined): boolean =>
    t !== undefined && /^\d+$/.test(t) && Number(t) >= 1 && Number(t) <= p.maxValue;
  let i = 0;
  const expectIgnored = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (labels[k] !== IGNORE) problems.push(`token ${k} should be unlabelled`);
  };
  // One simple statement at i; applies it to `target` (or not). Returns false on a grammar error.
  const simple = (target: Map<string, number> | null): boolean => {
    const v = tokens[i];
    const op = tokens[i + 1];
    if (!isVar(v)) return false;
    if (op === '=' && isValue(tokens[i + 2]) && tokens[i + 3] === ';') {
      if (state.has(v)) problems.push(`token ${i}: ${v} assigned twice`);
      target?.set(v, Number(tokens[i + 2]));
      i += 4;
      return true;
    }
    if ((op === '++' || op === '--') && tokens[i + 2] === ';') {
      const value = state.get(v);
      if (value === undefined) problems.push(`token ${i}: ${v} ${op} before assignment`);
      else if (op === '++' && value >= p.maxValue) problems.push(`token ${i}: ${v} ++ at ${value}`);
      else if (op === '--' && value <= 1) problems.push(`token ${i}: ${v} -- at ${value}`);
      else target?.set(v, op === '++' ? value + 1 : value - 1);
      i += 3;
      return true;
    }
    return false;
  };
  let statements = 0;
  while (i < tokens.length && tokens[i] !== 'END') {
    const start = i;
    statements++;
    if (tokens[i] === 'print') {
      const v = tokens[i + 1];
      if (!isVar(v) || tokens[i + 2] !== ';') return [...problems, `token ${i}: malformed print`];
      expectIgnored(i, i + 2);
      const value = state.get(v);
      if (value === undefined) problems.push(`token ${i}: print of unassigned ${v}`);
      else if (labels[i + 2] !== String(value)) problems.push(`token ${i + 2}: label ${labels[i + 2]}, value is ${value}`);
      i += 3;
      continue;
    }
    if (tokens[i] === 'if') {
      const v = tokens[i + 1];
      const op = tokens[i + 2];
      const w = tokens[i + 3];
      if (!isVar(v) || (op !== '<' && op !== '>') || !(isVar(w) || isValue(w)) || tokens[i + 4] !== ':') {
        return [...problems, `token ${i}: malformed if`];
      }
      const left = state.get(v);
      const right = isVar(w) ? state.get(w) : Number(w);
      if (left === undefined) problems.push(`token ${i}: if on unassigned ${v}`);
      if (isVar(w) && (w === v || right === undefined)) problems.push(`token ${i}: if compares ${v} with ${w}`);
      const holds = left !== undefined && right !== undefined && (op === '<' ? left < right : left > right);
      i += 5;
      if (!simple(holds ? state : null)) return [...problems, `token ${i}: malformed nested statement`];
      expectIgnored(start, i);
      continue;
    }
    if (!simple(state)) return [...problems, `token ${i}: malformed statement ${JSON.stringify(tokens.slice(i, i + 4).join(' '))}`];
    expectIgnored(start, i);
  }
  if (tokens[i] !== 'END' || i !== tokens.length - 1) problems.push('the program must end with one END');
  else expectIgnored(i, i + 1);
  if (statements !== p.statements) problems.push(`${statements} statements, expected ${p.statements}`);
  return problems;
}
