import { z } from 'zod';

/** The version of the exported file layout this package writes and reads. */
export const FORMAT_VERSION = 2;
/** Older versions this package still reads (version 1: no ring-buffer state, no rolls). */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** The `metadata_props` key that holds {@link OnnxModelMetadata} as JSON. */
export const METADATA_KEY = 'staircase';

const dim = z.union([z.number().int().min(0), z.literal('batch')]);

/** One tensor of the carried state, as a graph input `state.<path>.<role>` and output `next.<path>.<role>`. */
export const stateSlotSchema = z.strictObject({
  /** Path of the K/V block in the model's state tree plus the role, e.g. `memories.0.k`. */
  name: z.string(),
  role: z.enum(['k', 'v', 'bias']),
  dims: z.array(dim),
  /** Value of an empty slot at the start of a sequence: 0 for keys/values, −1e9 for the bias (hidden). */
  fill: z.number(),
  /**
   * `ring`: the block is a ring buffer (one-token step graphs of the staircase family), or
   * {@link rings} of them stacked along the positions axis: the graph returns only the run's own
   * entry, `next.<name>` with one position per ring (none for the bias), and the runtime writes
   * entry `i` at index `i·L + runStart mod L`, `L` = positions ÷ rings (the bias there: 0).
   * Absent: `next.<name>` is the whole next value.
   */
  update: z.literal('ring').optional(),
  /** Rings stacked in a `ring` block (default 1). */
  rings: z.number().int().min(1).optional(),
});
export type StateSlot = z.infer<typeof stateSlotSchema>;

/**
 * A RoPE table the runtime computes for every run (`rotaryTables` of `@staircase/core`), for
 * positions `[runStart + offset, runStart + offset + length)`.
 */
export const positionInputSchema = z.strictObject({
  name: z.string(),
  table: z.enum(['cos', 'sin']),
  offset: z.number().int(),
  length: z.number().int().min(1),
  headDim: z.number().int().min(2),
  base: z.number().positive(),
});
export type PositionInput = z.infer<typeof positionInputSchema>;

/**
 * The one-hot `[1, period]` of `(runStart + offset) mod period` the runtime feeds per run: the slot
 * of a token inside its chunk, for one-token step graphs of the staircase family.
 */
export const phaseInputSchema = z.strictObject({
  name: z.string(),
  period: z.number().int().min(1),
  offset: z.number().int(),
});
export type PhaseInput = z.infer<typeof phaseInputSchema>;

/**
 * The int32 `[length]` gather index of a roll the runtime feeds per run (`Ops.roll` of
 * `@staircase/core`): entry `j` is `b + ((j − b − (runStart + offset)) mod period)`, `b` the start
 * of `j`'s run of `period` entries.
 */
export const rollInputSchema = z.strictObject({
  name: z.string(),
  length: z.number().int().min(1),
  period: z.number().int().min(1),
  offset: z.number().int(),
});
export type RollInput = z.infer<typeof rollInputSchema>;

/**
 * Logits of one short batch computed by the exporter (see `reference.ts`): the runtime must
 * reproduce them on open. Per position, the row mean of the logits then the logits at `probe`.
 */
export const referenceSchema = z.strictObject({
  /** Batch 1, `tokens` of the graph long, from position 0 (empty state). */
  tokens: z.array(z.number().int().min(0)),
  /** Vocabulary entries whose logits are stored. */
  probe: z.array(z.number().int().min(0)),
  /** `[tokens][1 + probe.length]`. */
  logits: z.array(z.array(z.number())),
});
export type ModelReference = z.infer<typeof referenceSchema>;

/**
 * Everything a runtime needs besides the graph: which model it is, how to tokenize, how many
 * tokens one run consumes, and the layout of the recurrent state it carries. Stored as JSON in
 * the ONNX `metadata_props` of both exported graphs.
 */
export const metadataSchema = z.strictObject({
  format: z.literal('staircase-onnx'),
  version: z.number().int(),
  /** `step`: the streaming graph generation runs in a loop; `segment`: whole segments for scoring. */
  role: z.enum(['step', 'segment']),
  kind: z.string(),
  /** The model config, as validated by the kind's schema. */
  config: z.record(z.string(), z.unknown()),
  /** The tokenizer the model was trained with (opaque to this package), if the exporter had one. */
  tokenizer: z.unknown().optional(),
  /** Settings of the training run the weights come from (data, sampling), if exported from one. */
  run: z.unknown().optional(),
  vocabSize: z.number().int().min(1),
  /** Tokens per run: the `tokens` input is `[batch, tokens]`, logits `[batch, tokens, vocabSize]`. */
  tokens: z.number().int().min(1),
  /** Runs must start at multiples of this position (the staircase chunk; 1 for windowed models). */
  alignment: z.number().int().min(1),
  /** Largest number of positions the graph models exactly (bounded exports of growing states), or null. */
  maxPositions: z.number().int().min(1).nullable(),
  /** Position at which the graph was traced; earlier positions are served by the padded empty state. */
  tracedAt: z.number().int().min(0),
  state: z.array(stateSlotSchema),
  /** RoPE tables fed per run (RoPE models only). */
  positions: z.array(positionInputSchema),
  /** Chunk-slot one-hots fed per run (one-token staircase step graphs; absent in older exports). */
  phases: z.array(phaseInputSchema).optional(),
  /** Ring-order gather indices fed per run (one-token staircase step graphs since version 2). */
  rolls: z.array(rollInputSchema).optional(),
  /** Shared by the step and segment graphs of one export, so a mismatched pair is refused. */
  exportId: z.string(),
  /** `int8`: weight products stored as int8 (dynamic quantization); absent: float32 throughout. */
  quantization: z.enum(['int8']).optional(),
  /**
   * SHA-256 (hex) of the file without its metadata (`graphDigest`): the loader refuses a file whose
   * graph or weights changed. Absent in exports written before it was added (they still load).
   */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** The self-check batch (absent in older exports and with `reference: false` at export). */
  reference: referenceSchema.optional(),
});
export type OnnxModelMetadata = z.infer<typeof metadataSchema>;

/** Raised for a file that cannot be used: its message is one line saying what is wrong. */
export class OnnxModelError extends Error {
  override readonly name = 'OnnxModelError';
}

/** Parses and checks metadata JSON from a file's `metadata_props`; `source` names the file in errors. */
export function parseMetadata(json: string | undefined, source: string): OnnxModelMetadata {
  if (json === undefined) throw new OnnxModelError(`${source}: no staircase metadata — it was not exported by staircase export`);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new OnnxModelError(`${source}: its staircase metadata is not valid JSON — re-export the model`);
  }
  const version = (raw as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && !READABLE_VERSIONS.includes(version)) {
    throw new OnnxModelError(
      `${source}: export format version ${version}, but this version of @staircase/backend-onnx reads versions ${READABLE_VERSIONS.join(' and ')} — re-export with a matching staircase`,
    );
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new OnnxModelError(`${source}: staircase metadata field "${issue.path.join('.')}" is invalid (${issue.message}) — re-export the model`);
  }
  return parsed.data;
}
