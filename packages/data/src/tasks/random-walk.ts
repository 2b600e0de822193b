import { checkInt, checkKeys } from '../util/options.js';
import type { Rng } from '../util/rng.js';
import { type Episode, IGNORE, type Task } from './task.js';

/** Parameters of the random-walk task (PAPER.md, "Tasks"). */
export interface RandomWalkOptions {
  /** Ring size `K`. Default 8. */
  ringSize?: number;
  /** A `?` follows every `q`-th move. Default 4. */
  queryInterval?: number;
  /** Moves per episode `E`. Default 256. */
  episodeLength?: number;
}

/** Resolved parameters. */
export type RandomWalkParams = Required<RandomWalkOptions>;

/** Validates options and fills defaults. */
export function randomWalkParams(options: RandomWalkOptions = {}): RandomWalkParams {
  checkKeys(options, ['ringSize', 'queryInterval', 'episodeLength'], 'random-walk task');
  return {
    ringSize: checkInt(options.ringSize ?? 8, 'random-walk task: ringSize', 2, 100_000),
    queryInterval: checkInt(options.queryInterval ?? 4, 'random-walk task: queryInterval', 1),
    episodeLength: checkInt(options.episodeLength ?? 256, 'random-walk task: episodeLength', 1),
  };
}

const MOVES = ['L', 'R', 'S'] as const;
const STEP: Record<string, number> = { L: -1, R: 1, S: 0 };

/**
 * Draws one episode: the walker starts at cell 0 of a ring of `ringSize` cells; each of
 * `episodeLength` moves is `L`, `R` or `S` (uniform); after every `queryInterval`-th move a `?`
 * is labelled with the current cell; then `END`.
 */
export function generateWalk(rng: Rng, p: RandomWalkParams): Episode {
  const tokens: string[] = [];
  const labels: string[] = [];
  let cell = 0;
  for (let m = 1; m <= p.episodeLength; m++) {
    const move = rng.pick(MOVES);
    cell = (cell + (STEP[move] as number) + p.ringSize) % p.ringSize;
    tokens.push(move);
    labels.push(IGNORE);
    if (m % p.queryInterval === 0) {
      tokens.push('?');
      labels.push(String(cell));
    }
  }
  tokens.push('END');
  labels.push(IGNORE);
  return { tokens, labels };
}

/** Re-walks an episode and lists every broken rule or wrong label (empty when valid). */
export function checkWalk(ep: Episode, p: RandomWalkParams): string[] {
  const problems: string[] = [];
  if (ep.tokens.length !== ep.labels.length) return [`${ep.tokens.length} tokens but ${ep.labels.length} labels`];
  let cell = 0;
  let moves = 0;
  for (let i = 0; i < ep.tokens.length; i++) {
    const t = ep.tokens[i] as string;
    const label = ep.labels[i];
    if (t in STEP) {
      moves++;
      cell = (cell + (STEP[t] as number) + p.ringSize) % p.ringSize;
      if (label !== IGNORE) problems.push(`token ${i}: a move is labelled`);
      const queryDue = moves % p.queryInterval === 0;
      if (queryDue !== (ep.tokens[i + 1] === '?')) problems.push(`token ${i + 1}: query ${queryDue ? 'missing' : 'unexpected'}`);
    } else if (t === '?') {
      if (label !== String(cell)) problems.push(`token ${i}: label ${label}, walker is at ${cell}`);
    } else if (t === 'END') {
      if (i !== ep.tokens.length - 1) problems.push(`token ${i}: END before the end`);
    } else problems.push(`token ${i}: unknown token ${JSON.stringify(t)}`);
  }
  if (moves !== p.episodeLength) problems.push(`${moves} moves, expected ${p.episodeLength}`);
  if (ep.tokens[ep.tokens.length - 1] !== 'END') problems.push('the episode must end with END');
  return problems;
}

/**
 * The random-walk tracking task of PAPER.md.
 *
 * @example
 * ```ts
 * const task = randomWalkTask({ ringSize: 8, queryInterval: 4, episodeLength: 256 });
 * task.episode(createRng(1)).tokens.length; // 256 + 64 + 1
 * ```
 */
export function randomWalkTask(options: RandomWalkOptions = {}): Task {
  const p = randomWalkParams(options);
  return {
    name: 'random-walk',
    vocabulary: ['L', 'R', 'S', '?', 'END'],
    labelNames: Array.from({ length: p.ringSize }, (_, i) => String(i)),
    params: { ...p },
    episode: (rng) => generateWalk(rng, p),
    check: (ep) => checkWalk(ep, p),
  };
}
