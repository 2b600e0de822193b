#!/usr/bin/python3
"""The PyTorch reference peer: `crosscheck` (logits of our weights, for the TypeScript test) and
`bench` (training / evaluation throughput and streaming latency, for `pnpm bench`).

Run it with Debian's Python, which sees `python3-torch`:

    /usr/bin/python3 tools/bench/reference/run.py bench --config cfg.json --batch 8 --length 128 --steps 10 --warmup 2
    /usr/bin/python3 tools/bench/reference/run.py crosscheck --weights model.ckpt --tokens tokens.json --segments 7,5,9 --out logits.safetensors

Both print one JSON object on stdout (progress goes to stderr). See README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import statistics
import time


def _args(argv):
    p = argparse.ArgumentParser(prog="run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("crosscheck", help="logits of tokens fed in consecutive segments carrying state")
    c.add_argument("--weights", required=True, help="one of our checkpoints (backend-tfjs encodeCheckpoint)")
    c.add_argument("--config", help="model config JSON (default: the checkpoint's own config)")
    c.add_argument("--tokens", required=True, help='JSON file {"tokens": [[id, ...], ...]} (batch rows of equal length)')
    c.add_argument(
        "--segments",
        required=True,
        help="N (N near-equal consecutive segments) or a comma list of segment lengths, e.g. 7,5,9",
    )
    c.add_argument("--out", required=True, help="where to write the logits [B, T, vocab] (safetensors, tensor 'logits')")
    c.add_argument(
        "--grads",
        action="store_true",
        help='also the gradient of Σ_segments mean cross-entropy against the tokens file\'s "targets" '
        "(tensors grad/<name>, and loss): checks that no gradient flows into carried state",
    )
    c.add_argument("--threads", type=int, default=1)

    b = sub.add_parser("bench", help="train / eval tokens per second and streaming latency")
    b.add_argument("--config", required=True, help="model config JSON (our config object)")
    b.add_argument("--batch", type=int, default=8)
    b.add_argument("--length", type=int, default=128)
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--warmup", type=int, default=2)
    b.add_argument("--threads", type=int, default=1, help="torch's own (intra-op) threads")
    b.add_argument(
        "--blas-threads",
        type=int,
        default=0,
        help="OpenBLAS's threads (default: every core). Measured here on 2 cores (Transformer-XL training, "
        "tokens/s): torch 1 + OpenBLAS 2 → 5,414; 1 + 1 → 3,649; 2 + 2 → 2,017 (the two pools contend)",
    )
    b.add_argument("--stream-positions", default="", help="comma list, e.g. 256,4096,16384 (empty: no streaming figure)")
    b.add_argument("--stream-tokens", type=int, default=32, help="timed single-token calls per position")
    b.add_argument("--history-segment", type=int, default=0, help="tokens per call while reaching a position (default: --length)")
    b.add_argument("--lr", type=float, default=1e-3)
    b.add_argument("--seed", type=int, default=0)

    s = sub.add_parser(
        "serve",
        help="one model kept loaded: answers `train N` / `eval N` lines on stdin with one JSON line each "
        "(N steps timed, state carried from call to call), so that a harness can alternate short runs of "
        "both toolkits and compare measurements seconds apart",
    )
    for name in ("--config", "--batch", "--length", "--threads", "--blas-threads", "--lr", "--seed"):
        action = next(a for a in b._actions if name in a.option_strings)
        s.add_argument(name, type=action.type, default=action.default, required=action.required, help=action.help)
    return p.parse_args(argv)


ARGS = _args(sys.argv[1:])
# torch's OpenMP pool and OpenBLAS's own pthread pool are separate: torch runs elementwise and
# reduction kernels on the first, and calls OpenBLAS (which runs GEMM on the second) from its own
# thread. Both pools spin while waiting, so sizing both to every core oversubscribes the machine.
# Thread pools read these when torch (and OpenBLAS under it) load: set them before the import.
BLAS_THREADS = (ARGS.blas_threads or os.cpu_count() or 1) if ARGS.command in ("bench", "serve") else ARGS.threads
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(BLAS_THREADS)

import numpy as np  # noqa: E402
import torch  # noqa: E402

# No __pycache__ next to the sources (it would show as untracked files in the repository).
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import tensor_io  # noqa: E402

torch.set_num_threads(ARGS.threads)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}")


def _segment_lengths(spec: str, total: int):
    if "," in spec:
        lengths = [int(s) for s in spec.split(",") if s.strip()]
    else:
        n = int(spec)
        if n < 1 or n > total:
            raise ValueError(f"--segments: {n} segments of {total} tokens")
        lengths = [total // n + (1 if i < total % n else 0) for i in range(n)]
    if sum(lengths) != total or min(lengths) < 1:
        raise ValueError(f"--segments: lengths {lengths} do not cut {total} tokens")
    return lengths


def crosscheck(args) -> dict:
    config, weights = tensor_io.read_checkpoint(args.weights)
    if args.config:
        with open(args.config) as f:
            config = json.load(f)
    cfg = models.parse_config(config)
    params = {k: torch.from_numpy(v) for k, v in weights.items()}
    models.check_params(cfg, params)
    with open(args.tokens) as f:
        spec = json.load(f)
    tokens = torch.tensor(spec["tokens"], dtype=torch.long)
    lengths = _segment_lengths(args.segments, tokens.shape[1])
    if args.grads:
        if "targets" not in spec:
            raise ValueError('--grads needs "targets" in the tokens file')
        targets = torch.tensor(spec["targets"], dtype=torch.long)
        for p in params.values():
            p.requires_grad_(True)
    state = None
    pieces = []
    loss = torch.zeros(())
    start = 0
    with torch.set_grad_enabled(args.grads):
        for n in lengths:
            logits, state = models.forward(params, cfg, tokens[:, start : start + n], state)
            pieces.append(logits)
            if args.grads:
                # Each segment's loss reaches the weights only through its own segment: the
                # carried state is detached, on our side (stopGradient) as here.
                loss = loss + models.cross_entropy(logits, targets[:, start : start + n])
            start += n
    out = {"logits": torch.cat(pieces, 1).detach().numpy()}
    if args.grads:
        loss.backward()
        out["loss"] = loss.detach().reshape(1).numpy()
        for name, p in params.items():
            out[f"grad/{name}"] = p.grad.numpy() if p.grad is not None else np.zeros(p.shape, np.float32)
    tensor_io.write_tensors(args.out, out)
    result = {"kind": cfg["kind"], "torch": torch.__version__, "shape": list(out["logits"].shape), "segments": lengths, "out": args.out}
    if args.grads:
        result["loss"] = float(loss)
    return result


def mapped_libraries(word: str) -> list:
    """Real paths of the shared libraries mapped into this process whose file name contains `word`."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and word in os.path.basename(fields[-1]).lower():
                    paths.add(os.path.realpath(fields[-1]))
    except OSError:
        pass
    return sorted(paths)


def blas_library() -> str:
    """Which BLAS torch really calls: Debian's torch goes through the `libblas.so.3` alternative,
    which is OpenBLAS only when libopenblas0-pthread is installed (else the ~30× slower reference)."""
    names = mapped_libraries("blas")
    if not names:
        return "unknown"
    kind = "openblas" if any("openblas" in p for p in names) else "reference" if any("/blas/" in p for p in names) else "other"
    return f"{kind} ({', '.join(names)})"


def openblas():
    """The OpenBLAS library torch calls (Debian: libopenblasp-r*.so behind the libblas.so.3
    alternative), through ctypes, to resize its thread pool at run time; None where no mapped
    library exports openblas_get/set_num_threads."""
    import ctypes

    for path in mapped_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads, lib.openblas_set_num_threads  # noqa: B018 (both must exist)
            return lib
        except (OSError, AttributeError):
            continue
    return None


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


class Session:
    """One model of `args.config` with seeded weights, an AdamW optimiser and random batches of
    `args.batch` × `args.length` tokens: `train_step` and `eval_step` each carry their own model
    state from call to call, detached, as our trainer and evaluator do."""

    def __init__(self, args):
        with open(args.config) as f:
            self.cfg = cfg = models.parse_config(json.load(f))
        self.B, self.T, self.V = args.batch, args.length, cfg["vocabSize"]
        self.gen = torch.Generator().manual_seed(args.seed)
        self.params = params = models.init_params(cfg, self.gen)
        for p in params.values():
            p.requires_grad_(True)
        decay = [params[s.name] for s in models.param_specs(cfg) if s.decay]
        no_decay = [params[s.name] for s in models.param_specs(cfg) if not s.decay]
        # packages/backend-tfjs/src/adamw.ts and train.ts defaults: betas (0.9, 0.999), eps 1e-8,
        # decoupled weight decay 0.01 on matMul weights only, global-norm clip 1.0, constant lr.
        self.opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999), eps=1e-8
        )
        self.flat = list(params.values())
        self.train_state = None
        self.eval_state = None
        self.losses = []

    def batch(self):
        # Random rows of T + 1 tokens: inputs and next-token targets, as the TS bench's batches.
        rows = torch.randint(0, self.V, (self.B, self.T + 1), generator=self.gen)
        return rows[:, :-1], rows[:, 1:]

    def train_step(self):
        tokens, targets = self.batch()
        logits, self.train_state = models.forward(self.params, self.cfg, tokens, self.train_state, training=True)
        loss = models.cross_entropy(logits, targets)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.flat, 1.0)
        self.opt.step()
        self.losses.append(loss.item())

    def scored(self, params, state):
        """One evaluation batch with `params` (no gradients, loss read back) after `state`; the next state."""
        tokens, targets = self.batch()
        with torch.no_grad():
            logits, state = models.forward(params, self.cfg, tokens, state)
            models.cross_entropy(logits, targets).item()
        return state

    def eval_step(self):
        self.eval_state = self.scored(self.params, self.eval_state)

    def int8_eval(self, warmup: int, steps: int) -> dict:
        """Evaluation with int8 weight products (`models.int8_weights`), at its own best threads:
        torch's quantized products run on torch's pool, not OpenBLAS's, so torch gets every core
        and OpenBLAS one thread (2 + 1 on 2 cores; measured, Transformer-XL 8 × 128: 22 ms per
        batch against 52 with the float peer's 1 + 2). Both pools are restored afterwards, also on
        an error. Also the logits' relative error against float32 on one batch from an empty state."""
        qparams = models.int8_weights(self.params)
        tokens, _ = self.batch()
        with torch.no_grad():
            ref, _ = models.forward(self.params, self.cfg, tokens, None)
            got, _ = models.forward(qparams, self.cfg, tokens, None)
        rel = float((got - ref).norm() / ref.norm())
        blas = openblas()
        torch_threads = torch.get_num_threads()
        blas_threads = blas.openblas_get_num_threads() if blas is not None else None
        cores = os.cpu_count() or 1
        state = None

        def step():
            nonlocal state
            state = self.scored(qparams, state)

        try:
            torch.set_num_threads(cores)
            if blas is not None:
                blas.openblas_set_num_threads(1)
            threads = f"{torch.get_num_threads()} + {blas.openblas_get_num_threads() if blas is not None else BLAS_THREADS}"
            self.timed(step, warmup)
            seconds = self.timed(step, steps)
        finally:
            torch.set_num_threads(torch_threads)
            if blas is not None:
                blas.openblas_set_num_threads(blas_threads)
        return {"seconds": seconds, "threads": threads, "logits_rel_error": rel}

    def timed(self, step, n: int) -> float:
        """Seconds for `n` calls of `step`."""
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        return time.perf_counter() - t0


def bench(args) -> dict:
    load_before = os.getloadavg()[0]
    session = Session(args)
    cfg, params, gen, losses = session.cfg, session.params, session.gen, session.losses
    B, T = session.B, session.T
    log(f"{cfg['kind']}: {args.warmup} warm-up + {args.steps} training steps of {B}×{T}")
    session.timed(session.train_step, args.warmup)
    train_s = session.timed(session.train_step, args.steps)
    session.timed(session.eval_step, args.warmup)
    eval_s = session.timed(session.eval_step, args.steps)
    int8 = session.int8_eval(args.warmup, args.steps) if args.steps else None

    stream = {}
    positions = sorted(int(p) for p in args.stream_positions.split(",") if p.strip())
    if positions:
        stream = stream_latency(params, cfg, positions, args.history_segment or T, args.stream_tokens, gen)

    tokens_per_step = B * T * max(args.steps, 1)
    return {
        "torch": torch.__version__,
        "blas": blas_library(),
        "threads": torch.get_num_threads(),
        "blas_threads": BLAS_THREADS,
        "train_tokens_per_s": _sig(tokens_per_step / train_s) if args.steps else None,
        "eval_tokens_per_s": _sig(tokens_per_step / eval_s) if args.steps else None,
        # int8 weight products (models.int8_weights), at their own best threads (torch + OpenBLAS).
        "eval_int8_tokens_per_s": _sig(tokens_per_step / int8["seconds"]) if int8 else None,
        "eval_int8_threads": int8["threads"] if int8 else None,
        "int8_logits_rel_error": _sig(int8["logits_rel_error"], 3) if int8 else None,
        "stream_ms_per_token": stream,
        "peak_rss_mb": _sig(peak_rss_mb()),
        # Beyond the fields the harness reads: what was measured, for the record.
        "kind": cfg["kind"],
        "layer_applications_per_token": models.layer_applications_per_token(cfg),
        "parameters": sum(int(np.prod(s.shape)) for s in models.param_specs(cfg)),
        "batch": B,
        "length": T,
        "steps": args.steps,
        "warmup": args.warmup,
        "train_ms_per_step": _sig(1000 * train_s / args.steps) if args.steps else None,
        "eval_ms_per_batch": _sig(1000 * eval_s / args.steps) if args.steps else None,
        "first_loss": _sig(losses[0]) if losses else None,
        "last_loss": _sig(losses[-1]) if losses else None,
        # Other work on the machine skews these figures far more than it would single-threaded
        # code: with more runnable threads than cores, torch's and OpenBLAS's parallel regions
        # wait for descheduled threads. Compare with os.cpu_count() before trusting a figure.
        "load_avg_1m": [_sig(load_before, 3), _sig(os.getloadavg()[0], 3)],
        "cpus": os.cpu_count(),
    }


def stream_latency(params, cfg, positions, history_segment, stream_tokens, gen) -> dict:
    """Batch 1, one stream per position: each stream's history fed in segments of
    `history_segment` tokens up to two tokens before its position, then two untimed single-token
    calls; then `stream_tokens` rounds of one timed single-token call per stream, the streams
    taken in turn (as staircase bench does: drift in the CPU's speed then reaches every position
    alike), each reading its logits. Each position's figure is the median of its calls."""
    V = cfg["vocabSize"]
    streams = [{"state": None, "position": 0} for _ in positions]

    def call(stream, n):
        tokens = torch.randint(0, V, (1, n), generator=gen)
        logits, stream["state"] = models.forward(params, cfg, tokens, stream["state"])
        logits[0, -1].numpy()
        stream["position"] += n

    untimed = 2
    times = [[] for _ in positions]
    with torch.no_grad():
        for stream, target in zip(streams, positions):
            log(f"{cfg['kind']}: streaming to position {target}")
            while stream["position"] < target - untimed:
                call(stream, min(history_segment, target - untimed - stream["position"]))
            while stream["position"] < target:
                call(stream, 1)
        for _ in range(stream_tokens):
            for k, stream in enumerate(streams):
                t0 = time.perf_counter()
                call(stream, 1)
                times[k].append(time.perf_counter() - t0)
    return {str(target): _sig(1000 * statistics.median(ts)) for target, ts in zip(positions, times)}


def serve(args) -> None:
    """`serve`: prints {"ready": ...} once the model is built, then answers each stdin line
    `train N` / `eval N` with {"command", "steps", "ms"} (N steps, timed together) and anything
    else with {"error"}; ends at end of input."""
    session = Session(args)
    steps = {"train": session.train_step, "eval": session.eval_step}
    print(json.dumps({"ready": True, "kind": session.cfg["kind"], "torch": torch.__version__, "blas": blas_library()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if len(words) != 2 or words[0] not in steps or not words[1].isdigit():
            print(json.dumps({"error": f"expected `train N` or `eval N`, got {line.strip()!r}"}), flush=True)
            continue
        n = int(words[1])
        ms = 1000 * session.timed(steps[words[0]], n)
        print(json.dumps({"command": words[0], "steps": n, "ms": _sig(ms, 6)}), flush=True)


def main() -> None:
    if ARGS.command == "serve":
        serve(ARGS)
        return
    result = crosscheck(ARGS) if ARGS.command == "crosscheck" else bench(ARGS)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
