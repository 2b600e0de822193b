/**
 * Compile-time checks of model configs and dataset specs (run by this package's `typecheck`, i.e. `tsc`): every
 * `@ts-expect-error` below must be an error, or the compile fails. Not executed.
 */
import { type ModelConfig, createModel } from '@staircase/core';
import { type DatasetSpec, openDataset } from '@staircase/data';
import '@staircase/ladder';
import '@staircase/staircase';

const core = { vocabSize: 64, dModel: 32, heads: 2, layers: 2, dFF: 64 } as const;

export function configTypes(): void {
  // Every kind, with and without optional fields.
  createModel({ ...core, kind: 'transformer-xl', memory: 32 });
  createModel({ ...core, kind: 'staircase', chunk: 8, passes: 4, position: { type: 'rope', base: 10000 } });
  createModel({ ...core, kind: 'cached-staircase', cacheChunks: 2 });
  createModel({ ...core, kind: 'global-staircase' });
  createModel({ ...core, kind: 'staircase-ladder', repeats: 2 });
  createModel({ ...core, kind: 'ladder', repeats: 3 });

  // @ts-expect-error a misspelt field
  createModel({ ...core, kind: 'staircase', chunks: 8 });
  // @ts-expect-error a field of another kind (cacheChunks is the Cached Staircase's)
  createModel({ ...core, kind: 'staircase', cacheChunks: 2 });
  // @ts-expect-error a wrong type
  createModel({ ...core, kind: 'staircase', passes: '4' });
  // @ts-expect-error a misspelt kind
  createModel({ ...core, kind: 'stair-case' });
  // @ts-expect-error a required core field missing (dFF)
  createModel({ kind: 'ladder', vocabSize: 64, dModel: 32, heads: 2, layers: 2 });
  // @ts-expect-error an unknown position type
  createModel({ ...core, kind: 'transformer-xl', position: { type: 'absolute' } });

  // A config assembled at run time (from JSON, a CLI) is checked at run time only.
  const fromFile: Record<string, unknown> = JSON.parse('{"kind": "staircase"}');
  createModel(fromFile);
  // A typed variable of the union works as a literal does.
  const typed: ModelConfig<'staircase'> = { ...core, kind: 'staircase', chunk: 16 };
  createModel(typed);
  const any: ModelConfig = typed;
  createModel(any);
}

export async function datasetSpecTypes(flag: string): Promise<void> {
  await openDataset('random-walk', { task: { ringSize: 8 } });
  await openDataset('algorithmic:5var');
  await openDataset('text:corpus/a.txt,corpus/b');
  await openDataset('enwik8:/data/enwik8');
  // @ts-expect-error a misspelt spec
  await openDataset('random_walk');
  // @ts-expect-error a task the package does not have
  await openDataset('algorithmic:4var');
  // A spec known only at run time is checked at run time.
  await openDataset(flag);
  const spec: DatasetSpec = 'brown';
  await openDataset(spec);
}
