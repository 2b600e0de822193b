/**
 * Parsing ONNX Runtime's verbose session log for node placement. What ORT 1.30 prints (both
 * onnxruntime-node, on stderr, and onnxruntime-web, through console.error), at log severity 0:
 *
 *   [V:onnxruntime:, session_state.cc:1377 VerifyEachNodeIsAssignedToAnEp] Node placements
 *   [V:onnxruntime:, session_state.cc:1380 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 10
 *
 * and, when nodes are split between providers, one block per provider:
 *
 *   ... VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2
 *   ... VerifyEachNodeIsAssignedToAnEp]   Add (add_y)
 *
 * The counts are of the graph after ORT's optimisations (fusions change them), and the "All nodes"
 * form names no nodes.
 */
import type { PlacedNode } from './types.js';

/** What one log says about placement. */
export interface ParsedPlacement {
  /** True when a "Node placements" block was found. */
  reported: boolean;
  /** Providers that received every node ("All nodes placed on"), with the optimised node count. */
  all: { provider: string; count: number }[];
  /** Per-provider listings (split placement). */
  split: { provider: string; count: number; nodes: { opType: string; name: string }[] }[];
  /** ORT warning lines (`[W:`), without the timestamp. */
  warnings: string[];
}

const ALL = /All nodes placed on \[([^\]]+)\]\. Number of nodes: (\d+)/;
const SPLIT = /Node\(s\) placed on \[([^\]]+)\]\. Number of nodes: (\d+)/;
const NODE = /VerifyEachNodeIsAssignedToAnEp\]\s+(\S+) \((.*)\)\s*$/;
const WARNING = /\[W:[^\]]*\]\s*(.*)$/;

/** Parses ORT's log text (stdout and stderr may be passed separately and merged with {@link mergePlacement}). */
export function parsePlacementLog(text: string): ParsedPlacement {
  const out: ParsedPlacement = { reported: false, all: [], split: [], warnings: [] };
  let current: ParsedPlacement['split'][number] | undefined;
  // onnxruntime-web colours warnings with ANSI escapes; they are not part of the message.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the ESC character is the point
  const clean = text.replace(/\u001b\[[0-9;]*m/g, '');
  for (const line of clean.split(/\r?\n/)) {
    const w = WARNING.exec(line);
    if (w) out.warnings.push(w[1]!.trim() || line.trim());
    if (line.includes('Node placements')) {
      out.reported = true;
      current = undefined;
      continue;
    }
    const all = ALL.exec(line);
    if (all) {
      out.reported = true;
      out.all.push({ provider: all[1]!, count: Number(all[2]) });
      current = undefined;
      continue;
    }
    const split = SPLIT.exec(line);
    if (split) {
      out.reported = true;
      current = { provider: split[1]!, count: Number(split[2]), nodes: [] };
      out.split.push(current);
      continue;
    }
    const node = current ? NODE.exec(line) : null;
    if (current && node) current.nodes.push({ opType: node[1]!, name: node[2]! });
    else if (line.includes('VerifyEachNodeIsAssignedToAnEp')) current = undefined;
  }
  return out;
}

/** Merges the parses of several streams. */
export function mergePlacement(parts: ParsedPlacement[]): ParsedPlacement {
  return {
    reported: parts.some((p) => p.reported),
    all: parts.flatMap((p) => p.all),
    split: parts.flatMap((p) => p.split),
    warnings: parts.flatMap((p) => p.warnings),
  };
}

/**
 * Turns a parse into node lists. `modelNodes` (the model's own nodes) stand in when ORT says all
 * nodes went to one provider without naming them; a note says so when ORT's optimised count differs.
 */
export function placementNodes(
  parsed: ParsedPlacement,
  modelNodes: readonly { name: string; opType: string }[],
): { nodes: PlacedNode[]; notes: string[] } {
  const notes: string[] = [];
  const nodes: PlacedNode[] = [];
  for (const block of parsed.split) {
    for (const n of block.nodes) nodes.push({ name: n.name, opType: n.opType, provider: block.provider });
    if (block.nodes.length !== block.count) {
      notes.push(`placement: ORT reported ${block.count} node(s) on ${block.provider} but listed ${block.nodes.length}`);
    }
  }
  // The top-level graph's block comes first; later ones are subgraphs (If/Loop bodies).
  const top = parsed.all[0];
  if (parsed.split.length === 0 && top) {
    for (const n of modelNodes) nodes.push({ name: n.name, opType: n.opType, provider: top.provider });
    if (top.count !== modelNodes.length) {
      notes.push(
        `placement: ORT optimised the graph to ${top.count} node(s) (the model has ${modelNodes.length}) and placed all of them on ${top.provider}; the model's nodes are listed`,
      );
    }
  }
  return { nodes, notes };
}
