"""Where the real data lies: `shared/data` beside the checkout (read in place, never copied into the repo)."""
from pathlib import Path

def shared(rel: str) -> Path | None:
    "Path of `shared/data/{rel}` found upward from this file or the working directory, or None."
    here = Path(__file__).resolve()
    for d in [here.parent, *here.parents, Path.cwd(), *Path.cwd().parents]:
        p = d/'shared'/'data'/rel
        if p.exists(): return p
    return None

MAEC = shared('maec/transcripts.parquet')
PRICES = shared('prices/daily_prices.parquet')
