"""The lake: pyarrow schemas (`schema`) -> Iceberg catalogs (`catalog`) -> runs as snapshots (`lake`) -> queries.

`from ftm.lake import Lake, connect, LakeError` works without importing every sub-module up front."""
import importlib

def __getattr__(name):
    # Lazy re-export of `ftm.lake.lake`'s public names (PEP 562): `ftm.lake.schema` stays a light import.
    mod = importlib.import_module('.lake', __name__)
    try: return getattr(mod, name)
    except AttributeError: raise AttributeError(f"module 'ftm.lake' has no attribute {name!r}") from None
