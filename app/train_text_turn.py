"""`python -m app.train_text_turn CORPUS OUT`: train the words' end-of-turn model (`realtime.text_turn`).

CORPUS is the chitchat-dataset wheel (`make text-turn-model` fetches it from PyPI; MIT, 8 MB, 258,000 chat
messages of 7,168 conversations) or its `dataset.json`. Every message is a complete utterance; one random cut
of it at a word boundary ("so what i" of "so what i want to know") is a fragment. Some cuts are whole
sentences themselves ("oh wow" of "oh wow haha"), so the model learns how *likely* words are to be a whole
message, which is what the listener needs where the audio is unsure. The last 20,000 messages (a fifth of a
small corpus) are held out and the script prints how the model does on them. Deterministic: the same corpus
gives the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from realtime.text_turn import DIM, TextTurnModel, slots, words

HELD_OUT = 20_000
MAX_WORDS = 40
SEED = 7
C = 0.3  # inverse regularisation: 0.3, 1 and 3 gave held-out AUC 0.878, 0.877, 0.872 on 100,000 messages


def messages(corpus: Path) -> list[str]:
    """Every message's text, in the file's order."""
    if corpus.suffix == ".whl":
        with zipfile.ZipFile(corpus) as z:
            data = json.loads(z.read("chitchat_dataset/dataset.json"))
    else:
        data = json.loads(corpus.read_text())
    return [m["text"] for conv in data.values() for turn in conv["messages"] for m in turn if m["text"].strip()]


def examples(texts: list[str], rng: random.Random) -> tuple[list[list[str]], list[int]]:
    """(word lists, labels): each message (1), and one cut of it when it has two words or more (0)."""
    xs: list[list[str]] = []
    ys: list[int] = []
    for t in texts:
        ws = words(t)
        if not ws or len(ws) > MAX_WORDS:
            continue
        xs.append(ws)
        ys.append(1)
        if len(ws) >= 2:
            xs.append(ws[: rng.randint(1, len(ws) - 1)])
            ys.append(0)
    return xs, ys


def matrix(xs: list[list[str]]) -> object:
    from scipy.sparse import csr_matrix

    cols = [slots(ws) for ws in xs]
    rows = np.repeat(np.arange(len(xs)), [len(c) for c in cols])
    data = np.ones(len(rows), dtype=np.float32)
    return csr_matrix((data, (rows, np.concatenate(cols))), shape=(len(xs), DIM))


def train(corpus: Path) -> tuple[TextTurnModel, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    texts = messages(corpus)
    random.Random(SEED).shuffle(texts)
    rng = random.Random(SEED)
    held = min(HELD_OUT, len(texts) // 5)
    x_train, y_train = examples(texts[:-held], rng)
    x_test, y_test = examples(texts[-held:], rng)
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=2000, random_state=SEED)
    clf.fit(matrix(x_train), y_train)
    model = TextTurnModel(clf.coef_[0], float(clf.intercept_[0]))
    p = np.array([model.p_complete(" ".join(ws)) for ws in x_test])
    y = np.array(y_test)
    report = {"messages": float(len(texts)), "auc": float(roc_auc_score(y, p))}
    for t in (0.8, 0.85, 0.9):
        report[f"complete >= {t}"] = float((p[y == 1] >= t).mean())
        report[f"cut >= {t}"] = float((p[y == 0] >= t).mean())
    return model, report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path, help="chitchat_dataset-*.whl or its dataset.json")
    ap.add_argument("out", type=Path, help="the weights file to write (.npz)")
    args = ap.parse_args(argv)
    if not args.corpus.exists():
        print(f"no corpus at {args.corpus}: run `make text-turn-model`", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    model, report = train(args.corpus)
    model.save(args.out)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s; held out: "
          + ", ".join(f"{k} {v:.3f}" if v < 10 else f"{k} {v:.0f}" for k, v in report.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
