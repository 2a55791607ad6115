"""Self-tests of charrnn_torch.py that need PyTorch only (no engine):  /usr/bin/python3 interop/test_interop.py"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from charrnn_torch import (CharRnnTorch, encode, load_charrnn, logits_over, read_safetensors,  # noqa: E402
                           save_charrnn, train_torch, write_safetensors)

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = "the quick brown fox jumps over the lazy dog; ünïcödé and 🦊 too.\n" * 3
VOCAB = sorted(set(TEXT))


def readme_save(path, tensors, vocab):
    """The README's numpy writer (files closed): an independent writer of format-1 files."""
    header, offset, blobs = {"__metadata__": {"vocab": json.dumps(vocab)}}, 0, []
    for k, t in tensors.items():
        b = np.ascontiguousarray(t, "<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-(8 + len(h)) % 64)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def readme_load(path):
    """The README's numpy reader (files closed; F32 only): an independent reader."""
    raw = read_bytes(path)
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], "<f4").reshape(v["shape"])
               for k, v in header.items()}
    return tensors, json.loads(meta["vocab"])


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, content):
    with open(path, "wb") as f:
        f.write(content)


def random_model(cell, layers, hidden=7, nonlinearity="tanh", seed=0):
    """PyTorch's default init, then every bias (bias_hh included) made clearly nonzero."""
    torch.manual_seed(seed)
    model = CharRnnTorch(len(VOCAB), hidden, cell, layers, nonlinearity, dropout=0.3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5)
    return model.eval()


class Scratch(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.dir = self._dir.name

    def tearDown(self):
        self._dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)


class SafetensorsTests(Scratch):
    def test_round_trip_of_every_dtype(self):
        rng = np.random.default_rng(1)
        values = {"matrix": rng.standard_normal((5, 3)), "vector": rng.standard_normal(4) * 1e3,
                  "empty": np.zeros((0, 2)), "cube": rng.standard_normal((2, 3, 4))}
        meta = {"vocab": json.dumps(["a", "é", "🦊"], ensure_ascii=False), "note": "ünïcödé"}
        expected_dtype = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "BF16": np.float32}
        for dtype in ("F32", "F64", "F16", "BF16"):
            with self.subTest(dtype=dtype):
                write_safetensors(self.path(dtype), values, meta, dtype)
                tensors, metadata = read_safetensors(self.path(dtype))
                self.assertEqual(metadata, meta)
                self.assertEqual(list(tensors), list(values))
                for name, v in values.items():
                    self.assertEqual(tensors[name].shape, v.shape)
                    self.assertEqual(tensors[name].dtype, expected_dtype[dtype])
                    want = bf16_reference(v) if dtype == "BF16" else v.astype(expected_dtype[dtype])
                    np.testing.assert_array_equal(tensors[name], want)
                raw = read_bytes(self.path(dtype))
                self.assertEqual((8 + struct.unpack("<Q", raw[:8])[0]) % 64, 0, "the data starts 64-byte aligned")

    def test_bf16_rounds_to_nearest_even(self):
        # between the bfloat16 neighbours 1 and 1 + 2^-7: a tie goes to the even one, anything above the tie rounds up
        v = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -2.0, np.inf], np.float32)
        write_safetensors(self.path("b"), {"v": v}, dtype="BF16")
        np.testing.assert_array_equal(read_safetensors(self.path("b"))[0]["v"],
                                      [1.0, 1 + 2 ** -6, 1 + 2 ** -7, -2.0, np.inf])
        write_safetensors(self.path("n"), {"v": np.array([np.nan], np.float32)}, dtype="BF16")
        self.assertTrue(np.isnan(read_safetensors(self.path("n"))[0]["v"][0]))

    def test_f32_files_read_by_the_readme_reader(self):
        t = {"Wxh": np.arange(6, dtype=np.float32).reshape(2, 3) / 7}
        write_safetensors(self.path("m"), t, {"vocab": '["a","b","c"]'})
        tensors, vocab = readme_load(self.path("m"))
        np.testing.assert_array_equal(tensors["Wxh"], t["Wxh"])
        self.assertEqual(vocab, ["a", "b", "c"])

    def test_malformed_files_are_refused(self):
        write_safetensors(self.path("ok"), {"w": np.ones((2, 2))}, {"k": "v"})
        raw = read_bytes(self.path("ok"))
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])

        def with_header(h):
            body = json.dumps(h).encode()
            return struct.pack("<Q", len(body)) + body + raw[8 + n:]

        cases = {
            "truncated": raw[:-1],
            "short": raw[:5],
            "header past the end": struct.pack("<Q", len(raw)) + raw[8:],
            "not json": raw[:8] + b"{" * n + raw[8 + n:],
            "bad dtype": with_header({**header, "w": {**header["w"], "dtype": "I32"}}),
            "offsets out of range": with_header({**header, "w": {**header["w"], "data_offsets": [8, 24]}}),
            "shape disagrees": with_header({**header, "w": {**header["w"], "shape": [3, 2]}}),
            "metadata not strings": with_header({**header, "__metadata__": {"k": 1}}),
        }
        for name, content in cases.items():
            with self.subTest(name):
                write_bytes(self.path("bad"), content)
                with self.assertRaises(ValueError):
                    read_safetensors(self.path("bad"))


def bf16_reference(v):
    """bfloat16 round to nearest even, computed through float64 arithmetic rather than bit tricks."""
    v = v.astype(np.float32).astype(np.float64)
    out = np.zeros_like(v)
    nonzero = v != 0
    exponent = np.floor(np.log2(np.abs(v[nonzero])))
    quantum = 2.0 ** (exponent - 7)                        # 8 significant bits
    out[nonzero] = np.round(v[nonzero] / quantum) * quantum   # np.round: ties to even
    return out.astype(np.float32)


class ModelFileTests(Scratch):
    def test_save_then_load_gives_identical_logits_for_every_cell_and_depth(self):
        tokens = torch.tensor(encode(VOCAB, TEXT)).reshape(-1, 2)       # [T,B]: two streams
        for cell, nonlinearity in (("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")):
            for layers in (1, 2, 3):
                with self.subTest(cell=cell, nonlinearity=nonlinearity, layers=layers):
                    model = random_model(cell, layers, nonlinearity=nonlinearity, seed=layers)
                    save_charrnn(self.path("m"), model, VOCAB)
                    loaded, vocab, meta = load_charrnn(self.path("m"))
                    self.assertEqual(vocab, VOCAB)
                    self.assertEqual((meta["format"], meta["cell"], meta["layers"], meta["hidden_size"], meta["mode"]),
                                     ("charrnn-fast/2", cell, str(layers), "7", "stream"))
                    self.assertEqual(meta["nonlinearity"], nonlinearity)
                    self.assertEqual(float(meta["dropout"]), 0.3 if layers > 1 else 0.0)
                    self.assertEqual(type(loaded.rnn), type(model.rnn))
                    self.assertEqual(loaded.rnn.dropout, model.rnn.dropout)
                    with torch.no_grad():
                        self.assertTrue(torch.equal(loaded(tokens)[0], model(tokens)[0]))
                    tensors, _ = read_safetensors(self.path("m"))
                    names = {f"rnn.{k}" for k in model.rnn.state_dict()} | {"fc.weight", "fc.bias"}
                    self.assertEqual(set(tensors), names)
                    # the file is PyTorch's own state_dict: a plain module with `rnn` and `fc` loads it strictly
                    plain = nn.Module()
                    plain.rnn, plain.fc = type(model.rnn)(**rnn_kwargs(model.rnn)), nn.Linear(7, len(VOCAB))
                    plain.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)

    def test_checkpoint_state_tensors_are_ignored(self):
        model = random_model("lstm", 2)
        save_charrnn(self.path("m"), model, VOCAB)
        tensors, meta = read_safetensors(self.path("m"))
        tensors.update({"train.hidden": np.zeros((1, 2, 1, 7)), "adam.m.rnn.weight_hh_l0": np.ones((28, 7)),
                        "rnn.weight_hh_l0.adam_v": np.ones((28, 7)), "fc.bias.momentum": np.ones(len(VOCAB))})
        write_safetensors(self.path("ckpt"), tensors, {**meta, "optimizer": "adam", "step": "3"})
        loaded, _, _ = load_charrnn(self.path("ckpt"))
        tokens = torch.tensor(encode(VOCAB, TEXT)).reshape(-1, 1)
        with torch.no_grad():
            self.assertTrue(torch.equal(loaded(tokens)[0], model(tokens)[0]))

    def test_format_1_file_written_as_the_readme_writes_it_is_an_equivalent_rnn(self):
        rng = np.random.default_rng(2)
        v, h = len(VOCAB), 9
        w = {"Wxh": rng.standard_normal((h, v)) * 0.3, "Whh": rng.standard_normal((h, h)) * 0.3,
             "bh": rng.standard_normal((h, 1)) * 0.3, "Why": rng.standard_normal((v, h)) * 0.3,
             "by": rng.standard_normal(v) * 0.3}
        w = {k: x.astype(np.float32) for k, x in w.items()}
        tokens = encode(VOCAB, TEXT)
        for nonlinearity in ("tanh", "relu"):
            with self.subTest(nonlinearity=nonlinearity):
                readme_save(self.path("f1"), w, VOCAB)
                if nonlinearity == "relu":   # the README writer stores only vocab: add the nonlinearity by hand
                    tensors, meta = read_safetensors(self.path("f1"))
                    write_safetensors(self.path("f1"), tensors, {**meta, "nonlinearity": "relu"})
                model, vocab, _ = load_charrnn(self.path("f1"))
                self.assertIsInstance(model.rnn, nn.RNN)
                self.assertEqual((model.rnn.num_layers, model.rnn.nonlinearity), (1, nonlinearity))
                got = logits_over(model.double(), tokens).numpy()
                np.testing.assert_allclose(got, min_char_rnn_logits(w, tokens, nonlinearity), rtol=1e-6, atol=1e-6)

    def test_embedding_file_folds_to_the_embedding_models_logits(self):
        tokens = torch.tensor(encode(VOCAB, TEXT)).reshape(-1, 1)
        for cell in ("rnn", "lstm", "gru"):
            with self.subTest(cell=cell):
                torch.manual_seed(3)
                reference = nn.Module()
                reference.embedding = nn.Embedding(len(VOCAB), 5)
                reference.rnn, reference.fc = CELLS_BY_NAME[cell](5, 6, num_layers=2), nn.Linear(6, len(VOCAB))
                reference.double()
                save_charrnn(self.path("e"), reference, VOCAB)
                self.assertIn("embedding.weight", read_safetensors(self.path("e"))[0])
                model, _, meta = load_charrnn(self.path("e"))
                self.assertEqual(model.rnn.weight_ih_l0.shape, (GATES_BY_NAME[cell] * 6, len(VOCAB)))
                with torch.no_grad():
                    want = reference.fc(reference.rnn(reference.embedding(tokens))[0])[:, 0, :]
                    got = logits_over(model.double(), tokens.reshape(-1).tolist())
                # the file holds float32: the fold is exact up to float32 rounding of the stored weights
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)

    def test_bad_models_are_refused(self):
        model = random_model("gru", 2)
        with self.assertRaises(ValueError):
            save_charrnn(self.path("x"), model, VOCAB[:-1])                   # vocabulary too small
        with self.assertRaises(ValueError):
            save_charrnn(self.path("x"), model, list(reversed(VOCAB)))        # not sorted by code point
        with self.assertRaises(ValueError):
            save_charrnn(self.path("x"), model, VOCAB, mode="paragraphs")
        two_way = nn.Module()
        two_way.rnn, two_way.fc = nn.GRU(len(VOCAB), 4, bidirectional=True), nn.Linear(4, len(VOCAB))
        with self.assertRaises(ValueError):
            save_charrnn(self.path("x"), two_way, VOCAB)
        save_charrnn(self.path("m"), model, VOCAB)
        tensors, meta = read_safetensors(self.path("m"))
        for name, change in (("cell disagrees", lambda t, m: m.update(cell="lstm")),
                             ("layers disagree", lambda t, m: m.update(layers="3")),
                             ("missing tensor", lambda t, m: t.pop("rnn.bias_hh_l1")),
                             ("wrong shape", lambda t, m: t.update({"fc.bias": np.zeros(3)})),
                             ("unknown format", lambda t, m: m.update(format="charrnn-fast/9"))):
            with self.subTest(name):
                t, m = dict(tensors), dict(meta)
                change(t, m)
                write_safetensors(self.path("bad"), t, m)
                with self.assertRaises(ValueError):
                    load_charrnn(self.path("bad"))


CELLS_BY_NAME = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
GATES_BY_NAME = {"rnn": 1, "lstm": 4, "gru": 3}


def rnn_kwargs(rnn):
    extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    return dict(input_size=rnn.input_size, hidden_size=rnn.hidden_size, num_layers=rnn.num_layers, **extra)


def min_char_rnn_logits(w, tokens, nonlinearity):
    """The format-1 model's equations in float64 numpy:
    h_t = act(Wxh·x_t + Whh·h_{t−1} + bh), y_t = Why·h_t + by."""
    act = np.tanh if nonlinearity == "tanh" else (lambda z: np.maximum(z, 0))
    w = {k: x.astype(np.float64) for k, x in w.items()}
    h, out = np.zeros(w["Whh"].shape[0]), []
    for token in tokens:
        h = act(w["Wxh"][:, token] + w["Whh"] @ h + w["bh"].reshape(-1))
        out.append(w["Why"] @ h + w["by"])
    return np.array(out)


class TrainingAndCommandLineTests(Scratch):
    def test_train_torch_learns_and_saves_a_loadable_model(self):
        model, vocab, loss = train_torch(TEXT, "lstm", layers=2, hidden=16, seq_len=10, batch=4, steps=60, lr=1e-2,
                                         dropout=0.1)
        self.assertLess(loss, 0.8 * np.log(len(vocab)), "sixty Adam steps learn something")
        save_charrnn(self.path("t"), model, vocab)
        loaded, _, meta = load_charrnn(self.path("t"))
        self.assertEqual(meta["dropout"], "0.1")
        tokens = torch.tensor(encode(vocab, TEXT)).reshape(-1, 1)
        with torch.no_grad():
            self.assertTrue(torch.equal(loaded(tokens)[0], model(tokens)[0]))

    def test_train_torch_reads_charrnns_data_order(self):
        # steps 0 and 1 of an epoch read consecutive chunks of each shard: with the text "abcdefghij…" the first
        # stream's first inputs are the text's first T characters
        text = "".join(chr(ord("a") + i % 26) for i in range(101))
        seen = []
        original = CharRnnTorch.forward

        def spy(self, tokens, state=None):
            seen.append((tokens.clone(), state is None))
            return original(self, tokens, state)

        CharRnnTorch.forward = spy
        try:
            train_torch(text, "gru", layers=1, hidden=4, seq_len=5, batch=2, steps=11, lr=1e-3)
        finally:
            CharRnnTorch.forward = original
        vocab = sorted(set(text))
        decode = lambda column: "".join(vocab[i] for i in column.tolist())   # noqa: E731
        shard = (len(text) - 1) // 2                                          # 50 tokens, 10 steps an epoch
        self.assertEqual([decode(t[:, 0]) for t, _ in seen[:2]], [text[0:5], text[5:10]])
        self.assertEqual([decode(t[:, 1]) for t, _ in seen[:2]], [text[shard:shard + 5], text[shard + 5:shard + 10]])
        self.assertEqual([fresh for _, fresh in seen], [True] + [False] * 9 + [True], "state reset at each epoch")

    def test_logits_command_prints_the_models_logits(self):
        model = random_model("gru", 2)
        save_charrnn(self.path("m"), model, VOCAB)
        command = [sys.executable, os.path.join(HERE, "charrnn_torch.py"), "logits", self.path("m"), "the 🦊"]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        printed = json.loads(out)
        self.assertEqual(printed["vocab"], VOCAB)
        want = logits_over(model.double(), encode(VOCAB, "the 🦊"))
        np.testing.assert_allclose(np.array(printed["logits"]), want.numpy(), rtol=0, atol=1e-12)

    def test_command_line_errors_are_one_line(self):
        model = random_model("rnn", 1)
        save_charrnn(self.path("m"), model, VOCAB)
        run = subprocess.run([sys.executable, os.path.join(HERE, "charrnn_torch.py"), "logits", self.path("m"), "XYZ"],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        self.assertTrue(run.stderr.startswith("charrnn_torch.py: error: characters outside"), run.stderr)


if __name__ == "__main__":
    unittest.main()
