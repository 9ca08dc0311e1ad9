"""kvcore's RocksDB storage engine (through rocksdict): a column family per bucket.

Packaged like any third-party engine (entry point ``kvcore.engines: rocksdb`` naming
this module's ``plugin``); needs ``rocksdict`` (``pip install kvcore[rocksdb]``).
"""

from kvcore.hookspecs import hookimpl
from kvcore_rocksdb.engine import RocksdbBackend, RocksdbEngine, RocksdbOptions


class _Plugin:
    @hookimpl
    def kvcore_engines(self) -> list[RocksdbEngine]:
        return [RocksdbEngine()]


plugin = _Plugin()

__all__ = ["RocksdbBackend", "RocksdbEngine", "RocksdbOptions", "plugin"]
