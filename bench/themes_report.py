"""Figures of one published MAEC quarter for the README (issue #13): ingest counts, procedural sentences, themes and
their kinds, the top 30 by firm count (all, and the substantive default view), and how many member firms said each
label verbatim.

    python bench/themes_report.py LAKE 2016Q2 [--json bench/out/maec_2016Q2_themes.json]
"""
import sys, json, collections
import pyarrow.compute as pc
from ftm.lake import Lake
from ftm.themes import label_said_by, label_said_share
from ftm.theme_kinds import keyword_genericness, talk_share
lk = Lake(sys.argv[1]); q = sys.argv[2]
tr = lk.read('transcripts', q); fi = lk.read('firms', q); th = lk.read('themes', q); co = lk.read('theme_contributions', q)
se = lk.read('sentences', q); tp = lk.read('topics', q)
proc = pc.fill_null(tr['is_procedural'], False)
f = fi.to_pandas()
out = dict(quarter=q, calls=len(f), sentences_raw=int(f.n_sentences_raw.sum()), kept=int(f.n_sentences_kept.sum()),
           procedural=int(pc.sum(proc).as_py()), modelled=int(tr.num_rows - pc.sum(proc).as_py()),
           dropped_short=int(f.dropped_short.sum()), dropped_duplicate=int(f.dropped_duplicate.sum()),
           topics=tp.num_rows, firms_with_topics=len(set(tp['firm_id'].to_pylist())), themes=th.num_rows)
t = th.to_pandas()
out.update(themes_procedural=int((t.kind == 'procedural').sum()), themes_5plus=int((t.n_firms >= 5).sum()),
           themes_10plus=int((t.n_firms >= 10).sum()), largest_theme_firms=int(t.n_firms.max()),
           theme_coverage_topics=round(float(pc.mean(pc.is_valid(tp['theme_id']).cast('float64')).as_py()), 4))
said = label_said_by(th, co, se, tr).to_pandas().set_index('theme_id')
t['said_by'] = t.theme_id.map(said.said_by)
sub = t[t.kind != 'procedural']
for name, d in (('all', t), ('substantive', sub)):
    top = d.sort_values(['n_firms', 'theme_id'], ascending=[False, True]).head(30)
    out[f'top30_{name}_procedural'] = int((top.kind == 'procedural').sum())
    out[f'top30_{name}_said2_share'] = round(float((top.said_by >= 2).mean()), 3)
top = t.sort_values(['n_firms', 'theme_id'], ascending=[False, True]).head(30)
topsub = sub.sort_values(['n_firms', 'theme_id'], ascending=[False, True]).head(30)
out['top30_all'] = [dict(theme_id=r.theme_id, name=r['name'], n_firms=int(r.n_firms), kind=r.kind, said_by=int(r.said_by),
                         keywords=list(r.keywords[:5])) for _, r in top.iterrows()]
out['top30_substantive'] = [dict(theme_id=r.theme_id, name=r['name'], n_firms=int(r.n_firms), said_by=int(r.said_by),
                                 keywords=list(r.keywords[:5]), description=(r.description or '')[:160]) for _, r in topsub.iterrows()]
runs = [r for r in lk.runs(q) if r.kind == 'reduce']
if runs:
    meta = runs[-1].meta if hasattr(runs[-1], 'meta') else {}
    out['quality'] = (meta or {}).get('quality')
print(json.dumps({k: v for k, v in out.items() if not k.startswith('top30_') or not isinstance(v, list)}, indent=1))
for i, r in enumerate(out['top30_all']): print(f"{i+1:2d} {r['n_firms']:4d} {r['kind']:11s} said={r['said_by']:3d} {r['name']} | {', '.join(r['keywords'])}")
print('--- substantive (the default view)')
for i, r in enumerate(out['top30_substantive']): print(f"{i+1:2d} {r['n_firms']:4d} said={r['said_by']:3d} {r['name']} | {', '.join(r['keywords'])}")
if '--json' in sys.argv: json.dump(out, open(sys.argv[sys.argv.index('--json') + 1], 'w'), indent=1)
