"""Reading our checkpoints and writing tensors, in plain Python (no safetensors package needed).

Our checkpoint format (packages/backend-tfjs/src/checkpoint.ts) is safetensors: an 8-byte
little-endian header length, a JSON header naming each tensor's dtype, shape and byte offsets,
then the raw little-endian data. Its `__metadata__` holds the format tag, the model config (a JSON
string) and a CRC-32 over the canonical JSON of the header (without the CRC) followed by the data.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Dict, Tuple

import numpy as np

CHECKPOINT_FORMAT = "staircase-checkpoint"
CHECKPOINT_VERSION = "1"
_DTYPES = {"F32": "<f4", "I32": "<i4", "I64": "<i8"}


def read_safetensors(path: str) -> Tuple[dict, Dict[str, np.ndarray], bytes, bytes]:
    """Every tensor of a safetensors-style file, plus its header and the raw header/data bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path} is truncated")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path} is truncated: header of {n} bytes")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = raw[8 + n :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f'{path}: tensor "{name}" has unsupported dtype {entry["dtype"]}')
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"]).copy()
    return header, tensors, raw[8 : 8 + n], data


def _canonical_json(x) -> str:
    """checkpoint.ts `canonicalJson`: sorted keys, no spaces, JSON.stringify's escaping of strings.

    The header holds only strings and integers, where Python's json and JSON.stringify agree."""
    if isinstance(x, list):
        return "[" + ",".join(_canonical_json(v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _canonical_json(x[k]) for k in sorted(x)) + "}"
    return json.dumps(x, ensure_ascii=False)


def read_checkpoint(path: str) -> Tuple[dict, Dict[str, np.ndarray]]:
    """The model config and the weights of one of our checkpoints (CRC verified).

    Optimizer moments (`optimizer/…`) and carried model state (`state/…`) are left out: the peer
    starts every sequence from an empty state."""
    header, tensors, _, data = read_safetensors(path)
    meta = header.get("__metadata__") or {}
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f'{path} is not a {CHECKPOINT_FORMAT} (no "format" tag in its header)')
    if meta.get("format_version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} has format version {meta.get('format_version')}; this reader knows {CHECKPOINT_VERSION}")
    rest = {k: v for k, v in meta.items() if k != "crc32"}
    canonical = _canonical_json({**header, "__metadata__": rest}).encode("utf-8")
    computed = format(zlib.crc32(data, zlib.crc32(canonical)), "08x")
    if meta.get("crc32") != computed:
        raise ValueError(f"{path} is corrupt: checksum {meta.get('crc32')} stored, {computed} computed")
    config = json.loads(meta["config"])
    weights = {k: v for k, v in tensors.items() if not k.startswith(("optimizer/", "state/"))}
    return config, weights


def write_tensors(path: str, tensors: Dict[str, np.ndarray]) -> None:
    """A plain safetensors file of float32 tensors (no metadata): how crosscheck returns logits."""
    header = {}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (len(text) + 8) % 8) % 8)  # keep the data 8-byte aligned, as safetensors does
    encoded = text.encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
