import { runConfigSchema } from './run-config.js';
import { KIND_FIELDS } from './presets.js';

/**
 * What every key of a run config means, by dotted path (`--set PATH=VALUE` sets it). The run
 * config's own sections come from its schema (a test checks each has a meaning here); the model
 * section's keys are the core stack's and each kind's (see {@link KIND_FIELDS}).
 */
export const CONFIG_KEY_MEANINGS: Readonly<Record<string, string>> = {
  preset: 'the preset the model and train defaults come from: tiny | small | base',
  backend: 'TensorFlow.js backend: auto | tfjs-node-gpu | tfjs-node | webgpu | wasm | cpu',

  'model.kind': 'model kind: transformer-xl | staircase | cached-staircase | global-staircase | ladder | staircase-ladder',
  'model.vocabSize': 'input/output vocabulary size: set from the data, not by you',
  'model.dModel': 'width of the residual stream (embedding size)',
  'model.heads': 'attention heads per layer (dModel must be divisible by heads)',
  'model.layers': 'Transformer layers of the core stack',
  'model.dFF': 'hidden width of each feed-forward block',
  'model.dropout': 'dropout on residual branches while training (0 = off)',
  'model.attnDropout': 'dropout on attention weights while training (0 = off)',
  'model.activation': 'feed-forward activation: relu | gelu',
  'model.position': 'positions: { type: relative, maxDistance: N } (learned relative term) or { type: rope, base: 10000 }',
  'model.layerNormEps': 'epsilon of layer normalisation',
  'model.seed': 'seed of the weight initialisation: train.seed sets it for a run',
  'model.memory': 'positions of per-layer memory each token attends to before itself (transformer-xl, ladder)',
  'model.repeats': 'applications R of the core per pass, with shared weights (ladder, staircase-ladder)',
  'model.chunk': 'forward step F: tokens that enter per staircase row',
  'model.passes': 'passes n of every chunk through the core (staircase size n·F)',
  'model.cacheChunks': 'finished chunks k whose final outputs every row attends to (cached-staircase)',

  'data.spec': 'the data: brown | text:PATH[,PATH...] | enwik8:PATH | algorithmic:3var | algorithmic:5var | random-walk',
  'data.tokenizer': 'brown / text: byte (default) | char | bpe (tasks are word-level, enwik8 byte-level)',
  'data.seed': 'seed of task generation and of the data split',
  'data.brownDocuments': 'brown: use only the first N documents (quick runs; default all 500)',
  'data.bpeVocabSize': 'data.tokenizer bpe: the vocabulary size to learn',
  'data.checkContent': 'enwik8: check the file starts with <mediawiki (false for stand-ins)',
  'data.task': 'task parameters, e.g. { episodeLength: 128 } (random-walk: ringSize, queryInterval, episodeLength; algorithmic: statements, maxValue)',
  'data.episodes': 'tasks: episodes per split, e.g. { train: 10000, valid: 1000, test: 1000 }',

  'train.steps': 'training steps (updates)',
  'train.scheduleSteps': 'steps the cosine learning-rate schedule spans (default train.steps)',
  'train.batch': 'rows per batch',
  'train.length': 'positions per row of a batch (the segment length; state carries across segments)',
  'train.lr': 'peak learning rate (AdamW, linear warm-up then cosine decay)',
  'train.warmupSteps': 'steps of linear learning-rate warm-up',
  'train.weightDecay': 'AdamW weight decay',
  'train.clipNorm': 'global gradient-norm clipping (0 = off)',
  'train.accumulation': 'micro-batches per update (gradient accumulation); train.batch must divide by it',
  'train.workers': 'threads sharing each batch (data parallel; wasm and cpu backends)',
  'train.evalEvery': 'steps between periodic validations',
  'train.evalBatches': 'validation batches per periodic evaluation (eval scores the whole split)',
  'train.checkpointEvery': 'steps between checkpoints (latest.ckpt)',
  'train.seed': 'seed of the weight initialisation, the batch order and dropout',
  'train.maxBadSteps': 'consecutive non-finite steps after which the run stops',

  'sample.tokens': 'tokens sampled at the end of training (and the default of sample --tokens)',
  'sample.temperature': 'sampling temperature (0 = greedy)',
  'sample.topK': 'keep the k most likely tokens (0 = all)',
  'sample.topP': 'nucleus sampling threshold in (0, 1] (1 = off)',
  'sample.prompt': 'text the sample continues',
};

/** The keys of the run config's own sections (`data`, `train`, `sample`) and its top-level scalars, from the schema. */
export function runConfigKeys(): string[] {
  const shape = runConfigSchema.shape;
  const section = (name: 'data' | 'train' | 'sample') => {
    // `prefault({})` wraps the object schema; unwrap to reach its keys.
    const s = shape[name] as unknown as { shape?: Record<string, unknown>; unwrap?: () => { shape: Record<string, unknown> } };
    return Object.keys(s.shape ?? s.unwrap!().shape).map((k) => `${name}.${k}`);
  };
  return ['preset', 'backend', ...section('data'), ...section('train'), ...section('sample')];
}

/** The model keys a kind takes: the core stack's and the kind's own. */
export function modelKeys(kind: string): string[] {
  const core = ['kind', 'vocabSize', 'dModel', 'heads', 'layers', 'dFF', 'dropout', 'attnDropout', 'activation', 'position', 'layerNormEps', 'seed'];
  return [...core, ...(KIND_FIELDS[kind] ?? [])].map((k) => `model.${k}`);
}
