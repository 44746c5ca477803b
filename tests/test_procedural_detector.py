"""The procedural-speech detector (`ftm.text.procedural_reason`) against hand-labelled MAEC sentences.

`tests/data/procedural/labels.csv` (400 sentences) was labelled first and used to develop the rules: on it the issue's
targets (precision >= 0.9, recall >= 0.8) are asserted. `heldout.csv` (240 sentences) was labelled afterwards by a
second labeller and never used to change the rules: its scores are what to expect on new text, and they are
asserted only as a floor a little below what was measured, so that a change that makes the detector worse fails.
"""
import csv
from pathlib import Path
import pytest
from ftm.text import exemplar_similarity, procedural_reason

HERE = Path(__file__).parent / 'data' / 'procedural'


def load(name):
    return list(csv.DictReader(open(HERE / name, encoding='utf-8')))


def scores(rows):
    sims = exemplar_similarity([r['text'] for r in rows])
    pred = [procedural_reason(r['text'], similarity=s) is not None for r, s in zip(rows, sims)]
    y = [r['procedural'] == '1' for r in rows]
    tp = sum(p and t for p, t in zip(pred, y))
    return tp / sum(pred), tp / sum(y)


def test_sets_are_disjoint_and_labelled():
    dev, held = load('labels.csv'), load('heldout.csv')
    assert len(dev) >= 300 and len(held) >= 200
    norm = lambda r: ' '.join(r['text'].lower().split())
    assert not {norm(r) for r in dev} & {norm(r) for r in held}
    assert {r['procedural'] for r in dev + held} == {'0', '1'}


def test_targets_on_the_development_set():
    p, r = scores(load('labels.csv'))
    assert p >= 0.9 and r >= 0.8, (p, r)


def test_floor_on_the_held_out_set():
    # measured 2026-11-29: precision 0.889, recall 0.492 (the README says so; the recall target is not met here)
    p, r = scores(load('heldout.csv'))
    assert p >= 0.85 and r >= 0.45, (p, r)


@pytest.mark.parametrize('text', ['Thank you, and revenue grew 5% on strong demand in Europe.',
                                  'Loan growth was 6% on higher commercial real estate lending.',
                                  "I'm not talking about headcount or labor."])
def test_content_is_never_procedural(text):
    assert procedural_reason(text) is None
