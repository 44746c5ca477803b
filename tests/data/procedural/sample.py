"""Draw the sentences of the procedural-speech evaluation set from MAEC.

Usage::

    .venv/bin/python tests/data/procedural/sample.py OUT.csv \
        [--parquet /work/shared/data/maec/transcripts.parquet] \
        [--seed N] [--sizes RANDOM EDGES CUE] [--exclude labels.csv ...]

Writes an unlabelled CSV (columns id, call_id, sentence_idx, stratum, text;
id is ``call_id:sentence_idx``) to OUT.csv. The draw is deterministic
(numpy ``default_rng(SEED)``, SEED = 20261129) for a given parquet file.
The defaults draw the first set (``labels.csv``). The held-out set
(``heldout.csv``) was drawn with ``--seed 20261130 --sizes 132 60 48
--exclude tests/data/procedural/labels.csv``: every text (normalised as
below) in an ``--exclude`` CSV (its ``text`` column) counts as already
taken, so it is skipped in every stratum.

Sampling design
---------------
Population: every sentence of every call in the MAEC transcripts file with at
least 2 whitespace-separated words.

Three strata, drawn in this order:

* ``random`` (220): uniform over all sentences of all calls.
* ``edges`` (100): uniform over sentences among the first 8
  (sentence_idx 0..7) or the last 6 sentences of their call, where
  introductions, safe-harbour statements, hand-offs and closings
  concentrate, so that the set holds enough positives.
* ``cue`` (80): uniform over sentences containing, case-insensitively and
  as a whole word, any of: thank, thanks, welcome, turn, slide, call,
  question, questions, forward, continue, quarter, operator, remarks,
  morning, afternoon, gaap, results. They give hard cases both ways.

No duplicates: within each stratum the candidates are visited in a random
order (a seeded permutation, hence still uniform over sentences) and a
sentence is skipped if its text (whitespace-normalised, case-folded) was
already taken, in this or an earlier stratum. So the same text appears at
most once in the whole set.
"""
from __future__ import annotations

import argparse
import csv
import re

import numpy as np
import pandas as pd

SEED = 20261129
DEFAULT_PARQUET = "/work/shared/data/maec/transcripts.parquet"
N_RANDOM, N_EDGES, N_CUE = 220, 100, 80
FIRST_K, LAST_K = 8, 6
CUE_WORDS = [
    "thank", "thanks", "welcome", "turn", "slide", "call", "question",
    "questions", "forward", "continue", "quarter", "operator", "remarks",
    "morning", "afternoon", "gaap", "results",
]
CUE_RE = re.compile(r"\b(?:" + "|".join(CUE_WORDS) + r")\b", re.IGNORECASE)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def draw(
    df: pd.DataFrame,
    seed: int = SEED,
    sizes: tuple[int, int, int] = (N_RANDOM, N_EDGES, N_CUE),
    exclude: set[str] = frozenset(),
) -> pd.DataFrame:
    df = df.sort_values(["call_id", "sentence_idx"]).reset_index(drop=True)
    df = df[df["text"].fillna("").str.split().str.len() >= 2].reset_index(drop=True)
    n_in_call = df.groupby("call_id")["sentence_idx"].transform("max") + 1
    is_edge = (df["sentence_idx"] < FIRST_K) | (df["sentence_idx"] >= n_in_call - LAST_K)
    is_cue = df["text"].str.contains(CUE_RE)
    keys = df["text"].map(_key)

    rng = np.random.default_rng(seed)
    seen: set[str] = {_key(t) for t in exclude}
    rows = []
    for stratum, mask, n in zip(
        ("random", "edges", "cue"),
        (np.ones(len(df), dtype=bool), is_edge.to_numpy(), is_cue.to_numpy()),
        sizes,
    ):
        cand = np.flatnonzero(mask)
        taken = 0
        for i in rng.permutation(cand):
            k = keys.iat[i]
            if k in seen:
                continue
            seen.add(k)
            r = df.iloc[i]
            rows.append({
                "id": f"{r.call_id}:{int(r.sentence_idx)}",
                "call_id": r.call_id,
                "sentence_idx": int(r.sentence_idx),
                "stratum": stratum,
                "text": r.text,
            })
            taken += 1
            if taken == n:
                break
    return pd.DataFrame(rows, columns=["id", "call_id", "sentence_idx", "stratum", "text"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="output CSV path (outside the repo)")
    ap.add_argument("--parquet", default=DEFAULT_PARQUET)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--sizes", type=int, nargs=3, default=[N_RANDOM, N_EDGES, N_CUE],
                    metavar=("RANDOM", "EDGES", "CUE"), help="rows per stratum")
    ap.add_argument("--exclude", nargs="*", default=[], metavar="CSV",
                    help="CSVs whose text column lists sentences not to draw")
    a = ap.parse_args()
    exclude = set()
    for path in a.exclude:
        exclude |= set(pd.read_csv(path, dtype=str, keep_default_na=False)["text"])
    df = pd.read_parquet(a.parquet, columns=["call_id", "sentence_idx", "text"])
    out = draw(df, a.seed, tuple(a.sizes), exclude)
    with open(a.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(out.columns)
        w.writerows(out.itertuples(index=False, name=None))
    print(f"wrote {len(out)} rows to {a.out}: {out['stratum'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
