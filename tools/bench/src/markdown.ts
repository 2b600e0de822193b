import { benchMarkdown, onnxLabel } from '@staircase/benchmark';
import type { PairedRuns } from './paired.js';
import type { SuiteReport, SuiteRound } from './suite.js';

const round = (x: number, digits = 3) => Number(x.toPrecision(digits));
const fmt = (x: number | null | undefined) => (x == null ? '–' : x >= 100 ? Math.round(x).toLocaleString('en') : String(round(x)));

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

function peerTable(r: SuiteRound): string[] {
  const p = r.pytorch;
  if (p.status !== 'measured') return [`pytorch: ${p.status}${p.reason ? ` (${p.reason})` : ''}`];
  const out: string[] = [];
  const positions = r.staircase.settings.positions;
  const first = p.results.find((x) => x.measured)?.measured;
  if (first) out.push(`PyTorch ${first.torch}, BLAS ${first.blas}, ${first.threads} torch thread(s) + ${first.blas_threads ?? first.threads} OpenBLAS thread(s) (\`${p.python}\`).`, '');
  const header = ['model', 'train tok/s', 'eval tok/s (no grad)', 'eval tok/s, int8 weights', 'int8 logits rel. error', ...positions.map((x) => `stream ms/token @${x}`), 'peak RSS MiB'];
  out.push(row(header), `|${'---|'.repeat(header.length)}`);
  for (const x of p.results) {
    const m = x.measured;
    if (!m) {
      out.push(row([x.model, `failed: ${x.error}`, ...Array(header.length - 2).fill('')]));
      continue;
    }
    const int8 = m.eval_int8_tokens_per_s ? `${fmt(m.eval_int8_tokens_per_s)} (${m.eval_int8_threads} threads)` : '–';
    out.push(row([x.model, fmt(m.train_tokens_per_s), fmt(m.eval_tokens_per_s), int8, fmt(m.int8_logits_rel_error), ...positions.map((q) => fmt(m.stream_ms_per_token?.[String(q)])), fmt(m.peak_rss_mb)]));
  }
  return out;
}

/** Our separate measurement's ratio to the peer's, for a pairing's figure (null where one is missing). */
function separateRatio(r: SuiteRound, p: PairedRuns): number | null {
  const peer = r.pytorch.results.find((x) => x.model === p.model)?.measured;
  if (!peer) return null;
  if (p.what === 'eval') {
    const onnx = r.staircase.onnx.results.find((x) => x.model === p.model && onnxLabel(x) === p.ours);
    return onnx?.evalTokensPerS ? onnx.evalTokensPerS / peer.eval_tokens_per_s : null;
  }
  const wasm = r.staircase.results.find((x) => x.backend === 'wasm' && x.model === p.model);
  const ours = p.ours === 'wasm' ? wasm?.train?.tokensPerS : wasm?.trainParallel && !wasm.trainParallel.error ? wasm.trainParallel.tokensPerS : undefined;
  return ours ? ours / peer.train_tokens_per_s : null;
}

function pairedTable(r: SuiteRound): string[] {
  if (r.paired.length === 0) return [];
  const out = [
    '',
    'Cross-check, not used by the targets: in pairs of short runs, ours then the peer\'s or the other way round (ratio: ours ÷ PyTorch in tokens/s, that is PyTorch ms ÷ our ms):',
    '',
    '| figure | ours | model | steps per run | pairs | median | lowest | highest | separate runs |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of r.paired) {
    const figure = p.what === 'train' ? 'training' : 'evaluation';
    const cells = p.error
      ? [`failed: ${p.error}`, '', '', '']
      : [String(p.ratios.length), fmt(p.value), fmt(Math.min(...p.ratios)), fmt(Math.max(...p.ratios))];
    out.push(`| ${figure} | ${p.ours ?? '–'} | ${p.model} | ${p.stepsPerRun} | ${cells.join(' | ')} | ${fmt(separateRatio(r, p))} |`);
  }
  return out;
}

/**
 * The suite as markdown: the targets over all rounds (value = median of the rounds for speed
 * ratios, worst round for memory; each round's value; met on the combined value and in every
 * round), then each round's TensorFlow.js and PyTorch tables.
 */
export function suiteMarkdown(report: SuiteReport): string {
  const n = report.rounds.length;
  const out: string[] = [
    '### Targets',
    '',
    n > 1 ? `${n} rounds; value: the median of the rounds for speed ratios, the worst round for memory.` : 'One round.',
    '',
    '| figure | backend | model | value | rounds | target | stretch | met | met every round | note |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const t of report.targets) {
    out.push(
      `| ${t.figure} | ${t.backend} | ${t.model} | ${fmt(t.value)} | ${t.rounds.map(fmt).join(', ')} | ${t.target} | ${t.stretch || '–'} | ${t.met} | ${t.metEveryRound} | ${t.note ?? ''} |`,
    );
  }
  for (const [i, r] of report.rounds.entries()) {
    const title = n > 1 ? ` (round ${i + 1} of ${n})` : '';
    out.push('', `### TensorFlow.js (\`staircase bench\`)${title}`, '', benchMarkdown(r.staircase).trimEnd(), '', `### PyTorch peer${title}`, '', ...peerTable(r), ...pairedTable(r));
  }
  return `${out.join('\n')}\n`;
}
