"""kvcore's in-memory storage engine: sorted dictionaries, snapshot reads, nothing on disk.

Packaged like any third-party engine (entry point ``kvcore.engines: memory`` naming
this module's ``plugin``), so it is also the smallest example of an engine to copy.
"""

from kvcore.hookspecs import hookimpl
from kvcore_memory.engine import MemoryEngine, MemoryOptions


class _Plugin:
    @hookimpl
    def kvcore_engines(self) -> list[MemoryEngine]:
        return [MemoryEngine()]


plugin = _Plugin()

__all__ = ["MemoryEngine", "MemoryOptions", "plugin"]
