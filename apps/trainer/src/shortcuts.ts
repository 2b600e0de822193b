import type { Command } from 'commander';
import { number, wholeNumber } from './bench-options.js';
import { CONFIG_KEY_MEANINGS } from './config-keys.js';

/** A flag that stands for one `--set` key, e.g. `--lr 0.001` for `--set train.lr=0.001`. */
interface Shortcut {
  /** Commander's flags, e.g. `--lr <rate>`. */
  flags: string;
  /** The option's name in commander's parsed options. */
  name: string;
  /** The run-config key it sets. */
  key: string;
  parse: (value: string) => number;
  /** What the help says the default is. */
  default: string;
}

/** The shortcuts of `train`, `config` and `info`, as nanoGPT and Hugging Face scripts name them. */
export const SHORTCUTS: readonly Shortcut[] = [
  { flags: '--lr <rate>', name: 'lr', key: 'train.lr', parse: number, default: "the preset's" },
  { flags: '--batch-size <n>', name: 'batchSize', key: 'train.batch', parse: wholeNumber, default: "the preset's" },
  { flags: '--seed <n>', name: 'seed', key: 'train.seed', parse: wholeNumber, default: '0' },
  { flags: '--eval-every <n>', name: 'evalEvery', key: 'train.evalEvery', parse: wholeNumber, default: "the preset's" },
  { flags: '--workers <n>', name: 'workers', key: 'train.workers', parse: wholeNumber, default: '1' },
];

/** Adds the {@link SHORTCUTS} to a command, each described as the `--set` it stands for. */
export function addShortcuts(command: Command): Command {
  for (const s of SHORTCUTS) {
    const value = s.flags.split(' ')[1]!.replace(/[<>]/g, '').toUpperCase();
    command.option(s.flags, `${CONFIG_KEY_MEANINGS[s.key]}, = --set ${s.key}=${value} (default: ${s.default})`, s.parse);
  }
  return command;
}

/** The shortcuts given in commander's parsed options: each flag and the `--set` assignment it stands for. */
export function shortcutAssignments(options: Record<string, unknown>): { flag: string; assignment: string }[] {
  return SHORTCUTS.filter((s) => options[s.name] !== undefined).map((s) => ({ flag: s.flags.split(' ')[0]!, assignment: `${s.key}=${options[s.name]}` }));
}
