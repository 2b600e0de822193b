/** Facts about the host, kept in one place so browser and Node paths do not diverge silently. */

/** True in Node (and Node-compatible runtimes), false in browsers and web workers. */
export function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** Logical cores: what "all cores" means for the threads default. */
export async function hardwareThreads(): Promise<number> {
  if (isNode()) {
    const os = await import('node:os');
    return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, n ?? 1);
}
