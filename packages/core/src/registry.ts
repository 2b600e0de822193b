import type { z } from 'zod';
import { type CoreConfig, ConfigError, parseConfig } from './config.js';
import type { Model } from './model.js';

/**
 * A model kind that configs and the CLI can name. Another package adds a kind by calling
 * {@link registerModelKind}; nothing in this package needs editing.
 */
export interface ModelKind<C extends CoreConfig = CoreConfig> {
  /** The name configs use in `kind`, e.g. `staircase`. */
  readonly name: string;
  /** One line for `staircase info` and docs. */
  readonly description: string;
  /** Validates a whole config of this kind (core fields included) and applies defaults. */
  readonly schema: z.ZodType<C>;
  /** Builds the model from a validated config. */
  create(config: C): Model<C>;
}

// One registry per process even when both the ESM and CJS builds of this package are loaded
// (the dual-package hazard): it lives on globalThis under a registered symbol.
const KEY = Symbol.for('@staircase/core/model-kinds');
type Registry = Map<string, ModelKind<CoreConfig>>;
const registry: Registry = ((globalThis as Record<symbol, unknown>)[KEY] as Registry | undefined) ?? new Map();
(globalThis as Record<symbol, unknown>)[KEY] = registry;

/** Adds (or replaces) a model kind. Returns the kind for chaining. */
export function registerModelKind<C extends CoreConfig>(kind: ModelKind<C>): ModelKind<C> {
  registry.set(kind.name, kind as unknown as ModelKind<CoreConfig>);
  return kind;
}

/** Names of the registered kinds, sorted. */
export function listModelKinds(): string[] {
  return [...registry.keys()].sort();
}

/** The kind registered under `name`, or a {@link ConfigError} listing the known ones. */
export function getModelKind(name: string): ModelKind<CoreConfig> {
  const kind = registry.get(name);
  if (!kind) {
    throw new ConfigError(
      `config.kind: unknown model kind "${name}"; registered kinds: ${listModelKinds().join(', ') || 'none'} ` +
        '(import @staircase/staircase or @staircase/ladder to register theirs)',
    );
  }
  return kind;
}

/** Validates a raw config object against its kind's schema and builds the model. */
export function createModel(config: unknown): Model {
  if (config === null || typeof config !== 'object' || typeof (config as { kind?: unknown }).kind !== 'string') {
    throw new ConfigError('config.kind: missing; name a model kind, e.g. "staircase"');
  }
  const kind = getModelKind((config as { kind: string }).kind);
  return kind.create(parseConfig(kind.schema, config));
}
