"""The README's measured figures have one source: the JSON records under bench/out.

Each `<!-- figures:NAME bench/out/FILE.json ... -->` block of README.md must be exactly what bench/render_readme.py
renders from that JSON, so a figure edited by hand in the README, or a JSON changed without `make readme-figures`,
fails here. Standard library only; well under a second.
"""
import importlib.util, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / 'README.md'


def _renderer():
    spec = importlib.util.spec_from_file_location('_render_readme', ROOT / 'bench' / 'render_readme.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


R = _renderer()
TEXT = README.read_text()
BLOCKS = R.blocks(TEXT)


def test_readme_has_the_generated_blocks():
    assert {m['name'] for m in BLOCKS} == set(R.BLOCKS), 'every renderer has its block in README.md, and no other'
    assert len(BLOCKS) == len(R.BLOCKS), 'each block appears once'


@pytest.mark.parametrize('name', sorted(R.BLOCKS))
def test_block_is_what_its_json_gives(name):
    m = next(m for m in BLOCKS if m['name'] == name)
    src, render = R.BLOCKS[name]
    assert m['src'] == f'bench/out/{src}'
    assert m['body'] == render() + '\n', (f"README.md's `figures:{name}` block differs from bench/out/{src}: "
                                          "run `make readme-figures` (or change the JSON, not the README)")


def test_cited_records_exist_and_are_committed():
    "Every bench/out file the README names exists, parses, and is tracked (bench/out/ is git-ignored: `git add -f`)."
    cited = set(re.findall(r'bench/out/([\w.-]+\.(?:json|md))', TEXT))
    assert {s for s, _ in R.BLOCKS.values()} <= cited
    for name in sorted(cited):
        path = ROOT / 'bench' / 'out' / name
        assert path.exists(), f'README.md cites bench/out/{name}, which does not exist'
        if name.endswith('.json'): json.loads(path.read_text())
    if (ROOT / '.git').exists():
        import subprocess
        tracked = subprocess.run(['git', 'ls-files', 'bench/out'], cwd=ROOT, capture_output=True, text=True).stdout.split()
        if tracked:   # a checkout without git metadata (an export) has nothing to compare
            missing = sorted(f'bench/out/{n}' for n in cited if f'bench/out/{n}' not in tracked)
            assert not missing, f'cited but not committed (git add -f): {missing}'


def test_check_mode_flags_a_hand_edit(tmp_path):
    "A figure changed by hand inside a block is caught by --check (exit 1) and restored by a render."
    edited = TEXT.replace('**176 themes covering', '**177 themes covering', 1)
    assert edited != TEXT
    f = tmp_path / 'README.md'; f.write_text(edited)
    assert R.main(['--check', '--readme', str(f)]) == 1
    assert R.main(['--readme', str(f)]) == 0 and f.read_text() == TEXT


def test_maec_record_reconciles_the_theme_counts():
    "The one current MAEC 2016Q2 theme count, and the superseded ones each dated, with why they differ."
    rec = json.loads((ROOT / 'bench' / 'out' / 'maec_2016Q2.json').read_text())
    e = rec['end_to_end']
    assert e['themes'] == rec['bench']['ours']['themes'] == 176 and e['theme_coverage_topics'] == 0.868
    for s in rec['superseded']:
        assert s['measured'] and s['why_different'] and s['git']


def test_summarise_quarter_matches_the_report_arithmetic():
    "--from-quarter turns a bench/quarter.py result into the record the README renders (synthetic result)."
    R_ = dict(args=dict(data='d.parquet', quarter='2016Q2', max_firms=0, cold_jit=False),
              machine=dict(cpu='AMD EPYC 7B13', cpus=2, mem_gb=23.5, bf16=True, python='3.11.7'),
              started_utc='2026-12-01T10:00:00+00:00', load_start=[1.5, 1, 1], load_end=[1.9, 1, 1],
              ours=dict(stages={'ingest': 2.0, 'map': 100.0, 'map.embed (worker-s)': 150.0, 'map.topics (worker-s)': 40.0,
                                'map.naming (worker-s)': 0.3, 'reduce': 0.4, 'sentiment': 0.5, 'quality': 1.0, 'publish': 0.1},
                        counts=dict(sentences=30000, topics=2000, themes=150), quality=dict(outlier_share=0.2, npmi=-0.12),
                        workers=2, _proc=dict(peak_rss_tree_mb=4000)),
              floor=dict(n_unique=30000, precision='bf16', embed_s=80.0),
              baseline=dict(n_sentences_quarter=30000, n_sentences_sample=3000, n_firms_sample=40, setup_s=20.0, loop_s=60.0,
                            steps={'embed': 22.0, 'fit (umap+hdbscan+c-tf-idf)': 4.0, 'representation': 33.0},
                            _proc=dict(peak_rss_tree_mb=1300)),
              eval=dict(baseline_sample=dict(npmi=-0.3, diversity_within_firm=0.99),
                        ours_sample=dict(npmi=-0.1, diversity_within_firm=1.0)))
    s = R.summarise_quarter(R_)
    assert s['measured'] == '2026-12-01 10:00 UTC'
    assert s['baseline']['total_no_ingest_s'] == pytest.approx(620.0)       # 20 + 60 x 10
    assert s['ours']['total_no_ingest_s'] == pytest.approx(102.0)            # stages without worker-s and ingest
    assert s['speedup_no_ingest'] == pytest.approx(620 / 102)
    assert s['ours_over_floor'] == pytest.approx(102 / 80)
    assert s['baseline']['embed_s'] == pytest.approx(220.0) and s['ours']['themes'] == 150
