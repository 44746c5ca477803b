"""The sources' structure (issue #14): imports point down, the source list is one registry, the sample's words are
package data. Each check fails on the mistake it names."""
import ast, subprocess, sys
from pathlib import Path
import pytest
import ftm
from ftm.sources.connectors import SOURCES, Connector, SourceError, connector_class, get_connector, sources_help

ROOT = Path(ftm.__file__).parent

def _module_graph() -> dict[str, set[str]]:
    "Each ftm module -> the ftm modules it imports at module level (imports inside functions are not edges)."
    mods = {}
    for p in ROOT.rglob('*.py'):
        if '__pycache__' in p.parts: continue
        name = '.'.join(p.relative_to(ROOT.parent).with_suffix('').parts).removesuffix('.__init__')
        mods[name] = p
    graph = {}
    for name, p in mods.items():
        pkg = name if p.name == '__init__.py' else name.rpartition('.')[0]
        deps = set()
        for node in ast.parse(p.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                base = pkg.split('.')[:len(pkg.split('.')) - node.level + 1] if node.level else []
                tgt = '.'.join(base + [node.module]) if node.module else '.'.join(base)
                for a in node.names: deps.add(f"{tgt}.{a.name}" if f"{tgt}.{a.name}" in mods else tgt)
            elif isinstance(node, ast.Import): deps |= {a.name for a in node.names}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph

def _cycles(graph) -> list[list[str]]:
    out, color, stack = [], {}, []
    def dfs(u):
        color[u] = 1; stack.append(u)
        for v in sorted(graph[u]):
            if color.get(v) == 1: out.append(stack[stack.index(v):] + [v])
            elif not color.get(v): dfs(v)
        stack.pop(); color[u] = 2
    for u in sorted(graph):
        if not color.get(u): dfs(u)
    return out

def test_no_module_level_import_cycle():
    g = _module_graph()
    assert 'ftm.sources.connectors' in g and 'ftm.sources.sample' in g and len(g) > 20
    assert _cycles(g) == []
    assert _cycles({'a': {'b'}, 'b': {'a'}}) == [['a', 'b', 'a']]   # the check sees a cycle when there is one

def test_sources_import_down_only():
    g = _module_graph()
    assert g['ftm.sources.connectors'].isdisjoint({'ftm.sources.sample', 'ftm.sources.wrds', 'ftm.sources.prefetch', 'ftm.ingest'})   # the interface imports no source
    for src in ('ftm.sources.sample', 'ftm.sources.wrds', 'ftm.sources.prefetch'):
        assert 'ftm.ingest' not in g[src] and 'ftm.pipeline' not in g[src], src

def test_interface_alone_loads_no_connector():
    code = ("import sys, ftm.sources.connectors as c; c.sources_help(); "
            "print(sorted(m for m in ('ftm.sources.sample', 'ftm.sources.wrds', 'ftm.sources.prefetch', 'ftm.ingest') if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == '[]'

def test_registry_is_the_one_list():
    assert sources_help() == ' | '.join(SOURCES) and sources_help(None).endswith(' or prefetch')
    for key in SOURCES:
        cls = connector_class(key.replace(':PATH', ':x'))
        assert issubclass(cls, Connector), key
    with pytest.raises(SourceError, match=r"unknown source 'nope': use sample, parquet:PATH, csv:PATH, wrds or prefetch"):
        get_connector('nope')
    from ftm.cli import SourceOpt
    assert SourceOpt.help == sources_help()

def test_capabilities_not_names():
    "The pipeline asks the class; a new source with CRSP links needs no change there."
    assert connector_class('wrds').links_crsp and not connector_class('csv:x').links_crsp
    assert connector_class('sample').has_ground_truth and not connector_class('prefetch').has_ground_truth
    src = (ROOT/'pipeline.py').read_text()
    assert "source in (" not in src and "source == 'sample'" not in src

def test_sample_words_are_package_data(monkeypatch):
    import ftm.sources.sample as s
    assert (ROOT/'data'/'sample.yaml').is_file() and s.vocabulary() is s.vocabulary()     # read once
    assert s.THEMES[0].key == 'pricing_power' and isinstance(s.THEMES[0].statements, tuple)
    assert len(s.SECTORS) == 11 and s.SECTORS[0].categories[0][0] == 'data observability platform'
    s._check_vocab()
    bad = s.Theme('broken', 'Broken', ('we raised {no_such_slot} again.',), ('why?',))
    monkeypatch.setattr(s, 'THEMES', [*s.THEMES, bad])
    with pytest.raises(AssertionError, match='no_such_slot'): s._check_vocab()
