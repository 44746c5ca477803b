"""Keyword phrases from the raw sentence or from the cleaned words: NPMI of both on one published quarter.

    python bench/keyword_phrases.py --lake LAKE --quarter 2016Q2

Reads the quarter's published transcripts and sentence -> topic assignments, recomputes every topic's top-10
keywords twice with `ftm.topics.keywords` (exclusive, no centrality tie-break): from `raw_text` (phrases only of
words that stood together, `ftm.text.keyword_terms`) and from `clean_text` (bigrams over the cleaned words, which
may span a removed word). Prints NPMI under both references, and NPMI without the pairs in which one term
contains the other ('dividend' / 'dividend line'): those co-occur by construction and flatter the score.
"""
from __future__ import annotations
import argparse, collections
import numpy as np
from ftm.evaluate import npmi
from ftm.lake import Lake
from ftm.topics import keywords


def recompute(lake: Lake, quarter: str) -> tuple[dict, dict]:
    tr = lake.read('transcripts', quarter).select(['sentence_id', 'firm_id', 'raw_text', 'clean_text'])
    st = lake.read('sentences', quarter).select(['sentence_id', 'topic_id'])
    topic_of = dict(zip(st['sentence_id'].to_pylist(), st['topic_id'].to_pylist()))
    by = collections.defaultdict(list)
    for s, f, r, c in zip(*(tr[k].to_pylist() for k in ('sentence_id', 'firm_id', 'raw_text', 'clean_text'))):
        if s in topic_of: by[f].append((topic_of[s], r, c))
    kw = {'raw': [], 'clean': []}
    for rows in by.values():
        tids = sorted({t for t, _, _ in rows}); ix = {t: i for i, t in enumerate(tids)}
        lab = np.array([ix[t] for t, _, _ in rows])
        for name, col in (('raw', 1), ('clean', 2)):
            kw[name] += [[w for w, _ in k] for k in keywords([r[col] for r in rows], lab, len(tids), 10, exclusive=True)]
    return kw, {'raw': tr['raw_text'].to_pylist(), 'clean': tr['clean_text'].to_pylist()}


def without_containment(kws: list[list[str]]) -> list[list[list[str]]]:
    "Each topic as its keyword pairs in which neither term contains the other (scored as 2-keyword topics)."
    out = []
    for ks in kws:
        ks = list(dict.fromkeys(ks[:10]))
        out.append([[a, b] for i, a in enumerate(ks) for b in ks[i + 1:]
                    if not (set(a.split()) <= set(b.split()) or set(b.split()) <= set(a.split()))])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--lake', required=True); ap.add_argument('--quarter', required=True)
    a = ap.parse_args()
    kw, ref = recompute(Lake(a.lake), a.quarter)
    print(f"{a.quarter}: {len(kw['raw'])} topics")
    print('| keywords from | bigrams / topic | contained pairs | NPMI, raw ref | NPMI, clean ref | NPMI w/o contained, raw | w/o contained, clean |')
    print('|---|---|---|---|---|---|---|')
    for k in kw:
        pairs = without_containment(kw[k])
        flat = [p for t in pairs for p in t]
        owner = np.repeat(np.arange(len(pairs)), [len(t) for t in pairs])
        def nc(r):   # mean over topics of the mean over their kept pairs
            v = npmi(flat, ref[r]); ok = ~np.isnan(v)
            return np.nanmean([v[ok & (owner == t)].mean() for t in range(len(pairs)) if (ok & (owner == t)).any()])
        n_pairs = sum(len(set(ks[:10])) * (len(set(ks[:10])) - 1) // 2 for ks in kw[k])
        print(f"| {k}_text | {np.mean([sum(' ' in w for w in ks) for ks in kw[k]]):.2f} | {n_pairs - len(flat)} | "
              f"{np.nanmean(npmi(kw[k], ref['raw'])):.4f} | {np.nanmean(npmi(kw[k], ref['clean'])):.4f} | "
              f"{nc('raw'):.4f} | {nc('clean'):.4f} |")


if __name__ == '__main__': main()
