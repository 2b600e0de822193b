import { stringify } from 'yaml';
import { CONFIG_KEY_MEANINGS, modelKeys, runConfigKeys } from './config-keys.js';

/** A value as YAML on one line: scalars plain or quoted as needed, objects in flow style. */
const inline = (value: unknown) => stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();

/** Options of {@link formatConfigYaml}. */
export interface ConfigYamlOptions {
  /** Each key's meaning as a comment, and the keys not set as commented-out lines. Default true. */
  explain?: boolean;
  /** Lines before the config (written as comments). */
  header?: readonly string[];
}

/**
 * A resolved run config as readable YAML that `--config` reads back: one key per line in the
 * sections' order; with `explain`, each key's meaning as a comment beside it and every key
 * `--set` accepts that is not set as a commented-out line.
 *
 * @example
 * ```ts
 * formatConfigYaml({ preset: 'tiny', model: { kind: 'staircase', dModel: 32 }, train: { steps: 12 } }, { explain: false });
 * // 'preset: tiny\nmodel:\n  kind: staircase\n  dModel: 32\ntrain:\n  steps: 12\n'
 * ```
 */
export function formatConfigYaml(config: Readonly<Record<string, unknown>>, options: ConfigYamlOptions = {}): string {
  const explain = options.explain ?? true;
  const kind = String((config.model as { kind?: unknown } | undefined)?.kind ?? '');
  const known = [...runConfigKeys(), ...modelKeys(kind)];
  const rows: { text: string; comment?: string }[] = (options.header ?? []).map((h) => ({ text: `# ${h}` }));
  const meaning = (path: string) => (explain ? CONFIG_KEY_MEANINGS[path] : undefined);
  const row = (text: string, path: string) => {
    const comment = meaning(path);
    rows.push(comment ? { text, comment } : { text });
  };
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      row(`${key}: ${inline(value)}`, key);
      continue;
    }
    rows.push({ text: `${key}:` });
    const section = value as Record<string, unknown>;
    const keys = known.filter((p) => p.startsWith(`${key}.`)).map((p) => p.slice(key.length + 1));
    const ordered = [...keys.filter((k) => k in section), ...Object.keys(section).filter((k) => !keys.includes(k))];
    for (const k of ordered) if (section[k] !== undefined) row(`  ${k}: ${inline(section[k])}`, `${key}.${k}`);
    if (explain) for (const k of keys) if (section[k] === undefined && !HIDDEN.has(`${key}.${k}`)) row(`  # ${k}:`, `${key}.${k}`);
  }
  const width = Math.min(40, Math.max(...rows.filter((r) => r.comment).map((r) => r.text.length), 0));
  return rows.map((r) => (r.comment ? `${r.text.padEnd(width)}  # ${r.comment}` : r.text)).join('\n').concat('\n');
}

/** Keys not offered as unset lines: they are not the user's to set (the data and train.seed fix them). */
const HIDDEN = new Set(['model.vocabSize', 'model.seed']);
