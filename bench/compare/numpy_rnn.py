"""The benchmark workload in numpy, min-char-rnn style (batched over B streams): V=65, T=25, Adam, clip 5.

Prints one JSON line: {"framework":"numpy","train_chars_per_s":..,"generate_us_per_char":..}.
BLAS threads are pinned by the caller (OPENBLAS_NUM_THREADS set before start).
"""
import argparse, json, time
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--batch", type=int, default=1)
p.add_argument("--seq-len", type=int, default=25)
p.add_argument("--vocab", type=int, default=65)
p.add_argument("--seconds", type=float, default=3.0)
a = p.parse_args()
V, H, B, T = a.vocab, a.hidden, a.batch, a.seq_len
rng = np.random.default_rng(0)
f32 = np.float32
Wxh, Whh, Why = (rng.standard_normal(s).astype(f32) * f32(0.01) for s in [(H, V), (H, H), (V, H)])
bh, by = np.zeros(H, f32), np.zeros(V, f32)
params = [Wxh, Whh, bh, Why, by]
ms = [np.zeros_like(q) for q in params]
vs = [np.zeros_like(q) for q in params]
tokens = rng.integers(0, V, 200_000)
shard = (len(tokens) - 1) // B
state = {"h": np.zeros((B, H), f32), "cursor": 0, "t": 0}

def step():
    if (state["cursor"] + 1) * T > shard:
        state["cursor"], state["h"] = 0, np.zeros((B, H), f32)
    pos = np.arange(B) * shard + state["cursor"] * T
    hs = {-1: state["h"]}
    ps, xs, ys = {}, {}, {}
    loss = 0.0
    for t in range(T):
        xs[t], ys[t] = tokens[pos + t], tokens[pos + t + 1]
        hs[t] = np.tanh(Wxh[:, xs[t]].T + hs[t - 1] @ Whh.T + bh)
        z = hs[t] @ Why.T + by
        e = np.exp(z - z.max(1, keepdims=True))
        ps[t] = e / e.sum(1, keepdims=True)
        loss -= np.log(ps[t][np.arange(B), ys[t]]).sum()
    grads = [np.zeros_like(q) for q in params]
    dWxh, dWhh, dbh, dWhy, dby = grads
    dnext = np.zeros((B, H), f32)
    for t in reversed(range(T)):
        dy = ps[t].copy(); dy[np.arange(B), ys[t]] -= 1; dy /= B
        dWhy += dy.T @ hs[t]; dby += dy.sum(0)
        draw = (1 - hs[t] ** 2) * (dy @ Why + dnext)
        dWhh += draw.T @ hs[t - 1]; dbh += draw.sum(0)
        np.add.at(dWxh.T, xs[t], draw)
        dnext = draw @ Whh
    state["t"] += 1
    t = state["t"]
    for q, g, m, v in zip(params, grads, ms, vs):
        np.clip(g, -5, 5, out=g)
        m *= 0.9; m += 0.1 * g
        v *= 0.999; v += 0.001 * g * g
        q -= f32(1e-3 / (1 - 0.9 ** t)) * m / (np.sqrt(v / (1 - 0.999 ** t)) + f32(1e-8))
    state["h"] = hs[T - 1]
    state["cursor"] += 1

for _ in range(3):
    step()
n, start = 0, time.perf_counter()
while time.perf_counter() - start < a.seconds:
    step(); n += 1
train = n * T * B / (time.perf_counter() - start)

h, x = np.zeros(H, f32), 0
def gen(x, h):
    h = np.tanh(Wxh[:, x] + Whh @ h + bh)
    z = Why @ h + by
    e = np.exp(z - z.max()); pr = e / e.sum()
    return int(rng.choice(V, p=pr)), h
for _ in range(50):
    x, h = gen(x, h)
n, start = 0, time.perf_counter()
while time.perf_counter() - start < a.seconds / 2:
    x, h = gen(x, h); n += 1
us = (time.perf_counter() - start) / n * 1e6
print(json.dumps({"framework": "numpy", "train_chars_per_s": train, "generate_us_per_char": us}))
