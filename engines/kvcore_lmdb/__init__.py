"""kvcore's LMDB storage engine: one LMDB environment, a named database per bucket.

Packaged like any third-party engine (entry point ``kvcore.engines: lmdb`` naming this
module's ``plugin``); needs the ``lmdb`` package (``pip install kvcore[lmdb]``).
"""

from kvcore.hookspecs import hookimpl
from kvcore_lmdb.engine import LmdbBackend, LmdbEngine, LmdbOptions
from kvcore_lmdb.txn import MapFullError


class _Plugin:
    @hookimpl
    def kvcore_engines(self) -> list[LmdbEngine]:
        return [LmdbEngine()]


plugin = _Plugin()

__all__ = ["LmdbBackend", "LmdbEngine", "LmdbOptions", "MapFullError", "plugin"]
