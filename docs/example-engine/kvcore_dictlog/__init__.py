"""dictlog: a tiny persistent kvcore engine, the example of docs/writing-an-engine.md.

Registered through the entry point ``kvcore.engines: dictlog`` naming ``plugin``.
"""

from kvcore.hookspecs import hookimpl
from kvcore_dictlog.engine import DictlogEngine, DictlogOptions


class _Plugin:
    @hookimpl
    def kvcore_engines(self) -> list[DictlogEngine]:
        return [DictlogEngine()]


plugin = _Plugin()

__all__ = ["DictlogEngine", "DictlogOptions", "plugin"]
