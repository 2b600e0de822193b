"""The Staircase / Ladder model family in PyTorch, written from our TypeScript code.

This is a *reference peer*: a benchmark baseline and a numeric cross-check of the TypeScript
models, never used by the packages. Every function mirrors one in
packages/core/src/{attention,block,windowed,transformer-xl,params,config,loss}.ts,
packages/staircase/src/{forward,schedule,kinds}.ts and packages/ladder/src/ladder.ts, with the
same parameter names and shapes (`coreParamSpecs`; matMul weights are [in, out]). When the
TypeScript code changes, change this file to match: `tools/bench/test/reference.test.ts` compares
logits of both over segments carrying state.

Tensors: hidden states are [B, T, d]; keys/values are [B, H, T, hd]; a K/V block is a `KV` tuple.
States are plain Python objects of detached tensors (no gradient flows into carried state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional

import torch
import torch.nn.functional as F

Params = Dict[str, torch.Tensor]

# --------------------------------------------------------------------------------------------
# Configuration: the zod schemas' fields and defaults (core/config.ts, staircase/kinds.ts,
# ladder/ladder.ts, core/transformer-xl.ts). Unknown keys are refused, as the strict schemas do,
# so that a field added on the TypeScript side is noticed here instead of silently ignored.
# --------------------------------------------------------------------------------------------

CORE_DEFAULTS = {
    "dropout": 0.0,
    "attnDropout": 0.0,
    "activation": "relu",
    "position": {"type": "relative", "maxDistance": 512},
    "layerNormEps": 1e-5,
    "seed": 0,
}
CORE_REQUIRED = ("kind", "vocabSize", "dModel", "heads", "layers", "dFF")
STEP_DEFAULTS = {"chunk": 64, "passes": 2}
KIND_DEFAULTS = {
    "transformer-xl": {"memory": 64},
    "ladder": {"repeats": 2, "memory": 64},
    "staircase": dict(STEP_DEFAULTS),
    "cached-staircase": {**STEP_DEFAULTS, "cacheChunks": 2},
    "global-staircase": dict(STEP_DEFAULTS),
    "staircase-ladder": {**STEP_DEFAULTS, "repeats": 2},
}
KINDS = tuple(KIND_DEFAULTS)


def parse_config(raw: dict) -> dict:
    """Applies the schema defaults to a model config object and checks what the schemas check."""
    kind = raw.get("kind")
    if kind not in KIND_DEFAULTS:
        raise ValueError(f"config.kind: got {kind!r}, expected one of {', '.join(KINDS)}")
    for key in CORE_REQUIRED:
        if key not in raw:
            raise ValueError(f"config.{key}: missing")
    allowed = set(CORE_REQUIRED) | set(CORE_DEFAULTS) | set(KIND_DEFAULTS[kind])
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"config: unknown key(s) {', '.join(unknown)} for kind {kind}")
    cfg = {**CORE_DEFAULTS, **KIND_DEFAULTS[kind], **raw}
    pos = dict(cfg["position"])
    if pos.get("type") == "relative":
        pos.setdefault("maxDistance", 512)
    elif pos.get("type") == "rope":
        pos.setdefault("base", 10000)
    else:
        raise ValueError(f"config.position.type: got {pos.get('type')!r}, expected relative or rope")
    cfg["position"] = pos
    if cfg["dModel"] % cfg["heads"] != 0:
        raise ValueError("config.heads: dModel must be divisible by heads")
    if pos["type"] == "rope" and (cfg["dModel"] // cfg["heads"]) % 2 != 0:
        raise ValueError("config.position: RoPE needs an even head width")
    return cfg


def head_dim(cfg: dict) -> int:
    return cfg["dModel"] // cfg["heads"]


@dataclass(frozen=True)
class ParamSpec:
    name: str
    shape: tuple
    decay: bool


def param_specs(cfg: dict) -> List[ParamSpec]:
    """core/params.ts `coreParamSpecs`: names, shapes, and which parameters AdamW decays."""
    d, dff, V, L = cfg["dModel"], cfg["dFF"], cfg["vocabSize"], cfg["layers"]
    specs = [ParamSpec("embed", (V, d), False)]
    if cfg["position"]["type"] == "relative":
        specs.append(ParamSpec("pos.rel", (head_dim(cfg), cfg["position"]["maxDistance"]), False))
    for l in range(L):
        p = f"layers.{l}"
        specs += [
            ParamSpec(f"{p}.ln1.g", (d,), False),
            ParamSpec(f"{p}.ln1.b", (d,), False),
            ParamSpec(f"{p}.attn.wq", (d, d), True),
            ParamSpec(f"{p}.attn.wk", (d, d), True),
            ParamSpec(f"{p}.attn.wv", (d, d), True),
            ParamSpec(f"{p}.attn.wo", (d, d), True),
            ParamSpec(f"{p}.ln2.g", (d,), False),
            ParamSpec(f"{p}.ln2.b", (d,), False),
            ParamSpec(f"{p}.ffn.w1", (d, dff), True),
            ParamSpec(f"{p}.ffn.b1", (dff,), False),
            ParamSpec(f"{p}.ffn.w2", (dff, d), True),
            ParamSpec(f"{p}.ffn.b2", (d,), False),
        ]
    specs += [
        ParamSpec("lnf.g", (d,), False),
        ParamSpec("lnf.b", (d,), False),
        ParamSpec("out.w", (d, V), True),
        ParamSpec("out.b", (V,), False),
    ]
    return specs


def init_params(cfg: dict, generator: Optional[torch.Generator] = None) -> Params:
    """Fresh parameters with the TypeScript init's distributions (not its values: benchmarks only).

    Cross-checks load the TypeScript side's values instead (see tensor_io.py)."""
    d, dff, L = cfg["dModel"], cfg["dFF"], cfg["layers"]
    residual = 1 / math.sqrt(2 * L)
    out: Params = {}
    for s in param_specs(cfg):
        leaf = s.name.split(".")[-1]
        if leaf == "g":
            t = torch.ones(s.shape)
        elif leaf.startswith("b") or s.name == "out.b":
            t = torch.zeros(s.shape)
        else:
            std = {"embed": 1.0, "rel": 0.02}.get(leaf, 1 / math.sqrt(s.shape[0]))
            if leaf in ("wo", "w2"):
                std *= residual
            t = torch.randn(s.shape, generator=generator) * std
        out[s.name] = t.float()
    return out


def check_params(cfg: dict, params: Params) -> None:
    """Refuses parameters that do not fit the config (a missing name or a wrong shape)."""
    for s in param_specs(cfg):
        if s.name not in params:
            raise ValueError(f'missing parameter "{s.name}"')
        if tuple(params[s.name].shape) != s.shape:
            raise ValueError(f'parameter "{s.name}" has shape {list(params[s.name].shape)}, expected {list(s.shape)}')


# --------------------------------------------------------------------------------------------
# Attention (core/attention.ts)
# --------------------------------------------------------------------------------------------


class KV(NamedTuple):
    k: torch.Tensor  # [B, H, T, hd]
    v: torch.Tensor


def kv_len(kv: KV) -> int:
    return kv.k.shape[2]


def concat_kv(blocks) -> Optional[KV]:
    """K/V of consecutive positions, oldest first; None and empty blocks are skipped."""
    present = [b for b in blocks if b is not None and kv_len(b) > 0]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return KV(torch.cat([b.k for b in present], 2), torch.cat([b.v for b in present], 2))


def slice_kv(kv: KV, start: int, length: int) -> KV:
    return KV(kv.k[:, :, start : start + length], kv.v[:, :, start : start + length])


def detach_kv(kv: KV) -> KV:
    return KV(kv.k.detach(), kv.v.detach())


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, t, d = x.shape
    return x.reshape(b, t, heads, d // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    b, h, t, hd = x.shape
    return x.transpose(1, 2).reshape(b, t, h * hd)


_rope_cache: Dict[tuple, tuple] = {}


def rotary_tables(start: int, length: int, hd: int, base: float):
    """cos/sin of `pos · base^(-2i/hd)` computed in float64, then float32 (core `rotaryTables`)."""
    key = (start, length, hd, base)
    hit = _rope_cache.get(key)
    if hit is not None:
        return hit
    half = hd // 2
    # The same double-precision expression as the TypeScript (`base ** ((-2 * i) / headDim)`).
    inv = torch.tensor([base ** ((-2 * i) / hd) for i in range(half)], dtype=torch.float64)
    pos = torch.arange(start, start + length, dtype=torch.float64)
    angle = pos[:, None] * inv[None, :]
    tables = (torch.cos(angle).float(), torch.sin(angle).float())
    if len(_rope_cache) > 4096:  # streaming visits ever new positions: keep the cache bounded
        _rope_cache.clear()
    _rope_cache[key] = tables
    return tables


def rope(x: torch.Tensor, start: int, base: float) -> torch.Tensor:
    """Rotates the two halves of each head (not interleaved pairs), as core's `rope`."""
    hd = x.shape[-1]
    half = hd // 2
    cos, sin = rotary_tables(start, x.shape[2], hd, base)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


_index_cache: Dict[tuple, torch.Tensor] = {}


def _distance_index(tq: int, tk: int, max_distance: int) -> torch.Tensor:
    """`clip(δ + i − j, 0, maxDistance − 1)` with `δ = Tk − Tq`: the query–key distance of queries
    at the last Tq of Tk contiguous key positions (negative distances are masked elsewhere)."""
    key = (tq, tk, max_distance)
    hit = _index_cache.get(key)
    if hit is None:
        i = torch.arange(tq)[:, None]
        j = torch.arange(tk)[None, :]
        hit = (tk - tq + i - j).clamp(0, max_distance - 1)
        _index_cache[key] = hit
    return hit


def relative_scores(q: torch.Tensor, table: torch.Tensor, tk: int) -> torch.Tensor:
    """The paper's learned relative term `q_i · P[:, d(i, j)]` ([B, H, Tq, Tk]).

    The TypeScript multiplies the queries with the table columns of every distance the block can
    hold and shifts rows into place (the skew trick); here we multiply with the whole table and
    gather each (i, j)'s distance: the same dot products, a simpler formulation."""
    b, h, tq, _ = q.shape
    g = q @ table  # [B, H, Tq, maxDistance]
    index = _distance_index(tq, tk, table.shape[1])
    return torch.gather(g, 3, index.expand(b, h, tq, tk))


_mask_cache: Dict[tuple, Optional[torch.Tensor]] = {}


def attention_mask(tq: int, tk: int, window: float = math.inf) -> Optional[torch.Tensor]:
    """Additive mask [Tq, Tk]: −1e9 where `d < 0` (future) or `d > window`; None if nothing is masked.

    Additive −1e9 rather than −inf, like the TypeScript, so that both softmaxes see the same sums."""
    key = (tq, tk, window)
    if key in _mask_cache:
        return _mask_cache[key]
    i = torch.arange(tq)[:, None]
    j = torch.arange(tk)[None, :]
    d = tk - tq + i - j
    hidden = (d < 0) | (d > window)
    mask = torch.where(hidden, torch.tensor(-1e9), torch.tensor(0.0)) if bool(hidden.any()) else None
    _mask_cache[key] = mask
    return mask


def attend(params: Params, cfg: dict, layer: int, q: torch.Tensor, kv: KV, window: float, training: bool) -> torch.Tensor:
    """Multi-head attention of queries (the last Tq of the key run) over `kv`, projected by `wo`."""
    tq, hd = q.shape[2], q.shape[3]
    tk = kv_len(kv)
    q = q * (1 / math.sqrt(hd))  # scaling q costs Tk/hd times less than scaling the scores
    scores = q @ kv.k.transpose(2, 3)
    if cfg["position"]["type"] == "relative":
        scores = scores + relative_scores(q, params["pos.rel"], tk)
    mask = attention_mask(tq, tk, window)
    if mask is not None:
        scores = scores + mask
    probs = torch.softmax(scores, -1)
    if training and cfg["attnDropout"] > 0:
        probs = F.dropout(probs, cfg["attnDropout"])
    return merge_heads(probs @ kv.v) @ params[f"layers.{layer}.attn.wo"]


def project(params: Params, cfg: dict, layer: int, name: str, x: torch.Tensor, start: int) -> torch.Tensor:
    """Heads of `x @ W_name`, rotated by RoPE (queries and keys only) at absolute position `start`."""
    heads = split_heads(x @ params[f"layers.{layer}.attn.{name}"], cfg["heads"])
    if cfg["position"]["type"] == "rope" and name != "wv":
        heads = rope(heads, start, cfg["position"]["base"])
    return heads


# --------------------------------------------------------------------------------------------
# The pre-norm layer (core/block.ts)
# --------------------------------------------------------------------------------------------


def layer_norm(params: Params, name: str, x: torch.Tensor, eps: float) -> torch.Tensor:
    # Biased variance over the last axis, as the TypeScript backend computes it.
    return F.layer_norm(x, (x.shape[-1],), params[f"{name}.g"], params[f"{name}.b"], eps)


def _drop(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    return F.dropout(x, rate) if training and rate > 0 else x


def feed_forward(params: Params, cfg: dict, layer: int, x: torch.Tensor, training: bool) -> torch.Tensor:
    p = f"layers.{layer}.ffn"
    h = x @ params[f"{p}.w1"] + params[f"{p}.b1"]
    # GELU is the tanh approximation on our side (ops.gelu), not the exact erf form.
    h = F.gelu(h, approximate="tanh") if cfg["activation"] == "gelu" else torch.relu(h)
    h = _drop(h, cfg["dropout"], training)
    return h @ params[f"{p}.w2"] + params[f"{p}.b2"]


def layer_kv(params: Params, cfg: dict, layer: int, h: torch.Tensor, start: int) -> KV:
    """K/V layer `layer` derives from hidden states `h` (LN1, then the K/V projections)."""
    x = layer_norm(params, f"layers.{layer}.ln1", h, cfg["layerNormEps"])
    return KV(project(params, cfg, layer, "wk", x, start), project(params, cfg, layer, "wv", x, start))


def layer_forward(params: Params, cfg: dict, layer: int, h: torch.Tensor, start: int, past: Optional[KV], window: float, training: bool):
    """One pre-norm layer over queries `h` at positions [start, start+Tq), after `past` K/V.

    Returns the new hidden state and the queries' own K/V (which later tokens attend to)."""
    x = layer_norm(params, f"layers.{layer}.ln1", h, cfg["layerNormEps"])
    q = project(params, cfg, layer, "wq", x, start)
    kv = KV(project(params, cfg, layer, "wk", x, start), project(params, cfg, layer, "wv", x, start))
    context = concat_kv([past, kv])
    out = h + _drop(attend(params, cfg, layer, q, context, window, training), cfg["dropout"], training)
    f = feed_forward(params, cfg, layer, layer_norm(params, f"layers.{layer}.ln2", out, cfg["layerNormEps"]), training)
    return out + _drop(f, cfg["dropout"], training), kv


def embed(params: Params, tokens: torch.Tensor) -> torch.Tensor:
    return params["embed"][tokens]


def output_head(params: Params, cfg: dict, h: torch.Tensor) -> torch.Tensor:
    return layer_norm(params, "lnf", h, cfg["layerNormEps"]) @ params["out.w"] + params["out.b"]


class Int8Weight:
    """A `[in, out]` weight as int8 for `x @ w` without gradients, the scheme of backend-onnx's
    `quantize: 'int8'` export: one symmetric scale per output column (max |w| / 63: 7-bit codes,
    which no CPU's uint8 x int8 pair sums can saturate; full-range codes moved the logits by 30 % on
    an AVX2 CPU without VNNI), the activation quantized per call to uint8 over its own range
    (torch's dynamic quantized linear, which runs on torch's intra-op threads, not OpenBLAS's)."""

    def __init__(self, w: torch.Tensor):
        self.shape = w.shape
        wt = w.detach().t().contiguous()  # [out, in]: one scale per row here = per output column
        scales = (wt.abs().amax(1) / 63).clamp_min(1e-12).double()
        q = torch.quantize_per_channel(wt, scales, torch.zeros(wt.shape[0], dtype=torch.long), 0, torch.qint8)
        self.packed = torch.ops.quantized.linear_prepack(q, None)

    def __rmatmul__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(x, self.packed, False)


def int8_weights(params: Params) -> dict:
    """`params` with every product's weight (projections, FFN, output head) as an `Int8Weight`;
    the embedding (indexed) and the relative-position table (gathered first) stay float, as in
    the int8 ONNX export."""
    return {k: Int8Weight(v) if v.dim() == 2 and k not in ("embed", "pos.rel") else v for k, v in params.items()}


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """core/loss.ts with every position scored: mean negative log-likelihood in nats."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


@dataclass
class State:
    """core's ModelState: the kind, the batch, tokens consumed so far, and the kind's own data."""

    kind: str
    batch: int
    position: int
    data: object


def _check_state(kind: str, batch: int, state: Optional[State]) -> None:
    if state is None:
        return
    if state.kind != kind:
        raise ValueError(f'state was made by a "{state.kind}" model, not "{kind}"')
    if state.batch != batch:
        raise ValueError(f"state holds {state.batch} rows but the tokens have {batch}")


# --------------------------------------------------------------------------------------------
# Transformer-XL and Ladder (core/windowed.ts)
# --------------------------------------------------------------------------------------------


def _keep_last(kv: Optional[KV], n: int) -> Optional[KV]:
    if kv is None or n == 0:
        return None
    length = kv_len(kv)
    return detach_kv(kv if length <= n else slice_kv(kv, length - n, n))


def windowed_forward(params: Params, cfg: dict, memory: int, repeats: int, tokens: torch.Tensor, state: Optional[State], training: bool):
    """`repeats` applications of the L-layer stack; each application attends over a sliding window
    of `memory` positions of its own inputs (carried across calls, detached) plus the current ones."""
    kind = cfg["kind"]
    batch, length = tokens.shape
    _check_state(kind, batch, state)
    start = state.position if state else 0
    memories = state.data if state else []
    L = cfg["layers"]
    h = embed(params, tokens)
    nxt = []
    for a in range(repeats * L):
        past = memories[a] if a < len(memories) else None
        h, kv = layer_forward(params, cfg, a % L, h, start, past, memory, training)
        nxt.append(_keep_last(concat_kv([past, kv]), memory))
    return output_head(params, cfg, h), State(kind, batch, start + length, nxt)


# --------------------------------------------------------------------------------------------
# The staircase schedule (staircase/schedule.ts): pure index arithmetic
# --------------------------------------------------------------------------------------------


class RowEntry(NamedTuple):
    chunk: int
    pass_: int  # 1-based pass the chunk receives in the row
    start: int  # absolute positions [start, end) of this call's tokens of the chunk
    end: int


class Row(NamedTuple):
    row: int
    entries: List[RowEntry]
    window_start: int
    finished_chunks: int


def rows_for(t0: int, t1: int, chunk: int, passes: int) -> List[Row]:
    """Every row that processes tokens [t0, t1), draining all their passes (see schedule.ts)."""
    if t1 <= t0:
        return []
    c0, c1 = t0 // chunk, (t1 - 1) // chunk
    rows = []
    for r in range(c0, c1 + passes):
        entries = [
            RowEntry(c, r - c + 1, max(c * chunk, t0), min((c + 1) * chunk, t1))
            for c in range(max(c0, r - passes + 1), min(c1, r) + 1)
        ]
        rows.append(Row(r, entries, max(0, (r - passes + 1) * chunk), max(0, r - passes + 1)))
    return rows


def cache_window(row: Row, chunk: int, cache_chunks: float):
    """Positions [start, end) of cache the row attends to: the last `cache_chunks` finished chunks."""
    end = row.window_start
    if cache_chunks == 0:
        return end, end
    first = max(0, row.finished_chunks - int(cache_chunks)) if math.isfinite(cache_chunks) else 0
    return min(first * chunk, end), end


def oldest_chunk_needed(t1: int, chunk: int, passes: int) -> int:
    return max(0, t1 // chunk - passes + 1)


def oldest_cache_needed(t1: int, chunk: int, passes: int, cache_chunks: float) -> int:
    if not math.isfinite(cache_chunks):
        return 0
    return max(0, (t1 // chunk - passes + 1 - int(cache_chunks)) * chunk)


# --------------------------------------------------------------------------------------------
# The staircase family (staircase/forward.ts)
# --------------------------------------------------------------------------------------------


@dataclass
class StairShape:
    chunk: int
    passes: int
    cache_chunks: float  # 0 (Staircase), k (Cached), math.inf (Global Cached)
    repeats: int  # core applications per pass (Staircase × Ladder R)


def stair_shape(cfg: dict) -> StairShape:
    kind = cfg["kind"]
    cache = cfg["cacheChunks"] if kind == "cached-staircase" else (math.inf if kind == "global-staircase" else 0)
    return StairShape(cfg["chunk"], cfg["passes"], cache, cfg["repeats"] if kind == "staircase-ladder" else 1)


@dataclass
class StairState:
    """chunks: chunk index → per pass (0-based), per layer application, the K/V its tokens made;
    cache: (first position, per layer K/V of finished outputs), or None without a cache."""

    chunks: Dict[int, List[List[KV]]]
    cache: Optional[tuple]


def staircase_forward(params: Params, cfg: dict, shape: StairShape, tokens: torch.Tensor, state: Optional[State], training: bool):
    """Rows of the schedule in order; each row runs the core once over its query chunks (oldest,
    deepest pass first), every layer attending causally to: the cache window, the carried keys of
    older chunks of the row window (at the pass they have in this row), and the row itself."""
    kind = cfg["kind"]
    batch, length = tokens.shape
    _check_state(kind, batch, state)
    Fc, n, cache_chunks, repeats = shape.chunk, shape.passes, shape.cache_chunks, shape.repeats
    L = cfg["layers"]
    applications = repeats * L
    t0 = state.position if state else 0
    t1 = t0 + length
    carried: StairState = state.data if state else StairState({}, None)
    keep_from = oldest_chunk_needed(t1, Fc, n)

    emb = embed(params, tokens)
    hidden: Dict[int, torch.Tensor] = {}
    for c in range(t0 // Fc, (t1 - 1) // Fc + 1):
        s, e = max(c * Fc, t0), min((c + 1) * Fc, t1)
        hidden[c] = emb[:, s - t0 : e - t0]
    outputs: Dict[int, torch.Tensor] = {}
    new_keys: Dict[int, Dict[int, List[KV]]] = {}  # chunk → pass (0-based) → per application
    cache = None
    if carried.cache is not None:
        cache = [carried.cache[0], list(carried.cache[1])]
    if cache_chunks > 0 and cache is None:
        cache = [t0, []]
    cache_end = t0

    for row in rows_for(t0, t1, Fc, n):
        entries = row.entries
        q_start = entries[0].start
        h = torch.cat([hidden[e.chunk] for e in entries], 1) if len(entries) > 1 else hidden[entries[0].chunk]
        w_start, w_end = cache_window(row, Fc, cache_chunks)
        # Older chunks of the row window whose tokens (some or all) came in earlier calls.
        in_row = []
        for c in range(max(0, row.row - n + 1), min(row.row, t0 // Fc) + 1):
            keys = carried.chunks.get(c)
            if keys is not None and c * Fc < t0:
                in_row.append((keys, row.row - c + 1))
        for a in range(applications):
            layer = a % L
            cache_part = None
            if cache is not None and w_end > w_start:
                cache_part = slice_kv(cache[1][layer], w_start - cache[0], w_end - w_start)
            past = concat_kv([cache_part] + [keys[p - 1][a] for keys, p in in_row])
            h, kv = layer_forward(params, cfg, layer, h, q_start, past, math.inf, training)
            offset = 0
            for e in entries:
                n_tok = e.end - e.start
                if e.chunk >= keep_from:
                    per_app = new_keys.setdefault(e.chunk, {}).setdefault(e.pass_ - 1, [])
                    per_app.append(slice_kv(kv, offset, n_tok))
                offset += n_tok
        offset = 0
        for e in entries:
            n_tok = e.end - e.start
            he = h if len(entries) == 1 else h[:, offset : offset + n_tok]
            offset += n_tok
            if e.pass_ < n:
                hidden[e.chunk] = he
                continue
            # The chunk leaves its last pass: its states are final outputs, and cached variants
            # append their K/V (projected by each layer, never recomputed) to the cache.
            outputs[e.chunk] = he
            if cache is not None:
                if e.start != cache_end:
                    raise RuntimeError(f"internal: cache gap at {cache_end}..{e.start}")
                block = [layer_kv(params, cfg, l, he, e.start) for l in range(L)]
                cache[1] = block if not cache[1] else [concat_kv([cache[1][l], block[l]]) for l in range(L)]
                cache_end = e.end

    finals = [outputs[c] for c in sorted(outputs)]
    logits = output_head(params, cfg, finals[0] if len(finals) == 1 else torch.cat(finals, 1))
    data = _next_stair_state(carried.chunks, new_keys, cache, keep_from, oldest_cache_needed(t1, Fc, n, cache_chunks))
    return logits, State(kind, batch, t1, data)


def _next_stair_state(old, new_keys, cache, keep_from: int, cache_from: int) -> StairState:
    """Keeps only what later rows can reach (chunks ≥ keep_from, cache ≥ cache_from), detached."""
    chunks: Dict[int, List[List[KV]]] = {}
    for c in sorted(set(old) | set(new_keys)):
        if c < keep_from:
            continue
        before = old.get(c, [])
        added = new_keys.get(c, {})
        pass_count = max(len(before), max(added.keys(), default=-1) + 1)
        passes = []
        for p in range(pass_count):
            a = before[p] if p < len(before) else []
            b = added.get(p, [])
            passes.append(
                [detach_kv(concat_kv([a[i] if i < len(a) else None, b[i] if i < len(b) else None])) for i in range(max(len(a), len(b)))]
            )
        chunks[c] = passes
    next_cache = None
    if cache is not None and cache[1]:
        length = kv_len(cache[1][0])
        skip = min(length, max(0, cache_from - cache[0]))
        if skip == length:
            next_cache = (cache[0] + length, [])
        else:
            next_cache = (cache[0] + skip, [detach_kv(kv if skip == 0 else slice_kv(kv, skip, length - skip)) for kv in cache[1]])
    elif cache is not None:
        next_cache = (cache[0], [])
    return StairState(chunks, next_cache)


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def forward(params: Params, cfg: dict, tokens: torch.Tensor, state: Optional[State] = None, training: bool = False):
    """Logits [B, T, vocab] of int64 `tokens` [B, T] after the history in `state`, and the new state.

    One long call, consecutive segments or single tokens give the same logits (as in TypeScript)."""
    kind = cfg["kind"]
    if kind == "transformer-xl":
        return windowed_forward(params, cfg, cfg["memory"], 1, tokens, state, training)
    if kind == "ladder":
        return windowed_forward(params, cfg, cfg["memory"], cfg["repeats"], tokens, state, training)
    return staircase_forward(params, cfg, stair_shape(cfg), tokens, state, training)


def layer_applications_per_token(cfg: dict) -> int:
    """The paper's cost per token (model.cost().layerApplicationsPerToken)."""
    kind, L = cfg["kind"], cfg["layers"]
    if kind == "transformer-xl":
        return L
    if kind == "ladder":
        return cfg["repeats"] * L
    s = stair_shape(cfg)
    return s.passes * s.repeats * L
