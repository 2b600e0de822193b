/** Generation and scoring with an opened export: text in, tokens out, as `staircase sample --onnx` and `score`. */
import { type OnnxModel, generate, score } from '@staircase/backend-onnx';
import { type Tokenizer, type TokenizerJSON, tokenUnit, tokenizerFromJSON } from '@staircase/data';

export interface GenerateOptions {
  readonly prompt: string;
  readonly tokens: number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly seed: number;
}

/** The tokenizer stored in the export (every `staircase export` of a run has one). */
export function exportTokenizer(model: OnnxModel): Tokenizer {
  const json = model.metadata.tokenizer as TokenizerJSON | undefined;
  if (!json) throw new Error('this export carries no tokenizer: export it from a run directory (staircase export --run DIR)');
  return tokenizerFromJSON(json);
}

/** The checks `staircase sample` applies to its flags, with the same messages' gist. */
export function checkGenerateOptions(o: GenerateOptions): void {
  if (!Number.isInteger(o.tokens) || o.tokens < 1) throw new Error(`tokens: ${o.tokens} — give a whole number ≥ 1`);
  if (!(o.temperature >= 0)) throw new Error(`temperature: ${o.temperature} — give a number ≥ 0 (0 = greedy)`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new Error(`top-k: ${o.topK} — give a whole number ≥ 0 (0 = all)`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new Error(`top-p: ${o.topP} — give a number in (0, 1] (1 = off)`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`seed: ${o.seed} — give a whole number ≥ 0`);
}

/** Streams generated token ids, calling `onToken` with each id and the text so far. */
export async function generateText(
  model: OnnxModel,
  o: GenerateOptions,
  onToken: (id: number, text: string) => void,
  shouldStop: () => boolean,
): Promise<number[]> {
  checkGenerateOptions(o);
  const tokenizer = exportTokenizer(model);
  const ids: number[] = [];
  for await (const id of generate(model, Array.from(tokenizer.encode(o.prompt)), o.tokens, { temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed })) {
    ids.push(id);
    onToken(id, tokenizer.decode(ids));
    if (shouldStop()) break;
  }
  return ids;
}

/** Bits per token (per byte for a byte-level model) of `text`, with the segment graph. */
export async function scoreText(model: OnnxModel, text: string): Promise<{ bitsPerToken: number; count: number; unit: string }> {
  const tokenizer = exportTokenizer(model);
  const ids = tokenizer.encode(text);
  if (ids.length < 2) throw new Error('paste at least two tokens of text to score');
  const s = await score(model, ids);
  return { bitsPerToken: s.bitsPerToken, count: s.count, unit: tokenUnit(tokenizer.kind) };
}
