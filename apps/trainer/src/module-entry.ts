/**
 * The modules that register the built-in model kinds, for data-parallel training workers. One
 * implementation, `@staircase/benchmark`'s (its data-parallel measurement needs it too; the trainer
 * depends on it for `staircase bench`), loaded only when workers are asked for.
 */
export async function kindModuleUrls(): Promise<string[]> {
  return (await import('@staircase/benchmark')).kindModuleUrls();
}
