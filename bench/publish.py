"""Publish time of one quarter's tables: stage them in a fresh lake and publish, with whichever ftm is on the path.

    python bench/publish.py EXPORT_DIR [--repeat 3]

EXPORT_DIR holds one Parquet file per table (a quarter's visible tables, e.g. MAEC 2016Q2 after `ftm run`). The same
script runs against the code before Iceberg (PYTHONPATH=an old checkout), since `start_run`, `write` and `publish`
kept their signatures; it prints the median of the write (staging) and publish times."""
import argparse, statistics, tempfile, time
from pathlib import Path
import pyarrow.parquet as pq
from ftm.lake import Lake

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('export_dir'); ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    tables = {p.stem: pq.read_table(p) for p in sorted(Path(a.export_dir).glob('*.parquet'))}
    quarter = tables['themes']['quarter'][0].as_py()
    rows = sum(t.num_rows for t in tables.values())
    w_s, p_s = [], []
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as d:
            lake = Lake(f"{d}/lake")
            lake.start_run(quarter, kind='warm').publish(allow_empty=True)   # catalog and runs table exist, as in a real lake
            t0 = time.perf_counter()
            w = lake.start_run(quarter, kind='reduce')
            for name, t in tables.items(): w.write(name, t, part='bench')
            t1 = time.perf_counter()
            w.publish(meta={'bench': True})
            t2 = time.perf_counter()
            w_s.append(t1 - t0); p_s.append(t2 - t1)
    print(f"{len(tables)} tables, {rows:,} rows of {quarter}: write (stage) {statistics.median(w_s):.2f} s, "
          f"publish {statistics.median(p_s):.2f} s (median of {a.repeat}; {[round(x, 2) for x in p_s]})")

if __name__ == '__main__': main()
