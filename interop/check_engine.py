"""End-to-end checks of the charrnn engine against PyTorch, for every cell and depth (checkpoint format 2).

    /usr/bin/python3 interop/check_engine.py [--charrnn CMD] [--lib PATH] [--cells rnn,lstm,gru] [--layers 1,2,3]
                                              [--checks logits,sgd,torch,format1,embedding] [--keep DIR]

--charrnn is the command that runs the CLI (default: out/release/charrnn, else `dotnet
src/CharRnn.Cli/bin/Release/net10.0/charrnn.dll`); --lib is libcharrnn.so (default out/release/libcharrnn.so).

  logits     a model trained by `charrnn train` (dropout between layers, LSTM forget bias 1): libcharrnn's logits,
             fed the text token by token from a zero state, equal PyTorch's (float64) to 1e-4 relative at every step,
             and `charrnn eval` equals PyTorch's cross-entropy
  sgd        one `charrnn train --optimizer sgd --steps 1 --batch 1 --clip 0` from random weights equals one SGD step
             of PyTorch on the same chunk (loss summed over T; bias_hh held at zero where charrnn folds it): every
             weight to 1e-4 relative, every update to 1e-3 relative
  torch      a model trained in PyTorch (Adam, bias_hh nonzero) loads with the same logits and eval, continues in
             `charrnn train --init-from` for 20 steps, and `charrnn sample` prints text from its vocabulary
  format1    a format-1 file written by the README's numpy code: the same logits as its nn.RNN
  embedding  a file with an embedding.weight [V,E] (layers 2): the same logits as nn.Embedding + the rnn

Prints one row per case and exits 1 if any case fails.
"""
import argparse
import ctypes
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from charrnn_torch import (CELLS, CharRnnTorch, encode, load_charrnn, logits_over, read_safetensors,  # noqa: E402
                           save_charrnn, train_torch)
from test_interop import readme_save  # noqa: E402  (the README's numpy writer of format-1 files)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGITS_TOL, WEIGHT_TOL, UPDATE_TOL = 1e-4, 1e-4, 1e-3
CORPUS = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, "
    "it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of "
    "Darkness, it was the spring of hope, it was the winter of despair.\n"
    "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs — café, naïve, 42!\n"
)
TEXT = CORPUS * 8                 # about 3,300 characters
PROBE = TEXT[:400]                # the text the logits are compared over


class Failure(Exception):
    """A case's result disagrees with PyTorch."""


class EngineError(Exception):
    """The engine could not run a case (a command failed, the library refused a call)."""


# ---------------------------------------------------------------------------------------------------------------------
# the engine: the CLI as a subprocess, libcharrnn through ctypes


class Cli:
    def __init__(self, command, work):
        self.command, self.work = command, work

    def run(self, *args):
        argv = self.command + [str(a) for a in args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        except OSError as e:
            raise EngineError(f"cannot run {shlex.join(self.command)}: {e}") from None
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            message = next((l for l in lines if "error" in l), lines[-1] if lines else "(no message)")
            shown = " ".join(argv[len(self.command):][:2])
            raise EngineError(f"`charrnn {shown} …` exited {done.returncode}: {message}")
        return done.stdout

    def json_events(self, *args):
        return [json.loads(line) for line in self.run(*args, "--json").splitlines() if line.startswith("{")]

    def eval_nats(self, model, text_path):
        event = self.json_events("eval", "--model", model, "--input", text_path)[-1]
        return event["nats_per_char"], event["predictions"]


class Library:
    """libcharrnn.so's generator protocol: load, create, feed a token, read the logits of the next one."""

    def __init__(self, path):
        self.lib = lib = ctypes.CDLL(path)
        lib.charrnn_last_error.restype = ctypes.c_char_p
        handle = ctypes.POINTER(ctypes.c_ssize_t)
        lib.charrnn_model_load.argtypes = [ctypes.c_char_p, handle]
        lib.charrnn_model_free.argtypes = [ctypes.c_ssize_t]
        lib.charrnn_generator_create.argtypes = [ctypes.c_ssize_t, ctypes.c_uint64, handle]
        lib.charrnn_generator_free.argtypes = [ctypes.c_ssize_t]
        lib.charrnn_generator_feed.argtypes = [ctypes.c_ssize_t, ctypes.c_int32]
        lib.charrnn_generator_logits.argtypes = [ctypes.c_ssize_t, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]

    def _check(self, status, what):
        if status != 0:
            message = self.lib.charrnn_last_error()
            raise EngineError(f"libcharrnn {what}: status {status}: {message.decode() if message else '(no message)'}")

    def logits(self, model_path, tokens, vocab_size):
        """[T,V] float32: row t = the logits after feeding tokens[0..t] from a zero state."""
        model, generator = ctypes.c_ssize_t(), ctypes.c_ssize_t()
        self._check(self.lib.charrnn_model_load(model_path.encode(), ctypes.byref(model)), "model_load")
        try:
            self._check(self.lib.charrnn_generator_create(model, 1, ctypes.byref(generator)), "generator_create")
            out = np.zeros((len(tokens), vocab_size), np.float32)
            row = (ctypes.c_float * vocab_size)()
            for t, token in enumerate(tokens):
                self._check(self.lib.charrnn_generator_feed(generator, token), "generator_feed")
                self._check(self.lib.charrnn_generator_logits(generator, row, vocab_size), "generator_logits")
                out[t] = np.frombuffer(row, np.float32)
            return out
        finally:
            self.lib.charrnn_generator_free(generator)
            self.lib.charrnn_model_free(model)


# ---------------------------------------------------------------------------------------------------------------------
# comparisons


def logits_error(engine, reference):
    """The largest difference at any step relative to that step's largest |logit| (per-step scale: logits drift)."""
    reference = np.asarray(reference, np.float64)
    scale = np.maximum(np.abs(reference).max(axis=1), 1e-6)
    return float((np.abs(np.asarray(engine, np.float64) - reference).max(axis=1) / scale).max())


def relative(a, b):
    """max|a − b| / max|b| (0 when both are all zeros)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    diff = float(np.abs(a - b).max(initial=0.0))
    return diff / max(float(np.abs(b).max(initial=0.0)), 1e-30) if diff else 0.0


def update_error(engine, reference, start):
    """max|Δengine − Δreference| / max|Δreference|, the scale floored at 1e-3·max|weight|: an update below
    float32's resolution of the weights cannot be compared more finely than the stored weights allow."""
    delta = np.asarray(reference, np.float64) - start
    diff = float(np.abs((np.asarray(engine, np.float64) - start) - delta).max(initial=0.0))
    scale = max(float(np.abs(delta).max(initial=0.0)), 1e-3 * float(np.abs(reference).max(initial=0.0)), 1e-30)
    return diff / scale if diff else 0.0


def torch_eval_nats(model, tokens):
    """charrnn eval: mean cross-entropy of every next-token prediction, state from zero carried over the file."""
    logits = logits_over(model, tokens[:-1])
    return F.cross_entropy(logits, torch.tensor(tokens[1:]), reduction="mean").item(), len(tokens) - 1


def first_step_loss(model, tokens, batch, seq_len):
    """Step 1 of charrnn train: mean cross-entropy over T steps of B streams, stream b reading shard b from its
    start (README, "Data order")."""
    shard = (len(tokens) - 1) // batch
    streams = torch.tensor([tokens[b * shard:b * shard + seq_len + 1] for b in range(batch)]).T      # [T+1,B]
    with torch.no_grad():
        logits, _ = model(streams[:-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), streams[1:].reshape(-1)).item()


class Checks:
    def __init__(self, cli, library, work):
        self.cli, self.library, self.work = cli, library, work
        self.text_path = self.write("text.txt", TEXT)
        self.probe_path = self.write("probe.txt", PROBE)

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def file(self, name):
        return os.path.join(self.work, name)

    def same_logits(self, model_path):
        """libcharrnn vs PyTorch (float64) over PROBE, and `charrnn eval` vs PyTorch over PROBE."""
        model, vocab, _ = load_charrnn(model_path)
        model = model.double()
        tokens = encode(vocab, PROBE)
        error = logits_error(self.library.logits(model_path, tokens, len(vocab)), logits_over(model, tokens).numpy())
        if error > LOGITS_TOL:
            raise Failure(f"logits differ by {error:.2e} relative (tolerance {LOGITS_TOL:g})")
        nats, predictions = self.cli.eval_nats(model_path, self.probe_path)
        want, count = torch_eval_nats(model, tokens)
        if predictions != count or abs(nats - want) > LOGITS_TOL * want:
            raise Failure(f"charrnn eval: {nats:.6f} nats/char over {predictions} predictions, "
                          f"PyTorch {want:.6f} over {count}")
        return f"logits rel {error:.1e}", f"eval {nats:.5f} = {want:.5f} nats/char"

    # -- the cases ----------------------------------------------------------------------------------------------------

    def logits(self, cell, layers, relu=False):
        path = self.file(f"trained-{cell}{layers}{'-relu' if relu else ''}.safetensors")
        extra = (["--forget-bias", 1] if cell == "lstm" else []) + (["--relu"] if relu else [])
        self.cli.run("train", "--input", self.text_path, "--cell", cell, "--layers", layers, "--hidden", 24,
                     "--dropout", 0.1 if layers > 1 else 0, "--seq-len", 20, "--batch", 4, "--steps", 40,
                     "--seed", layers, "--val-frac", 0, "--eval-every", 0, "--checkpoint", path, "--json", *extra)
        meta = read_safetensors(path)[1]
        if (meta.get("format"), meta.get("cell"), meta.get("layers")) != ("charrnn-fast/2", cell, str(layers)):
            raise Failure(f"the checkpoint says format {meta.get('format')}, cell {meta.get('cell')}, "
                          f"layers {meta.get('layers')}")
        return self.same_logits(path)

    def sgd(self, cell, layers, hidden=16, seq_len=12, lr=0.5):
        text = TEXT[:300]
        vocab = sorted(set(text))
        torch.manual_seed(10 * layers + sorted(CELLS).index(cell))
        model = CharRnnTorch(len(vocab), hidden, cell, layers).double()
        folded = folded_bias_rows(model)
        with torch.no_grad():
            for name, mask in folded.items():
                getattr(model.rnn, name)[mask] = 0.0
        start_path, out_path = (self.file(f"sgd-{cell}{layers}{suffix}.safetensors") for suffix in ("", "-1"))
        save_charrnn(start_path, model, vocab)
        start = {k: v.astype(np.float64) for k, v in read_safetensors(start_path)[0].items()}   # float32 as stored
        self.cli.run("train", "--input", self.write("sgd.txt", text), "--init-from", start_path, "--optimizer", "sgd",
                     "--lr", lr, "--clip", 0, "--steps", 1, "--batch", 1, "--seq-len", seq_len, "--cell", cell,
                     "--layers", layers, "--val-frac", 0, "--eval-every", 0, "--checkpoint", out_path, "--json")
        engine = read_safetensors(out_path)[0]

        # PyTorch: the stored (float32) start, in float64; loss summed over the T steps of stream 0 (B = 1)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()}, strict=True)
        tokens = torch.tensor(encode(vocab, text))
        logits, _ = model(tokens[:seq_len].reshape(-1, 1))
        F.cross_entropy(logits.reshape(seq_len, -1), tokens[1:seq_len + 1], reduction="sum").backward()
        with torch.no_grad():
            for name, mask in folded.items():
                getattr(model.rnn, name).grad[mask] = 0.0        # charrnn trains one bias per gate row, in bias_ih
            for p in model.parameters():
                p -= lr * p.grad
        want = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        worst_weight, worst_update, rows = 0.0, 0.0, []
        for name, value in want.items():
            if name not in engine:
                raise Failure(f"the checkpoint has no {name}")
            if engine[name].shape != value.shape:
                raise Failure(f"{name} is {list(engine[name].shape)} in the checkpoint, {list(value.shape)} in PyTorch")
            weight, update = relative(engine[name], value), update_error(engine[name], value, start[name])
            worst_weight, worst_update = max(worst_weight, weight), max(worst_update, update)
            if weight > WEIGHT_TOL or update > UPDATE_TOL:
                rows.append(f"{name}: weights rel {weight:.1e}, update rel {update:.1e}")
        if rows:
            raise Failure("; ".join(rows))
        return f"weights rel {worst_weight:.1e}", f"updates rel {worst_update:.1e} over {len(want)} tensors"

    def torch_trained(self, cell, layers):
        model, vocab, _ = train_torch(TEXT, cell, layers, hidden=32, seq_len=25, batch=8, steps=300, lr=1e-2,
                                      dropout=0.1, seed=layers)
        path, continued = (self.file(f"torch-{cell}{layers}{suffix}.safetensors") for suffix in ("", "+20"))
        save_charrnn(path, model, vocab)
        if not any(np.abs(v).max() > 0 for k, v in read_safetensors(path)[0].items() if "bias_hh" in k):
            raise Failure("PyTorch's bias_hh stayed zero: the folding of bias_hh on load is not exercised")
        metric, detail = self.same_logits(path)
        events = self.cli.json_events("train", "--input", self.text_path, "--init-from", path, "--steps", 20,
                                      "--batch", 16, "--seq-len", 25, "--dropout", 0, "--val-frac", 0,
                                      "--eval-every", 0, "--print-every", 1, "--checkpoint", continued)
        first = next((e["loss"] for e in events if e.get("step") == 1 and "loss" in e), None)
        want = first_step_loss(model.double(), encode(vocab, TEXT), batch=16, seq_len=25)
        if first is None or abs(first - want) > LOGITS_TOL * want:
            raise Failure(f"train --init-from's first loss is {first}, PyTorch's on the same chunk {want:.6f}")
        if not math.isfinite(events[-1].get("smooth_loss", float("nan"))):
            raise Failure(f"train --init-from ended with {events[-1]}")
        sample = self.cli.run("sample", "--model", continued, "--length", 80, "--seed", 3)
        outside = sorted(set(sample) - set(vocab) - {"\n"})
        if not sample.strip():
            raise Failure(f"charrnn sample printed no text: {sample!r}")
        if outside:
            raise Failure(f"charrnn sample printed characters outside the vocabulary: {outside}")
        return metric, f"{detail}; first step loss {first:.5f} = {want:.5f}; sample {sample.strip()[:24]!r}"

    def format1(self):
        rng = np.random.default_rng(5)
        vocab, hidden = sorted(set(TEXT)), 20
        # Whh small enough (spectral radius about 0.7) that the comparison measures the format, not chaos
        v = len(vocab)
        w = {"Wxh": rng.standard_normal((hidden, v)) * 0.4, "Whh": rng.standard_normal((hidden, hidden)) * 0.15,
             "bh": rng.standard_normal(hidden) * 0.2, "Why": rng.standard_normal((v, hidden)) * 0.4,
             "by": rng.standard_normal(v) * 0.2}
        path = self.file("format1.safetensors")
        readme_save(path, w, vocab)
        return self.same_logits(path)

    def embedding(self, cell, layers=2):
        vocab = sorted(set(TEXT))
        torch.manual_seed(7)
        model = nn.Module()
        model.embedding, model.fc = nn.Embedding(len(vocab), 10), nn.Linear(24, len(vocab))
        model.rnn = CELLS[cell](10, 24, num_layers=layers)
        path = self.file(f"embedding-{cell}{layers}.safetensors")
        save_charrnn(path, model, vocab)
        return self.same_logits(path)


def folded_bias_rows(model):
    """The rows of each bias_hh that charrnn folds into bias_ih: all of them, except the GRU's n rows (b_hn)."""
    rnn, hidden = model.rnn, model.rnn.hidden_size
    masks = {}
    for k in range(rnn.num_layers):
        mask = torch.ones(getattr(rnn, f"bias_hh_l{k}").shape[0], dtype=torch.bool)
        if isinstance(rnn, nn.GRU):
            mask[2 * hidden:] = False
        masks[f"bias_hh_l{k}"] = mask
    return masks


# ---------------------------------------------------------------------------------------------------------------------
# the run


def default_charrnn():
    aot = os.path.join(ROOT, "out", "release", "charrnn")
    if os.access(aot, os.X_OK):
        return [aot]
    dll = os.path.join(ROOT, "src", "CharRnn.Cli", "bin", "Release", "net10.0", "charrnn.dll")
    return ["dotnet", dll] if os.path.exists(dll) else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--charrnn", help="the command that runs the CLI: 'out/release/charrnn', 'dotnet …/charrnn.dll'")
    parser.add_argument("--lib", default=os.path.join(ROOT, "out", "release", "libcharrnn.so"), help="libcharrnn.so")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--layers", default="1,2,3")
    parser.add_argument("--checks", default="logits,sgd,torch,format1,embedding")
    parser.add_argument("--keep", metavar="DIR", help="write the models and texts to DIR and keep them")
    a = parser.parse_args()
    command = shlex.split(a.charrnn) if a.charrnn else default_charrnn()
    if command is None:
        print("check_engine.py: error: no charrnn found; build it (release/build, or dotnet build "
              "src/CharRnn.Cli -c Release) or pass --charrnn CMD", file=sys.stderr)
        return 2
    try:
        library = Library(a.lib)
    except OSError as e:
        print(f"check_engine.py: error: cannot load {a.lib}: {e}\n  build it with release/build, or pass --lib PATH", file=sys.stderr)
        return 2
    cells, depths, wanted = a.cells.split(","), [int(x) for x in a.layers.split(",")], a.checks.split(",")
    work = a.keep or tempfile.mkdtemp(prefix="charrnn-interop-")
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    cli = Cli(command, work)
    checks = Checks(cli, library, work)

    print(f"charrnn: {shlex.join(command)}\nlibcharrnn: {a.lib}\nwork: {work}")
    cases = []      # (check, cell, layers, run)
    for cell in cells:
        for layers in depths:
            cases += [(c, cell, layers, partial(m, cell, layers)) for c, m in (
                ("logits", checks.logits), ("sgd", checks.sgd), ("torch", checks.torch_trained)) if c in wanted]
    if "logits" in wanted and "rnn" in cells:
        cases.append(("logits", "rnn relu", 2, partial(checks.logits, "rnn", 2, relu=True)))
    if "format1" in wanted:
        cases.append(("format1", "rnn", 1, checks.format1))
    cases += [("embedding", cell, 2, partial(checks.embedding, cell, 2)) for cell in cells if "embedding" in wanted]

    print(f"\n{'check':<10} {'cell':<8} {'L':>2}  {'result':<6}  {'metric':<22} detail")
    failed = 0
    for name, cell, layers, run in cases:
        try:
            metric, detail = run()
            result = "PASS"
        except Failure as e:
            result, metric, detail = "FAIL", "", str(e)
        except (EngineError, ValueError, OSError) as e:
            result, metric, detail = "ERROR", "", str(e)
        failed += result != "PASS"
        print(f"{name:<10} {cell:<8} {layers:>2}  {result:<6}  {metric:<22} {detail}", flush=True)
    print(f"\n{len(cases) - failed} of {len(cases)} cases passed")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
