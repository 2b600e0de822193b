import { z } from 'zod';

/** Raised for a configuration a user wrote wrongly; its message is one actionable line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const int = (min: number) => z.number().int().min(min);

/** How attention knows where keys are relative to queries. */
export const positionSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /** The paper's learned relative term: one `[headDim, maxDistance]` table for all layers. */
    type: z.literal('relative'),
    maxDistance: int(1).default(512),
    /**
     * Std of the table's N(0, std²) init. Default 0.02; the authors' released code draws it from
     * N(0, 1) (strong random position biases at init), which can matter on the tracking tasks.
     */
    initStd: z.number().positive().optional(),
  }),
  z.strictObject({
    /** Rotary position embedding of queries and keys by absolute position. */
    type: z.literal('rope'),
    base: z.number().positive().default(10000),
  }),
]);

/** Fields every model kind shares: the core Transformer stack. */
export const coreConfigShape = {
  kind: z.string(),
  vocabSize: int(2),
  dModel: int(1),
  heads: int(1),
  layers: int(1),
  dFF: int(1),
  dropout: z.number().min(0).max(0.99).default(0),
  attnDropout: z.number().min(0).max(0.99).default(0),
  activation: z.enum(['relu', 'gelu']).default('relu'),
  position: positionSchema.default({ type: 'relative', maxDistance: 512 }),
  layerNormEps: z.number().positive().default(1e-5),
  /** Seed of parameter initialisation. */
  seed: int(0).default(0),
};

/** The core stack's configuration, after defaults are applied. */
export const coreConfigSchema = z.strictObject(coreConfigShape);
export type CoreConfig = z.infer<typeof coreConfigSchema>;

/**
 * Validates `input` with `schema`, throwing a {@link ConfigError} whose message names the field,
 * the value given and what is allowed — one line, no stack trace needed by the user.
 */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, where = 'config'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) {
    const value = result.data as { dModel?: number; heads?: number; position?: { type: string } };
    if (value.dModel !== undefined && value.heads !== undefined && value.dModel % value.heads !== 0) {
      throw new ConfigError(
        `${where}.heads: got ${value.heads}, but dModel (${value.dModel}) must be divisible by heads`,
      );
    }
    if (value.position?.type === 'rope' && ((value.dModel ?? 0) / (value.heads ?? 1)) % 2 !== 0) {
      throw new ConfigError(`${where}.position: RoPE needs an even head width, got dModel/heads = ${(value.dModel ?? 0) / (value.heads ?? 1)}`);
    }
    return result.data;
  }
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  const field = [where, ...path].join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    throw new ConfigError(`${field}: unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`);
  }
  const got = valueAt(input, path);
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  throw new ConfigError(`${field}: got ${shown}, expected ${describeIssue(issue)}`);
}

function valueAt(input: unknown, path: string[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return `a value ${issue.inclusive === false ? '>' : '≥'} ${String(issue.minimum)}`;
    case 'too_big':
      return `a value ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return `${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    default:
      return issue.message.replace(/^Invalid input: /, '').toLowerCase();
  }
}
