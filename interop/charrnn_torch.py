"""Move character models between CharRnn.Fast and PyTorch (Debian's python3-torch and python3-numpy only).

A charrnn model file is safetensors. Format 2 (`format` = `charrnn-fast/2`) holds PyTorch's own state_dict names and
layouts: `rnn.weight_ih_l{k}` [G·H, in], `rnn.weight_hh_l{k}` [G·H, H], `rnn.bias_ih_l{k}` and `rnn.bias_hh_l{k}`
[G·H] for k = 0..L−1 (G = 1, 4, 3 for rnn, lstm, gru; in = V for layer 0, whose input is the one-hot character, H
above), `fc.weight` [V, H], `fc.bias` [V]; optionally `embedding.weight` [V, E], then layer 0's weight_ih is [G·H, E].
Format 1 holds one tanh/relu layer as `Wxh` [H, V], `Whh` [H, H], `bh` [H], `Why` [V, H], `by` [V].

    tensors, metadata = read_safetensors(path)          # any file; F32/F64/F16/BF16
    model, vocab, metadata = load_charrnn(path)         # CharRnnTorch in eval mode, float32
    save_charrnn(path, model, vocab)                    # format 2, from any module with `rnn` and `fc`

Command line:

    python3 interop/charrnn_torch.py logits MODEL TEXT       # JSON: logits [T][V] over TEXT from a zero state
    python3 interop/charrnn_torch.py train-torch --input FILE --out MODEL [--cell lstm --layers 2 --hidden 64 ...]
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FORMAT_1, FORMAT_2 = "charrnn-fast/1", "charrnn-fast/2"
CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# safetensors dtype → numpy dtype read from the file (BF16 has none: read as uint16 and widened to float32 exactly)
# a format-2 model's weights (a checkpoint's other tensors are training state)
_WEIGHT_NAME = re.compile(r"rnn\.(weight|bias)_(ih|hh)_l\d+|fc\.(weight|bias)|embedding\.weight")
_STORED = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2")}


# ---------------------------------------------------------------------------------------------------------------------
# safetensors, by hand: u64 LE header length, JSON header padded with spaces to a 64-byte data start, raw LE row-major


def read_safetensors(path):
    """Returns (tensors, metadata): numpy arrays by name (F32 → float32, F64 → float64, F16 → float16, BF16 →
    float32) and the `__metadata__` strings. Raises ValueError for a malformed file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    n = struct.unpack("<Q", raw[:8])[0]
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError(f"{path}: __metadata__ must map strings to strings")
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise ValueError(f"{path}: tensor '{name}' has no [begin, end] data_offsets")
        dtype, shape, (begin, end) = info.get("dtype"), info.get("shape"), offsets
        if dtype not in _STORED:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dtype}; F32, F64, F16 and BF16 are read")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise ValueError(f"{path}: tensor '{name}' has a bad shape {shape}")
        size = _STORED[dtype].itemsize * int(np.prod(shape, dtype=np.int64))
        in_range = isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(data)
        if not (in_range and end - begin == size):
            raise ValueError(f"{path}: tensor '{name}' has offsets {[begin, end]} for {size} bytes of {len(data)}")
        values = np.frombuffer(data[begin:end], _STORED[dtype])
        if dtype == "BF16":
            values = (values.astype("<u4") << 16).view("<f4")   # bfloat16 is the top half of a float32
        tensors[name] = values.reshape(shape)
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None, dtype="F32"):
    """Writes numpy arrays (or tensors) by name, every one stored as `dtype` (F32, F64, F16 or BF16, round to nearest
    even), with string `metadata`. Atomic: a temporary file is flushed and renamed over `path`."""
    if dtype not in _STORED:
        raise ValueError(f"dtype {dtype}: F32, F64, F16 and BF16 are written")
    metadata = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError("metadata must map strings to strings")
    header, offset, blobs = {"__metadata__": metadata} if metadata else {}, 0, []
    for name, t in tensors.items():
        t = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        blob = _encode(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header, ensure_ascii=False).encode()
    h += b" " * (-(8 + len(h)) % 64)
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def _encode(t, dtype):
    if dtype != "BF16":
        return np.ascontiguousarray(t, _STORED[dtype]).tobytes()
    bits = np.ascontiguousarray(t, "<f4").view("<u4").astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")     # round to nearest, ties to even
    nan = np.isnan(np.asarray(t, np.float32))
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype("<u2")                  # keep NaN a (quiet) NaN
    return rounded.tobytes()


# ---------------------------------------------------------------------------------------------------------------------
# the model


class CharRnnTorch(nn.Module):
    """charrnn's model in PyTorch: one-hot characters → `rnn` (nn.RNN / nn.LSTM / nn.GRU, L layers, seq-first) →
    `fc` (nn.Linear(H, V)). Its state_dict is exactly a format-2 file's weights."""

    def __init__(self, vocab_size, hidden_size, cell="rnn", layers=1, nonlinearity="tanh", dropout=0.0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell '{cell}' is not rnn, lstm or gru")
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        # dropout acts between layers only (PyTorch warns, and does nothing, with one layer)
        self.rnn = CELLS[cell](vocab_size, hidden_size, num_layers=layers, dropout=dropout if layers > 1 else 0.0,
                               **extra)
        self.fc = nn.Linear(hidden_size, vocab_size)
        self.vocab_size = vocab_size

    def forward(self, tokens, state=None):
        """tokens [T,B] int64; state: h [L,B,H] (LSTM: (h, c)), zero when None → (logits [T,B,V], final state)."""
        x = F.one_hot(tokens, self.vocab_size).to(self.fc.weight.dtype)    # [T,B,V]
        out, state = self.rnn(x, state)                                     # [T,B,H]
        return self.fc(out), state


def _cell_of(rnn):
    if isinstance(rnn, nn.LSTM):
        return "lstm"
    if isinstance(rnn, nn.GRU):
        return "gru"
    if isinstance(rnn, nn.RNN):
        return "rnn"
    raise ValueError(f"model.rnn is a {type(rnn).__name__}; nn.RNN, nn.LSTM or nn.GRU is saved")


def save_charrnn(path, model, vocab, mode="stream"):
    """Writes `model` (any module with attributes `rnn` and `fc`, and `embedding` (nn.Embedding) if its layer 0 reads
    embeddings) as a format-2 charrnn model. Tensors keep PyTorch's names and values (a nonzero `bias_hh` too: charrnn
    folds it on load). `vocab`: the model's characters in id order, distinct and sorted by code point."""
    rnn, fc = model.rnn, model.fc
    cell = _cell_of(rnn)
    if rnn.bidirectional or getattr(rnn, "proj_size", 0) or not rnn.bias or rnn.batch_first:
        raise ValueError("charrnn models are unidirectional, with biases, without LSTM projections, and seq-first")
    vocab = list(vocab)
    if any(len(c) != 1 for c in vocab) or vocab != sorted(set(vocab)):
        raise ValueError("vocab must be distinct single characters sorted by code point")
    embedding = getattr(model, "embedding", None)
    input_size = embedding.embedding_dim if embedding is not None else len(vocab)
    if fc.out_features != len(vocab) or fc.in_features != rnn.hidden_size or rnn.input_size != input_size:
        raise ValueError(f"shapes do not fit a vocabulary of {len(vocab)}: rnn input {rnn.input_size}, "
                         f"hidden {rnn.hidden_size}, fc {fc.in_features}→{fc.out_features}")
    if mode not in ("stream", "lines") or (mode == "lines" and "\n" not in vocab):
        raise ValueError("mode is 'stream' or 'lines' (and a lines model's vocabulary holds '\\n')")
    tensors = {} if embedding is None else {"embedding.weight": embedding.weight}
    tensors.update({f"rnn.{k}": v for k, v in rnn.state_dict().items()})
    tensors.update({f"fc.{k}": v for k, v in fc.state_dict().items()})
    metadata = {
        "format": FORMAT_2,
        "vocab": json.dumps(vocab, ensure_ascii=False),
        "cell": cell,
        "layers": str(rnn.num_layers),
        "hidden_size": str(rnn.hidden_size),
        "nonlinearity": rnn.nonlinearity if cell == "rnn" else "tanh",
        "mode": mode,
        "dropout": repr(float(rnn.dropout)),
    }
    write_safetensors(path, tensors, metadata)


def load_charrnn(path):
    """Returns (CharRnnTorch in eval mode, vocab, metadata) for a charrnn model file of format 1 or 2 (training state
    in a checkpoint is ignored). An `embedding.weight` [V,E] is folded into layer 0: weight_ih_l0 = W_ih·embᵀ."""
    tensors, metadata = read_safetensors(path)
    if "vocab" not in metadata:
        raise ValueError(f"{path}: no \"vocab\" in the metadata")
    vocab = json.loads(metadata["vocab"])
    format_tag = metadata.get("format") or (FORMAT_1 if "Whh" in tensors else FORMAT_2)
    if format_tag == FORMAT_1:
        state, cell, layers = _format_1_state(tensors, path), "rnn", 1
    elif format_tag == FORMAT_2:
        state = {k: v for k, v in tensors.items() if _WEIGHT_NAME.fullmatch(k)}
        layers = sum(1 for k in state if k.startswith("rnn.weight_hh_l"))
        if layers == 0:
            raise ValueError(f"{path}: no rnn.weight_hh_l0")
        shape = state["rnn.weight_hh_l0"].shape                                                 # [G·H,H]
        cell = metadata.get("cell") or {1: "rnn", 4: "lstm", 3: "gru"}.get(shape[0] // shape[-1] if shape[-1] else 0)
        if cell not in CELLS or len(shape) != 2 or shape[0] != GATES[cell] * shape[1]:
            raise ValueError(f"{path}: rnn.weight_hh_l0 is {list(shape)}, not the [G·H,H] of a cell rnn, lstm or gru")
        if "embedding.weight" in state:
            emb = state.pop("embedding.weight").astype(np.float64)                               # [V,E]
            state["rnn.weight_ih_l0"] = state["rnn.weight_ih_l0"].astype(np.float64) @ emb.T   # [G·H,E]·[E,V]
    else:
        raise ValueError(f"{path}: format '{format_tag}' is not {FORMAT_1} or {FORMAT_2}")
    for key, expected in (("cell", cell), ("layers", str(layers))):
        if key in metadata and metadata[key] != expected:
            raise ValueError(f"{path}: metadata {key} = {metadata[key]} but the tensors hold {expected}")
    hidden = state["rnn.weight_hh_l0"].shape[1]
    model = CharRnnTorch(len(vocab), hidden, cell, layers, metadata.get("nonlinearity", "tanh"),
                         float(metadata.get("dropout", "0")))
    try:
        model.load_state_dict({k: torch.from_numpy(np.array(v, np.float32)) for k, v in state.items()}, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{path}: the tensors do not fit a {cell} model of {layers} layer(s), hidden {hidden}, "
                         f"vocabulary {len(vocab)}: {e}") from None
    return model.eval(), vocab, metadata


def _format_1_state(t, path):
    missing = [k for k in ("Wxh", "Whh", "bh", "Why", "by") if k not in t]
    if missing:
        raise ValueError(f"{path}: a format-1 model needs Wxh, Whh, bh, Why, by; missing {missing}")
    bh = t["bh"].reshape(-1)                    # [H] or numpy's [H,1]
    return {"rnn.weight_ih_l0": t["Wxh"], "rnn.weight_hh_l0": t["Whh"], "rnn.bias_ih_l0": bh,
            "rnn.bias_hh_l0": np.zeros_like(bh), "fc.weight": t["Why"], "fc.bias": t["by"].reshape(-1)}


def encode(vocab, text):
    """Token ids of `text` (one per Unicode scalar value); ValueError for a character outside the vocabulary."""
    ids = {c: i for i, c in enumerate(vocab)}
    unknown = sorted({c for c in text if c not in ids})
    if unknown:
        raise ValueError(f"characters outside the model's vocabulary: {unknown[:10]}")
    return [ids[c] for c in text]


# ---------------------------------------------------------------------------------------------------------------------
# training in PyTorch with charrnn's data order (README, "Data order")


def train_torch(text, cell="lstm", layers=2, hidden=64, seq_len=25, batch=8, steps=300, lr=2e-3, dropout=0.0,
                nonlinearity="tanh", clip=5.0, seed=1):
    """Adam on the mean cross-entropy per character: B contiguous shards of ⌊(N−1)/B⌋ tokens, step k of an epoch
    reads shard[k·T .. k·T+T) with targets one further, state carried between steps and reset every epoch.
    Returns (model in eval mode, vocab, last loss)."""
    torch.manual_seed(seed)
    vocab = sorted(set(text))
    tokens = torch.tensor(encode(vocab, text))
    shard = (len(tokens) - 1) // batch
    per_epoch = shard // seq_len
    if per_epoch < 1:
        raise ValueError(f"the text ({len(tokens)} characters) is too short for {batch} streams of {seq_len}")
    streams = torch.stack([tokens[b * shard:(b + 1) * shard + 1] for b in range(batch)], dim=1)   # [shard+1,B]
    model = CharRnnTorch(len(vocab), hidden, cell, layers, nonlinearity, dropout).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    state, loss = None, float("nan")
    for step in range(steps):
        k = step % per_epoch
        if k == 0:
            state = None
        x, y = streams[k * seq_len:(k + 1) * seq_len], streams[k * seq_len + 1:(k + 1) * seq_len + 1]   # [T,B]
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss_t = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        optimizer.zero_grad()
        loss_t.backward()
        if clip > 0:
            nn.utils.clip_grad_value_(model.parameters(), clip)
        optimizer.step()
        loss = loss_t.item()
    return model.eval(), vocab, loss


# ---------------------------------------------------------------------------------------------------------------------
# command line


def logits_over(model, tokens):
    """charrnn's Generator protocol: from a zero state feed tokens one by one; row t = logits after tokens[..t]."""
    with torch.no_grad():
        logits, _ = model(torch.tensor(tokens).reshape(-1, 1))
    return logits[:, 0, :]                                                  # [T,V]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="charrnn_torch.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("logits", help="print {\"vocab\", \"logits\" [T][V]} over TEXT from a zero state, float64")
    p.add_argument("model")
    p.add_argument("text")
    p = commands.add_parser("train-torch", help="train a model in PyTorch (Adam) and save it in format 2")
    p.add_argument("--input", required=True, help="training text, UTF-8")
    p.add_argument("--out", required=True, help="model file to write")
    p.add_argument("--cell", choices=sorted(CELLS), default="lstm")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=25)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--relu", action="store_true", help="relu instead of tanh (rnn cell)")
    p.add_argument("--seed", type=int, default=1)
    a = parser.parse_args(argv)
    try:
        if a.command == "logits":
            model, vocab, _ = load_charrnn(a.model)
            logits = logits_over(model.double(), encode(vocab, a.text))
            print(json.dumps({"vocab": vocab, "logits": logits.tolist()}, ensure_ascii=False))
        else:
            with open(a.input, encoding="utf-8") as f:
                text = f.read()
            model, vocab, loss = train_torch(text, a.cell, a.layers, a.hidden, a.seq_len, a.batch, a.steps, a.lr,
                                             a.dropout, "relu" if a.relu else "tanh", seed=a.seed)
            save_charrnn(a.out, model, vocab)
            print(json.dumps({"event": "done", "steps": a.steps, "loss": loss, "model": a.out}))
    except (OSError, ValueError) as e:
        print(f"charrnn_torch.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
