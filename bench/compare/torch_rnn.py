"""The benchmark workload in PyTorch: one-hot char model (nn.RNN tanh, nn.LSTM or nn.GRU with L layers, V=65 -> H -> V),
T=25, Adam, clip 5.

Prints one JSON line: {"framework":"pytorch","train_chars_per_s":..,"generate_us_per_char":..}.
Threads are pinned by the caller (torch.set_num_threads here, OPENBLAS/OMP env vars set before start).
"""
import argparse, json, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
p.add_argument("--layers", type=int, default=1)
p.add_argument("--batch", type=int, default=1)
p.add_argument("--seq-len", type=int, default=25)
p.add_argument("--vocab", type=int, default=65)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seconds", type=float, default=3.0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
V, H, B, T, L = a.vocab, a.hidden, a.batch, a.seq_len, a.layers

rnn = {"rnn": lambda: torch.nn.RNN(V, H, num_layers=L, nonlinearity="tanh"),
       "lstm": lambda: torch.nn.LSTM(V, H, num_layers=L), "gru": lambda: torch.nn.GRU(V, H, num_layers=L)}[a.cell]()
head = torch.nn.Linear(H, V)
params = list(rnn.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
eye = torch.eye(V)
tokens = torch.randint(0, V, (200_000,))
shard = (len(tokens) - 1) // B
def zeros(batch):
    h0 = torch.zeros(L, batch, H)
    return (h0, torch.zeros(L, batch, H)) if a.cell == "lstm" else h0

def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

h = zeros(B)
cursor = 0

def step():
    global h, cursor
    if (cursor + 1) * T > shard:
        cursor, h = 0, zeros(B)
    idx = torch.arange(B) * shard + cursor * T
    pos = idx[None, :] + torch.arange(T)[:, None]          # [T,B]
    x, y = eye[tokens[pos]], tokens[pos + 1]
    out, hn = rnn(x, h)
    loss = torch.nn.functional.cross_entropy(head(out).reshape(T * B, V), y.reshape(T * B))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_value_(params, 5.0)
    opt.step()
    h = detach(hn)
    cursor += 1

for _ in range(5):
    step()
n, start = 0, time.perf_counter()
while time.perf_counter() - start < a.seconds:
    step(); n += 1
train = n * T * B / (time.perf_counter() - start)

with torch.no_grad():
    hg, x = zeros(1), eye[0].view(1, 1, V)
    def gen():
        global hg, x
        out, hg = rnn(x, hg)
        i = torch.multinomial(torch.softmax(head(out[0, 0]), -1), 1).item()
        x = eye[i].view(1, 1, V)
    for _ in range(50):
        gen()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < a.seconds / 2:
        gen(); n += 1
    us = (time.perf_counter() - start) / n * 1e6
print(json.dumps({"framework": "pytorch", "train_chars_per_s": train, "generate_us_per_char": us}))
