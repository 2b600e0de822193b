import type { BenchReport } from './bench.js';
import { round } from './numbers.js';
import type { OnnxReport } from './onnx.js';

const fmt = (x: number | undefined | null, digits = 3) => (x == null ? '–' : x >= 100 ? Math.round(x).toLocaleString('en') : String(round(x, digits - 1)));

/** The report as markdown: one table of all results, the derived figures, the backends skipped and the ONNX status. */
export function benchMarkdown(report: BenchReport): string {
  const m = report.machine;
  const st = report.settings;
  const lines: string[] = [];
  lines.push(
    `Size \`${report.size}\`: batch ${st.batch} × ${st.length} tokens, vocabulary ${st.vocabSize}; ${st.warmup} warm-up + ${st.steps} measured steps; ` +
      `streaming: batch 1, ${st.streamTokens} timed tokens per position.`,
  );
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, TensorFlow.js ${m.tfjs}, ${m.date}; ` +
      `load average ${m.loadAverage.start} at the start, ${m.loadAverage.end} at the end` +
      (m.webgpuAdapter ? `; WebGPU adapter: ${m.webgpuAdapter}.` : '.'),
  );
  // Only the load at the start says something about other work: by the end the 1-minute average
  // also counts this bench's own threads (data-parallel workers, ONNX Runtime's and PyTorch's pools).
  if (m.loadAverage.start > m.cores - 0.5) {
    lines.push('', `Warning: the load average at the start (${m.loadAverage.start}) was near or above the ${m.cores} cores: other work shared the CPU and the figures are skewed (multi-threaded ones most).`);
  }
  const pos = st.positions.map((p) => `stream ms/token @${p}`);
  const par = st.workers > 1 ? [`train tok/s, ${st.workers} workers`] : [];
  if (report.results.length > 0) {
    lines.push(
      '',
      `| backend | model | params | train tok/s | ${[...par, 'eval tok/s', ...pos].join(' | ')} | stream ratio | peak RSS MiB (process) | RSS growth % | tensors Δ (steps / after dispose) |`,
    );
    lines.push(`|${'---|'.repeat(9 + par.length + pos.length)}`);
  } else {
    lines.push('', 'TensorFlow.js: no backend measured.');
  }
  for (const r of report.results) {
    const cells = [
      r.backend,
      r.model + (r.note ? ' ¹' : ''),
      r.parameters.toLocaleString('en'),
      fmt(r.train?.tokensPerS),
      ...(par.length ? [r.trainParallel?.error ? 'failed ²' : fmt(r.trainParallel?.tokensPerS)] : []),
      fmt(r.eval?.tokensPerS),
      ...st.positions.map((p) => fmt(r.stream?.msPerToken[String(p)])),
      fmt(r.stream?.ratio),
      fmt(r.memory?.peakRssMb),
      fmt(r.memory?.rssGrowthPct),
      r.memory ? `${r.memory.tensorsGrowth} / ${r.memory.tensorsLeaked}` : '–',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes = report.results.filter((r) => r.note || r.error);
  if (notes.some((r) => r.note)) lines.push('', `¹ ${notes.find((r) => r.note)!.note}`);
  for (const r of notes.filter((x) => x.error)) lines.push('', `${r.backend} ${r.model} failed: ${r.error}`);
  for (const r of report.results.filter((x) => x.trainParallel?.error)) {
    lines.push('', `² ${r.backend} ${r.model}, ${r.trainParallel!.workers} workers: ${r.trainParallel!.error}`);
  }
  if (report.derived.scheduleOverhead.length) {
    lines.push('', 'Schedule overhead (staircase tokens/s × n ÷ Transformer-XL tokens/s, training): ' +
      report.derived.scheduleOverhead.map((f) => `${f.backend} ${f.model} ${fmt(f.value)}`).join('; ') + '.');
  }
  for (const s of report.backends.skipped) lines.push('', `Backend ${s.name} not measured: ${s.why}.`);
  lines.push('', onnxLine(report.onnx));
  return `${lines.join('\n')}\n`;
}

function onnxLine(onnx: OnnxReport): string {
  if (onnx.status !== 'measured') return `onnx: ${onnx.status}${onnx.reason ? ` (${onnx.reason})` : ''}`;
  const rows = onnx.results.map(
    (r) =>
      `${r.model} (${r.runtime}, ${r.executionProvider}): eval ${fmt(r.evalTokensPerS)} tok/s` +
      (r.evalInt8TokensPerS ? `, int8 weights ${fmt(r.evalInt8TokensPerS)} tok/s (logits ±${fmt(r.int8LogitsRelError)})` : '') +
      (r.int8Error ? `, int8 failed: ${r.int8Error}` : '') +
      (r.streamMsPerToken && Object.keys(r.streamMsPerToken).length > 0 ? `, stream ${Object.entries(r.streamMsPerToken).map(([p, v]) => `@${p} ${fmt(v)} ms`).join(', ')}` : '') +
      (r.error ? `, failed: ${r.error}` : ''),
  );
  return `onnx: ${rows.join('; ')}`;
}
