/** The three splits every dataset has. */
export type SplitName = 'train' | 'valid' | 'test';

/** Split names in order. */
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'valid', 'test'];
