/**
 * The self-check reference: the logits of one short batch, computed by the exporter with the
 * model's own `forward` in plain JavaScript (no ONNX runtime involved) and stored in each graph's
 * metadata. On open, the same batch runs on the chosen runtime and device and must agree, so a
 * runtime that computes wrongly (onnxruntime-web's JSEP WebGPU returned all-zero logits for a
 * Concat over WebGPU's buffer limit, with no exception) is refused instead of trusted.
 */
import type { ModelReference } from './format.js';

const QUANTIZED_TOLERANCE = 0.75;

/** How many vocabulary entries are stored per position besides the row mean. */
const PROBES = 6;

/** The reference tokens: a fixed pseudo-random sequence over the vocabulary (an LCG, seed 1). */
export function referenceTokens(length: number, vocabSize: number): number[] {
  let s = 1;
  return Array.from({ length }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % vocabSize;
  });
}

/** The stored summary of `[tokens, V]` logits: per position the row mean, then the logits at `probe`. */
export function summarize(logits: ArrayLike<number>, tokens: number, vocabSize: number, probe: readonly number[]): number[][] {
  return Array.from({ length: tokens }, (_, t) => {
    let sum = 0;
    for (let v = 0; v < vocabSize; v++) sum += logits[t * vocabSize + v]!;
    return [sum / vocabSize, ...probe.map((v) => logits[t * vocabSize + v]!)];
  });
}

/** A reference from the logits of `tokens` (batch 1), rounded to float32's precision. */
export function makeReference(tokens: readonly number[], logits: ArrayLike<number>, vocabSize: number): ModelReference {
  const count = Math.min(PROBES, vocabSize);
  const probe = Array.from({ length: count }, (_, i) => Math.floor((i * vocabSize) / count + (vocabSize / count) * 0.37));
  const rows = summarize(logits, tokens.length, vocabSize, probe).map((r) => r.map((x) => Number(x.toPrecision(8))));
  return { tokens: [...tokens], probe, logits: rows };
}

/** The outcome of comparing a runtime's logits with the reference. */
export interface ReferenceComparison {
  /** Largest absolute difference over the stored values (NaN/∞ count as infinitely wrong). */
  readonly maxDiff: number;
  readonly tolerance: number;
  readonly ok: boolean;
}

/**
 * Compares `logits` (`[tokens, V]`, batch 1) with the reference. The tolerance is relative to the
 * reference's largest magnitude, so an all-zero answer always fails. float32: 1e-3 (ONNX Runtime
 * on the CPU agrees to ~3e-7 of it for every kind). int8: 0.75, a coarse check that still refuses
 * zeros, NaN and garbage: the reference is the float model, and int8 logits of the tiny test models
 * move by up to 55 % of it (activation ranges are taken per run over tensors that include the
 * padded state, so emulating the products on the host does not reproduce them either).
 */
export function compareReference(ref: ModelReference, logits: ArrayLike<number>, vocabSize: number, quantized: boolean): ReferenceComparison {
  const got = summarize(logits, ref.tokens.length, vocabSize, ref.probe);
  let scale = 0;
  let maxDiff = 0;
  ref.logits.forEach((row, t) => {
    row.forEach((x, i) => {
      scale = Math.max(scale, Math.abs(x));
      const d = Math.abs(got[t]![i]! - x);
      maxDiff = Math.max(maxDiff, Number.isFinite(d) ? d : Number.POSITIVE_INFINITY);
    });
  });
  const tolerance = (quantized ? QUANTIZED_TOLERANCE : 1e-3) * scale + 1e-6;
  return { maxDiff, tolerance, ok: maxDiff <= tolerance };
}
