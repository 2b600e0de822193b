/** The learning-rate schedule's settings (a subset of the trainer's optimizer options). */
export interface ScheduleOptions {
  /** Peak learning rate. */
  readonly lr: number;
  /** Updates of linear warm-up from `lr / warmupSteps` to `lr`. 0 = none. */
  readonly warmupSteps: number;
  /** Update count at which the cosine decay reaches `lr · minLrRatio`; absent = constant after warm-up. */
  readonly totalSteps?: number | undefined;
  /** Floor of the cosine decay as a fraction of `lr`. */
  readonly minLrRatio: number;
}

/**
 * Learning rate of update `step` (0-based): linear warm-up over `warmupSteps` updates, then a
 * cosine decay to `lr · minLrRatio` at `totalSteps`, constant after it.
 *
 * @example
 * ```ts
 * learningRate(0, { lr: 1e-3, warmupSteps: 10, totalSteps: 100, minLrRatio: 0.1 }); // 1e-4
 * learningRate(9, { lr: 1e-3, warmupSteps: 10, totalSteps: 100, minLrRatio: 0.1 }); // 1e-3
 * learningRate(100, { lr: 1e-3, warmupSteps: 10, totalSteps: 100, minLrRatio: 0.1 }); // 1e-4
 * ```
 */
export function learningRate(step: number, options: ScheduleOptions): number {
  const { lr, warmupSteps, totalSteps, minLrRatio } = options;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  if (totalSteps === undefined) return lr;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / span));
  return lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
