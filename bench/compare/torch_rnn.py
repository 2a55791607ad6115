"""The benchmark workload in PyTorch: one-hot char model (nn.RNN tanh, nn.LSTM or nn.GRU with L layers, V=65 -> H -> V),
T=25, Adam, clip 5.

Prints one JSON line: {"framework":"pytorch","train_chars_per_s":..,"generate_us_per_char":..,"weights":..}.
--weights sets what generation runs on, as charrnn bench's option does: f32; bf16 (the model cast to torch.bfloat16);
int8 (torch.quantization.quantize_dynamic of the LSTM/GRU/RNN and the Linear, on each quantized engine this PyTorch
supports, keeping the fastest, named in "int8_engine"). Training always runs in f32.
Threads are pinned by the caller (torch.set_num_threads here, OPENBLAS/OMP env vars set before start).
"""
import argparse, copy, json, time
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
p.add_argument("--weights", choices=["f32", "bf16", "int8"], default="f32")
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

class Model(torch.nn.Module):
    def __init__(self, rnn, fc):
        super().__init__()
        self.rnn, self.fc = rnn, fc

def generation_us(model, dtype):
    """µs per generated character: batch 1, one step per call, sampling from the softmax (temperature 1)."""
    codes = eye.to(dtype)
    state = zeros(1)
    state = tuple(s.to(dtype) for s in state) if isinstance(state, tuple) else state.to(dtype)
    g = {"h": state, "x": codes[0].view(1, 1, V)}
    def gen():
        out, g["h"] = model.rnn(g["x"], g["h"])
        i = torch.multinomial(torch.softmax(model.fc(out[0]).float()[0], -1), 1).item()
        g["x"] = codes[i].view(1, 1, V)
    with torch.no_grad():
        for _ in range(50):
            gen()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < a.seconds / 2:
            gen(); n += 1
    return (time.perf_counter() - start) / n * 1e6

result = {"framework": "pytorch", "train_chars_per_s": train, "weights": a.weights}
model = Model(rnn, head)
if a.weights == "f32":
    result["generate_us_per_char"] = generation_us(model, torch.float32)
elif a.weights == "bf16":
    result["generate_us_per_char"] = generation_us(copy.deepcopy(model).to(torch.bfloat16), torch.bfloat16)
else:
    best = None
    for engine in [e for e in torch.backends.quantized.supported_engines if e != "none"]:
        torch.backends.quantized.engine = engine
        quantized = torch.quantization.quantize_dynamic(copy.deepcopy(model), {type(rnn), torch.nn.Linear}, dtype=torch.qint8)
        us = generation_us(quantized, torch.float32)
        if best is None or us < best[0]:
            best = (us, engine)
    result["generate_us_per_char"], result["int8_engine"] = best
print(json.dumps(result))
