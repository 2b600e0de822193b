import { describe, expect, it } from 'vitest';
import { measurePairs, type PairTimer } from '../src/paired.js';
import type { PytorchSession } from '../src/pytorch.js';

// measurePairs with stand-in sides: the order of the runs, the idle before each, the ratios, and
// what happens when a side fails. No real timing is asserted: the stand-ins report fixed times.
function sides(oursMs: number, peerMs: number) {
  const log: { who: string; steps: number; at: number }[] = [];
  const closed: string[] = [];
  const ours: PairTimer = {
    label: 'ours',
    time: async (steps) => {
      log.push({ who: 'ours', steps, at: performance.now() });
      return oursMs * steps;
    },
    close: () => {
      closed.push('ours');
    },
  };
  const peer: PytorchSession = {
    torch: '0',
    blas: 'none',
    time: async (command, steps) => {
      log.push({ who: `peer ${command}`, steps, at: performance.now() });
      return peerMs * steps;
    },
    close: async () => {
      closed.push('peer');
    },
  };
  return { ours, peer, log, closed };
}

describe('measurePairs', () => {
  it('warms both sides up, then alternates which goes first, each run after the settle time', async () => {
    const { ours, peer, log, closed } = sides(10, 15);
    const result = await measurePairs('m', 'train', async () => ours, async () => peer, { pairs: 3, stepsPerRun: 2, warmup: 4, oursFirst: true, settleMs: 25 });
    expect(log.map((x) => `${x.who} ${x.steps}`)).toEqual([
      'ours 4',
      'peer train 4',
      'ours 2',
      'peer train 2',
      'peer train 2',
      'ours 2',
      'ours 2',
      'peer train 2',
    ]);
    // Every timed run starts at least the settle time after the previous call began (the stand-ins return at once).
    for (let k = 2; k < log.length; k++) expect(log[k]!.at - log[k - 1]!.at).toBeGreaterThanOrEqual(24);
    expect(result).toMatchObject({ model: 'm', what: 'train', ours: 'ours', stepsPerRun: 2, oursMs: [20, 20, 20], pytorchMs: [30, 30, 30], ratios: [1.5, 1.5, 1.5], value: 1.5 });
    expect(result.error).toBeUndefined();
    expect(closed).toEqual(['ours', 'peer']);
  });

  it('starts with the peer when asked, and takes the median of the pairs', async () => {
    const { ours, peer, log } = sides(10, 10);
    let k = 0;
    const varying: PytorchSession = { ...peer, time: async (command, steps) => (await peer.time(command, steps)) * [1, 3, 2][k++ % 3]! };
    const result = await measurePairs('m', 'eval', async () => ours, async () => varying, { pairs: 3, stepsPerRun: 1, warmup: 0, oursFirst: false, settleMs: 0 });
    expect(log.slice(2).map((x) => x.who)).toEqual(['peer eval', 'ours', 'ours', 'peer eval', 'peer eval', 'ours']);
    expect(result.ratios).toEqual([3, 2, 1]);
    expect(result.value).toBe(2);
  });

  it('reports a side that fails to open, and closes the other', async () => {
    const { ours, closed } = sides(10, 10);
    const result = await measurePairs(
      'm',
      'eval',
      async () => ours,
      async () => {
        throw new Error('run.py serve ended (exit 1): no torch\nmore');
      },
      { pairs: 2, stepsPerRun: 1, warmup: 0, oursFirst: true, settleMs: 0 },
    );
    expect(result).toMatchObject({ value: null, ratios: [], error: 'run.py serve ended (exit 1): no torch' });
    expect(closed).toEqual(['ours']);
  });
});
