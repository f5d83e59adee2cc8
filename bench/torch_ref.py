#!/usr/bin/env python3
"""PyTorch reference for rotor's benchmark suite (`deno task bench`).

The same measurements as `bench:train` and `bench:serve`, for equivalent PyTorch models:
an embedding of H units tied to the output layer, one nn.RNN (tanh) or nn.GRU layer of H
units, a full softmax over the vocabulary; the same sizes and the same time-major batch
layout (rotor's forward pass runs rows t*B + b, PyTorch's RNNs take [T, B, H]).

  train     tokens/s of one training step (Adam, gradient clipping at 1) on random token
            ids [T, B], the hidden state carried from batch to batch, cells taking turns in
            each round as in rotor's step_time.ts. urnn/ugru are nn.RNN/nn.GRU whose H x H
            recurrent blocks take rotor's orthogonal step W <- exp(-lr*A) W along Adam's
            direction (torch.matrix_exp), the rest plain Adam.
  generate  eager generation from an untrained GRU: one token at a time, log-softmax and
            multinomial sampling (<unk> never drawn), single stream and N streams batched.
  score     the PTB test set: tokenize, then the recurrence once over 10 side-by-side
            columns and the output projection in batched chunks (rotor's /v1/perplexity
            layout), tokens/s and perplexity.
  matmul    a plain [B*T x H] @ [H x V] product: the machine's roofline for the same work.

Prints one JSON document on stdout (read by bench/results.ts, TorchRefSchema); progress
goes to stderr. Untrained weights: speed does not depend on their values.
"""
import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit(
        f"torch_ref.py: PyTorch is not installed for {sys.executable}; "
        "install it (Debian: apt-get install python3-torch) to compare rotor with PyTorch"
    )

CELLS = ("rnn", "urnn", "gru", "ugru")
WHAT = ("matmul", "train", "generate", "score")


def int_list(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected comma-separated integers, got "{text}"')
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f'expected integers of at least 1, got "{text}"')
    return values


def choice_list(options):
    def parse(text):
        values = text.split(",")
        bad = [v for v in values if v not in options]
        if bad:
            raise argparse.ArgumentTypeError(
                f'unknown "{bad[0]}" in "{text}"; expected some of {",".join(options)}'
            )
        return values

    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--what", type=choice_list(WHAT), default=list(WHAT),
                   help="measurements, comma-separated (default: all)")
    p.add_argument("--reps", type=int, default=5, help="timed rounds (default 5)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    p.add_argument("--threads", type=int, default=cores,
                   help="torch threads (default: every core this process may use)")
    p.add_argument("--data", default=os.environ.get("PTB_DIR", "data/ptb"),
                   help="PTB folder (default $PTB_DIR, else data/ptb)")
    p.add_argument("--cells", type=choice_list(CELLS), default=list(CELLS),
                   help="cells to train (default rnn,urnn,gru,ugru)")
    p.add_argument("--bptt", type=int_list, default=[35, 150], help="BPTT lengths (default 35,150)")
    p.add_argument("--batch", type=int, default=20, help="batch size B (default 20)")
    p.add_argument("--hidden", type=int, default=256, help="hidden units H (default 256)")
    p.add_argument("--vocab", type=int, default=10000,
                   help="training vocabulary V (default 10000)")
    p.add_argument("--tokens", type=int, default=300,
                   help="tokens per concurrent stream; the single stream makes 3x (default 300)")
    p.add_argument("--streams", type=int_list, default=[8, 32],
                   help="concurrent stream counts (default 8,32)")
    p.add_argument("--score-lines", type=int, default=0,
                   help="PTB test lines to score (0: all)")
    p.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    p.add_argument("--device", default="cpu",
                   help="torch device for train and matmul, e.g. cuda (default cpu)")
    a = p.parse_args(argv)
    if a.device != "cpu":
        if not (a.device.startswith("cuda") and torch.cuda.is_available()):
            p.error(f'--device "{a.device}": this torch has cpu only' if not torch.cuda.is_available()
                    else f'--device "{a.device}": expected cpu or cuda[:N]')
        extra = [w for w in a.what if w not in ("train", "matmul")]
        if extra:
            p.error(f"--device {a.device} times train and matmul only; pass --what train,matmul")
    for name in ("reps", "threads", "batch", "hidden", "vocab", "tokens"):
        if getattr(a, name) < 1:
            p.error(f'--{name} must be at least 1, got "{getattr(a, name)}"')
    return a


def log(text):
    print(text, file=sys.stderr, flush=True)


def sync(a):
    """Wait for the device's queued work, so a timer read after it covers that work."""
    if a.device != "cpu":
        torch.cuda.synchronize(a.device)


def median(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, len(s) // 2)]  # nearest rank, as rotor's quantile()


class LM(nn.Module):
    """Embedding [V, H] -> one recurrent layer -> logits [T*B, V] through the tied embedding."""

    def __init__(self, cell, vocab, hidden):
        super().__init__()
        self.cell, self.hidden = cell, hidden
        self.embedding = nn.Embedding(vocab, hidden)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.rnn = (nn.GRU if cell in ("gru", "ugru") else nn.RNN)(hidden, hidden)
        self.bias = nn.Parameter(torch.zeros(vocab))
        if self.orthogonal():
            with torch.no_grad():
                for block in self.rnn.weight_hh_l0.split(hidden):  # [H, H] each
                    nn.init.orthogonal_(block)

    def orthogonal(self):
        return self.cell in ("urnn", "ugru")

    def forward(self, x, h):  # x [T, B] int64, h [1, B, H]
        out, h = self.rnn(self.embedding(x), h)  # [T, B, H]
        logits = F.linear(out.reshape(-1, self.hidden), self.embedding.weight, self.bias)
        return logits, h  # [T*B, V], rows t*B + b


class Trainer:
    """One training step of an LM, rotor's optimizer: clip at 1, Adam; orthogonal blocks
    rotate along Adam's direction D: with U = W^T (rotor multiplies h.U, PyTorch h.W^T),
    U <- exp(-lr*A) U, A = D_U U^T - U D_U^T, i.e. W <- W exp(lr * (D^T W - W^T D))."""

    def __init__(self, model, lr=1e-3, lr_orth=1e-4):
        self.model, self.lr_orth = model, lr_orth
        self.orth = model.rnn.weight_hh_l0 if model.orthogonal() else None
        rest = [p for p in model.parameters() if p is not self.orth]
        self.adam = torch.optim.Adam(rest, lr=lr, betas=(0.9, 0.999), eps=1e-8)
        self.m = self.v = None
        self.t = 0

    @torch.no_grad()
    def rotate(self):
        g, w, h = self.orth.grad, self.orth, self.model.hidden
        if self.m is None:
            self.m, self.v = torch.zeros_like(g), torch.zeros_like(g)
        self.t += 1
        self.m.mul_(0.9).add_(g, alpha=0.1)
        self.v.mul_(0.999).addcmul_(g, g, value=0.001)
        d = (self.m / (1 - 0.9**self.t)) / ((self.v / (1 - 0.999**self.t)).sqrt() + 1e-8)
        for wb, db in zip(w.split(h), d.split(h)):  # [H, H] blocks (r, z, n for the GRU)
            dtw = db.t() @ wb  # [H, H]
            wb.copy_(wb @ torch.matrix_exp(self.lr_orth * (dtw - dtw.t())))

    def step(self, x, y, h):
        self.adam.zero_grad(set_to_none=True)
        if self.orth is not None:
            self.orth.grad = None
        logits, h = self.model(x, h)
        loss = F.cross_entropy(logits, y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.adam.step()
        if self.orth is not None:
            self.rotate()
        return h.detach()


def bench_train(a):
    rows = []
    for bptt in a.bptt:
        setups = []
        for cell in a.cells:
            torch.manual_seed(a.seed)
            model = LM(cell, a.vocab, a.hidden).to(a.device)
            x = torch.randint(a.vocab, (bptt, a.batch), device=a.device)  # [T, B], time-major
            y = torch.randint(a.vocab, (bptt, a.batch), device=a.device)
            h = torch.zeros(1, a.batch, a.hidden, device=a.device)
            setups.append({"cell": cell, "trainer": Trainer(model), "x": x, "y": y, "h": h,
                           "times": []})
        for i in range(a.reps + 1):
            # Each round starts with a different cell, so none always runs first or last.
            for j in range(len(setups)):
                s = setups[(i + j) % len(setups)]
                t0 = time.perf_counter()
                s["h"] = s["trainer"].step(s["x"], s["y"], s["h"])
                sync(a)
                if i > 0:  # round 0 warms up
                    s["times"].append((time.perf_counter() - t0) * 1000)
            log(f"torch_ref train B = {a.batch}, T = {bptt}: round {i + 1}/{a.reps + 1}")
        for s in setups:
            ms = median(s["times"])
            rows.append({"cell": s["cell"], "bptt": bptt, "stepMs": ms,
                         "tokensPerS": a.batch * bptt / (ms / 1000), "stepSamples": s["times"]})
            log(f"  {s['cell']:5} T = {bptt}: {ms:.1f} ms/batch, "
                f"{rows[-1]['tokensPerS']:.0f} tokens/s")
    return {"batch": a.batch, "hidden": a.hidden, "vocab": a.vocab, "reps": a.reps, "rows": rows}


def bench_matmul(a):
    m, k, n = a.batch * a.bptt[0], a.hidden, a.vocab
    x, w = torch.randn(m, k, device=a.device), torch.randn(k, n, device=a.device)
    times = []
    for i in range(a.reps + 1):
        t0 = time.perf_counter()
        x @ w
        sync(a)
        if i > 0:
            times.append((time.perf_counter() - t0) * 1000)
    ms = median(times)
    log(f"torch_ref matmul [{m}x{k}] @ [{k}x{n}]: {ms:.1f} ms = {2 * m * k * n / ms / 1e6:.1f} GFLOPS")
    return {"m": m, "k": k, "n": n, "ms": ms, "gflops": 2 * m * k * n / ms / 1e6}


def ptb_lines(a, split):
    with open(os.path.join(a.data, f"ptb.{split}.txt"), encoding="utf-8") as f:
        return f.read().split("\n")


def ptb_vocab(a):
    """Word -> id over PTB train, <unk> and <eos> included (10,000 words)."""
    words = {"<unk>": 0, "<eos>": 1}
    for line in ptb_lines(a, "train"):
        for w in line.split():
            words.setdefault(w, len(words))
    return words


def tokens_of(lines):
    """PTB text -> tokens, one <eos> per non-empty line (rotor's lines mode)."""
    out = []
    for line in lines:
        words = line.split()
        if words:
            out.extend(words + ["<eos>"])
    return out


@torch.no_grad()
def bench_generate(a, vocab_size):
    torch.manual_seed(a.seed)
    model = LM("gru", vocab_size, a.hidden).eval()
    w = model.embedding.weight  # [V, H], the tied output layer

    def run(streams, tokens):
        x = torch.full((1, streams), 1, dtype=torch.long)  # <eos>: a text's start
        h = torch.zeros(1, streams, a.hidden)
        t0 = time.perf_counter()
        for _ in range(tokens):
            out, h = model.rnn(model.embedding(x), h)  # [1, B, H]
            logits = F.linear(out[0], w, model.bias)  # [B, V]
            logits[:, 0] = -math.inf  # <unk> is never drawn
            logp = F.log_softmax(logits, dim=-1)
            ids = torch.multinomial(logp.exp(), 1)  # [B, 1]
            logp.gather(1, ids).tolist()  # each token's logprob, as the server reports it
            x = ids.t()
        seconds = time.perf_counter() - t0
        return {"tokens": streams * tokens, "seconds": seconds,
                "tokensPerS": streams * tokens / seconds}

    run(1, 50)  # warm-up
    single = run(1, a.tokens * 3)
    log(f"torch_ref generate single stream: {single['tokensPerS']:.0f} tokens/s")
    streams = []
    for n in a.streams:
        streams.append({"n": n, **run(n, a.tokens)})
        log(f"torch_ref generate {n} streams: {streams[-1]['tokensPerS']:.0f} tokens/s")
    return {"hidden": a.hidden, "vocab": vocab_size, "single": single, "streams": streams}


@torch.no_grad()
def bench_score(a, vocab):
    torch.manual_seed(a.seed)
    model = LM("gru", len(vocab), a.hidden).eval()
    lines = ptb_lines(a, "test")
    if a.score_lines > 0:
        lines = lines[: a.score_lines]
    t0 = time.perf_counter()
    ids = [vocab.get(t, 0) for t in tokens_of(lines)]
    stream = torch.tensor([1] + ids)  # a leading <eos>, then every token is a target
    targets = len(ids)
    b = max(1, min(10, targets // 2))
    n = targets // b  # targets per column
    cols = stream[: b * n + 1]
    x = torch.stack([cols[r * n: r * n + n] for r in range(b)], 1)  # [n, b], time-major
    y = torch.stack([cols[r * n + 1: r * n + n + 1] for r in range(b)], 1)
    out, h = model.rnn(model.embedding(x), torch.zeros(1, b, a.hidden))  # [n, b, H]
    nll = 0.0
    hs, ys = out.reshape(-1, a.hidden), y.reshape(-1)
    for i in range(0, hs.shape[0], 2048):  # projection in chunks of 2048 rows: [2048, V]
        logits = F.linear(hs[i: i + 2048], model.embedding.weight, model.bias)
        nll += F.cross_entropy(logits, ys[i: i + 2048], reduction="sum").item()
    tail = stream[b * n:]  # continues the last column's stream
    if len(tail) > 1:
        out, _ = model.rnn(model.embedding(tail[:-1, None]), h[:, -1:].contiguous())
        logits = F.linear(out[:, 0], model.embedding.weight, model.bias)
        nll += F.cross_entropy(logits, tail[1:], reduction="sum").item()
    seconds = time.perf_counter() - t0
    log(f"torch_ref score: {targets} tokens in {seconds:.1f} s = {targets / seconds:.0f} tokens/s")
    return {"lines": a.score_lines, "tokens": targets, "seconds": seconds,
            "tokensPerS": targets / seconds, "perplexity": math.exp(nll / targets)}


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    result = {"tool": "torch_ref", "torch": torch.__version__, "python": sys.version.split()[0],
              "threads": torch.get_num_threads()}
    if a.device != "cpu":
        result["device"] = torch.cuda.get_device_name(a.device)
    if "matmul" in a.what:
        result["matmul"] = bench_matmul(a)
    if "train" in a.what:
        result["train"] = bench_train(a)
    ptb = [w for w in ("generate", "score") if w in a.what]
    try:
        vocab = ptb_vocab(a) if ptb else None
    except OSError as e:
        # Training needs no data; generation and scoring use PTB's vocabulary and test set.
        result["notes"] = [f"{' and '.join(ptb)} skipped: cannot read PTB in \"{a.data}\" ({e}); "
                           "pass --data DIR or set PTB_DIR"]
        log(result["notes"][0])
        ptb = []
    if "generate" in ptb:
        result["generate"] = bench_generate(a, len(vocab))
    if "score" in ptb:
        result["score"] = bench_score(a, vocab)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
