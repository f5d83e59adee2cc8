#!/usr/bin/env python3
"""PTB tasks for EleutherAI's lm-evaluation-harness, and a check of its numbers against rotor.

lm-eval ships no Penn Treebank task, and its own tasks download their data, so this writes
three tasks over a local PTB test file (no network needed) that exercise both request kinds a
completions server must answer:

  ptb_rolling    loglikelihood_rolling over every test line (word perplexity of the test set)
  ptb_lastword   loglikelihood of each line's last word after the rest (first 300 lines of
                 six words or more)
  ptb_choice     multiple_choice: the last word against three other test-set words (seeded)

  tasks  --out DIR            write the tasks' data and YAML files into DIR, print the command
  check  --samples DIR        sum lm-eval's logged rolling log-likelihoods (--log_samples) and
                              compare them with /v1/perplexity's for the same texts

Only the standard library: it runs with any Python, lm-eval or not.
"""
import argparse
import glob
import json
import math
import os
import random
import sys
import urllib.request

LASTWORD_DOCS = 300
MIN_WORDS = 6
CHOICES = 4
SCORE_CHUNK = 200  # texts per /v1/perplexity request, well inside MAX_SCORE_TOKENS

# name -> (data file, output type, the task's document fields, metrics as (name, aggregation,
# higher is better) where lm-eval has no default for them).
TASKS = {
    "ptb_rolling": ("ptb_test.jsonl", "loglikelihood_rolling",
                    {"doc_to_text": "", "doc_to_target": "{{text}}"},
                    [("word_perplexity",), ("byte_perplexity",), ("bits_per_byte",)]),
    "ptb_lastword": ("ptb_lastword.jsonl", "loglikelihood",
                     {"doc_to_text": "{{context}}", "doc_to_target": " {{target}}"},
                     [("perplexity", "perplexity", False), ("acc", "mean", True)]),
    "ptb_choice": ("ptb_lastword.jsonl", "multiple_choice",
                   {"doc_to_text": "{{context}}", "doc_to_choice": "{{choices}}",
                    "doc_to_target": "{{gold}}", "target_delimiter": " "},
                   [("acc", "mean", True)]),
}


def task_yaml(name, data, output_type, fields, metrics):
    """One task's YAML (JSON strings are YAML strings, so no YAML library is needed)."""
    lines = [f"task: {name}", "dataset_path: json", "dataset_kwargs:", "  data_files:",
             f"    test: {json.dumps(data)}", "test_split: test", f"output_type: {output_type}"]
    lines += [f"{k}: {json.dumps(v)}" for k, v in fields.items()]
    lines.append("metric_list:")
    for metric in metrics:
        lines.append(f"  - metric: {metric[0]}")
        if len(metric) > 1:
            lines += [f"    aggregation: {metric[1]}",
                      f"    higher_is_better: {'true' if metric[2] else 'false'}"]
    return "\n".join(lines) + "\n"


def test_lines(data):
    with open(os.path.join(data, "ptb.test.txt"), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def write_tasks(a):
    lines = test_lines(a.data)
    out = os.path.abspath(a.out)  # lm-eval reads data_files relative to its own directory
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "ptb_test.jsonl"), "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps({"text": line}) + "\n")
    rng = random.Random(a.seed)
    vocab = sorted({w for line in lines for w in line.split()})
    docs = []
    for line in lines:
        words = line.split()
        if len(words) < MIN_WORDS:
            continue
        target = words[-1]
        choices = [target] + rng.sample([v for v in vocab if v != target], CHOICES - 1)
        rng.shuffle(choices)
        docs.append({"context": " ".join(words[:-1]), "target": target, "choices": choices,
                     "gold": choices.index(target)})
        if len(docs) == LASTWORD_DOCS:
            break
    with open(os.path.join(out, "ptb_lastword.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    for name, (data, output_type, fields, metrics) in TASKS.items():
        with open(os.path.join(out, f"{name}.yaml"), "w", encoding="utf-8") as f:
            f.write(task_yaml(name, os.path.join(out, data), output_type, fields, metrics))
    print(f"{len(lines)} test lines, {len(docs)} last-word documents in {out}; run:")
    print(f"  lm_eval --model local-completions --include_path {out} "
          "--tasks ptb_rolling,ptb_lastword,ptb_choice --output_path OUT --log_samples \\\n"
          "    --model_args model=ptb-ugru,base_url=http://127.0.0.1:8000/v1/completions,"
          "tokenizer_backend=remote")


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def check(a):
    found = glob.glob(os.path.join(a.samples, "**", "samples_ptb_rolling_*.jsonl"), recursive=True)
    if not found:
        sys.exit(f"no samples_ptb_rolling_*.jsonl under {a.samples}: run lm_eval with --log_samples")
    with open(sorted(found)[-1], encoding="utf-8") as f:
        samples = sorted((json.loads(line) for line in f), key=lambda s: s["doc_id"])
    texts = [s["doc"]["text"] for s in samples]
    harness = [-float(s["resps"][0][0]) for s in samples]
    server, tokens = [], 0
    for i in range(0, len(texts), SCORE_CHUNK):
        r = post(a.url.rstrip("/") + "/v1/perplexity", {"model": a.model, "texts": texts[i:i + SCORE_CHUNK]})
        server += [t["nll"] for t in r["results"]]
        tokens += r["tokens"]
    h, s = sum(harness), sum(server)
    worst = max(abs(x - y) for x, y in zip(harness, server))
    print(json.dumps({"docs": len(texts), "tokens": tokens, "harnessNll": h, "serverNll": s,
                      "relativeDifference": abs(h - s) / s, "worstDocDifference": worst,
                      "harnessPerplexity": math.exp(h / tokens),
                      "serverPerplexity": math.exp(s / tokens)}, indent=2))
    if abs(h - s) / s > 1e-4:  # the acceptance line: rolling perplexity equal to 0.01 %
        sys.exit("lm-eval's rolling log-likelihoods differ from /v1/perplexity by more than 0.01 %")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tasks", help="write the task files")
    t.add_argument("--out", required=True, help="folder for the tasks' data and YAML")
    t.add_argument("--data", default=os.environ.get("PTB_DIR", "data/ptb"),
                   help="PTB folder (default $PTB_DIR, else data/ptb)")
    t.add_argument("--seed", type=int, default=1, help="seed of the distractor words (default 1)")
    c = sub.add_parser("check", help="compare logged rolling log-likelihoods with /v1/perplexity")
    c.add_argument("--samples", required=True, help="lm_eval's --output_path folder")
    c.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)")
    c.add_argument("--model", default="ptb-ugru", help="model id (default %(default)s)")
    a = p.parse_args(argv)
    write_tasks(a) if a.command == "tasks" else check(a)


if __name__ == "__main__":
    main(sys.argv[1:])
