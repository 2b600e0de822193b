import type { z } from 'zod';
import { type CoreConfig, ConfigError, parseConfig } from './config.js';
import type { Model } from './model.js';
import type { transformerXLSchema } from './transformer-xl.js';

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

/**
 * The config each model kind accepts (its schema's input: defaults may be left out), by kind name.
 * A package that registers kinds adds theirs by declaration merging, so {@link createModel} checks
 * a config literal's fields at compile time:
 *
 * ```ts
 * declare module '@staircase/core' {
 *   interface ModelConfigs {
 *     'my-kind': z.input<typeof myKindSchema>;
 *   }
 * }
 * ```
 *
 * Built in: `transformer-xl` (here), the staircase family (`@staircase/staircase`) and `ladder`
 * (`@staircase/ladder`), present once those packages are imported.
 */
export interface ModelConfigs {
  'transformer-xl': z.input<typeof transformerXLSchema>;
}

/** A kind whose config type is known (see {@link ModelConfigs}). */
export type KnownModelKind = keyof ModelConfigs;

/** The config of one known kind, `kind` included; with no argument, the union of all of them. */
export type ModelConfig<K extends KnownModelKind = KnownModelKind> = K extends KnownModelKind ? ModelConfigs[K] & { kind: K } : never;

/**
 * What {@link createModel} accepts for a config of type `C`: for a kind known to the type system,
 * that kind's fields and no others (a misspelt key, a wrong type or a missing field is a compile
 * error); a literal kind it does not know is an error naming the known ones. A config whose kind is
 * not a literal (read from a file, assembled at run time) is checked at run time only.
 */
export type CheckedModelConfig<C> = C extends { readonly kind: infer K }
  ? string extends K
    ? C
    : K extends KnownModelKind
      ? ModelConfig<K> & { readonly [X in Exclude<keyof C, keyof ModelConfig<K>>]: never }
      : { kind: KnownModelKind }
  : C;

/**
 * Validates a config against its kind's schema (defaults applied) and builds the model. A config
 * literal of a known kind is also checked at compile time ({@link CheckedModelConfig}); anything
 * else, e.g. JSON read from a file, is checked here and refused with a {@link ConfigError} naming
 * the field.
 */
export function createModel<const C extends object>(config: C & CheckedModelConfig<C>): Model {
  if (config === null || typeof config !== 'object' || typeof (config as { kind?: unknown }).kind !== 'string') {
    throw new ConfigError('config.kind: missing; name a model kind, e.g. "staircase"');
  }
  const kind = getModelKind((config as { kind: string }).kind);
  return kind.create(parseConfig(kind.schema, config));
}
