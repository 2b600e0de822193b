import { OnnxModelError, type OnnxModelMetadata } from './format.js';

/**
 * Most float32 values a carried state may hold per batch row (1 GiB). Real exports are far below
 * it (the largest bench model: ~3 M values per row, a Global Cached export bounded at 4096
 * positions ~10 M); it only stops a crafted or damaged file from making a stream allocate
 * gigabytes before anything fails.
 */
export const MAX_STATE_VALUES_PER_ROW = 1 << 28;

const positiveInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;

/**
 * The most positions one state block of this config can hold: a memory, the staircase window and
 * cache in either step layout, or a bounded export's whole history.
 */
function positionBound(meta: OnnxModelMetadata): number {
  const c = meta.config as Record<string, unknown>;
  const n = (key: string) => (positiveInt(c[key]) ? (c[key] as number) : 0);
  const chunk = Math.max(1, n('chunk'));
  return n('memory') + chunk * (n('passes') + n('cacheChunks') + 2) + (meta.maxPositions ?? 0);
}

/**
 * Checks the state a file declares against its own config before anything is allocated for it:
 * keys and values `[batch, heads, positions, headDim]`, biases `[1, 1, 1, positions]`, positions
 * within what the config can carry, and at most {@link MAX_STATE_VALUES_PER_ROW} values per row.
 * Refuses with one line naming the file and the slot.
 */
export function checkStateLayout(meta: OnnxModelMetadata, name: string): void {
  const c = meta.config as Record<string, unknown>;
  const { heads, dModel } = c;
  if (!positiveInt(heads) || !positiveInt(dModel) || dModel % heads !== 0) {
    throw new OnnxModelError(`${name}: its metadata's config has no valid heads/dModel — the file was altered; export it again`);
  }
  const headDim = dModel / heads;
  const bound = positionBound(meta);
  const passes = positiveInt(c['passes']) ? (c['passes'] as number) : 1;
  let perRow = 0;
  for (const slot of meta.state) {
    const d = slot.dims;
    const positions = d[slot.role === 'bias' ? 3 : 2];
    const expected = slot.role === 'bias' ? [1, 1, 1, positions] : ['batch', heads, positions, headDim];
    // A block of stacked rings (one per pass) holds `rings` times one ring's positions.
    const rings = slot.rings ?? 1;
    const perRing = positiveInt(positions) ? positions / rings : 0;
    if (d.length !== 4 || !positiveInt(perRing) || rings > Math.max(1, passes) || d.some((x, i) => x !== expected[i]) || perRing > bound) {
      throw new OnnxModelError(
        `${name}: state ${slot.name} declares dims [${d.join(', ')}], not [${expected.slice(0, 2).join(', ')}, positions ≤ ${bound}${slot.rings ? ` per ring of ${slot.rings}` : ''}, ${expected[3]}] as its config implies — the file was altered or damaged; export it again`,
      );
    }
    perRow += slot.role === 'bias' ? 0 : heads * (positions as number) * headDim;
  }
  if (perRow > MAX_STATE_VALUES_PER_ROW) {
    throw new OnnxModelError(`${name}: its state holds ${perRow} values per batch row, over the limit of ${MAX_STATE_VALUES_PER_ROW} — the file was altered or damaged; export it again`);
  }
}
