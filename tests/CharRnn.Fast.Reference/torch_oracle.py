"""PyTorch as the second oracle of the naive reference (NaiveStackedRnn), in float64.

Reads a JSON list of cases (argv[1]), one character model each: nn.RNN/LSTM/GRU(V, H, num_layers=L, dropout=p) as
attribute `rnn` and nn.Linear(H, V) as `fc`, loaded with load_state_dict(strict=True) from the reference's tensors.
For each case prints, as one JSON object on stdout: the logits [T,B,V], the loss (cross-entropy summed over time,
averaged over streams), every parameter's gradient, the gradient of h0 (and c0), the final state, the dropout masks
PyTorch drew ([L-1,T,B,H], reproduced by F.dropout on ones from the same seed), and the weights after `rmsprop_steps`
steps of torch.optim.RMSprop. Debian's python3-torch only.
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch import nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class CharModel(nn.Module):
    def __init__(self, case):
        super().__init__()
        v, h, layers = case["vocab"], case["hidden"], case["layers"]
        extra = {"nonlinearity": case["nonlinearity"]} if case["cell"] == "rnn" else {}
        dropout = case["dropout"] if layers > 1 else 0.0
        self.rnn = CELLS[case["cell"]](v, h, num_layers=layers, dropout=dropout, **extra)
        self.fc = nn.Linear(h, v)


def flat(t):
    return t.detach().reshape(-1).tolist()


def run(case):
    torch.set_default_dtype(torch.float64)
    model = CharModel(case).double()
    state = model.state_dict()
    model.load_state_dict({k: torch.tensor(case["params"][k]).reshape(state[k].shape) for k in state}, strict=True)
    model.train()
    T, B, V, H, L = case["steps"], case["batch"], case["vocab"], case["hidden"], case["layers"]
    lstm = case["cell"] == "lstm"
    x = F.one_hot(torch.tensor(case["tokens"]).reshape(T, B), V).double()
    targets = torch.tensor(case["targets"])
    h0 = torch.tensor(case["h0"]).reshape(L, B, H).requires_grad_()
    c0 = torch.tensor(case["c0"]).reshape(L, B, H).requires_grad_() if lstm else None
    p, seed = case["dropout"], case["seed"]

    def forward():
        torch.manual_seed(seed)   # the same masks in every forward pass
        out, final = model.rnn(x, (h0, c0) if lstm else h0)
        logits = model.fc(out)
        loss = F.cross_entropy(logits.reshape(T * B, V), targets, reduction="sum") / B
        return logits, loss, final

    torch.manual_seed(seed)
    masks = [F.dropout(torch.ones(T, B, H), p, training=True) for _ in range(L - 1)] if p > 0 else []
    logits, loss, final = forward()
    loss.backward()
    result = {
        "name": case["name"],
        "logits": flat(logits),
        "loss": loss.item(),
        "grads": {k: flat(v.grad) for k, v in model.named_parameters()},
        "h0_grad": flat(h0.grad),
        "c0_grad": flat(c0.grad) if lstm else None,
        "hn": flat(final[0] if lstm else final),
        "cn": flat(final[1]) if lstm else None,
        "masks": [v for m in masks for v in flat(m)],
    }
    optimizer = torch.optim.RMSprop(model.parameters(), lr=case["rmsprop_lr"], alpha=case["rmsprop_alpha"], eps=1e-8)
    for step in range(case["rmsprop_steps"]):
        if step > 0:
            optimizer.zero_grad()
            forward()[1].backward()
        optimizer.step()
    result["after_rmsprop"] = {k: flat(v) for k, v in model.named_parameters()}
    return result


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    for c in cases:
        print(json.dumps(run(c)))
