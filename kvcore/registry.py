"""Finds engines and transports: explicit registrations, then installed entry points.

Resolved once into plain objects at start-up; nothing here is on a request path.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import TYPE_CHECKING

import pluggy

from kvcore import hookspecs

if TYPE_CHECKING:
    from kvcore.backend import Engine
    from kvcore.transport import PeerTransport, Transport

ENGINE_GROUP = "kvcore.engines"
TRANSPORT_GROUP = "kvcore.transports"


class PluginError(Exception):
    """A plugin is missing, clashes with another, or failed to load."""


class Registry:
    """The engines and transports available to this process, by name."""

    def __init__(self, plugins: Iterable[object] = (), entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        for plugin in plugins:
            self._pm.register(plugin)
        # Entry points whose module cannot be imported (an optional library such as
        # lmdb not installed): (group, name) -> why. Only a config that names one fails
        # on it.
        self._unavailable: dict[tuple[str, str], str] = {}
        if entry_points:
            for group in (ENGINE_GROUP, TRANSPORT_GROUP):
                self._load(group)
        self.engines: dict[str, Engine] = _by_name("engine", self._pm.hook.kvcore_engines())
        self.transports: dict[str, Transport | PeerTransport] = _by_name(
            "transport", self._pm.hook.kvcore_transports()
        )

    def engine(self, name: str) -> Engine:
        return self._lookup("engine", ENGINE_GROUP, self.engines, name)

    def transport(self, name: str) -> Transport | PeerTransport:
        return self._lookup("transport", TRANSPORT_GROUP, self.transports, name)

    def _load(self, group: str) -> None:
        for entry in metadata.entry_points(group=group):
            if self._pm.get_plugin(entry.name) is not None or self._pm.is_blocked(entry.name):
                continue
            try:
                plugin = entry.load()
            except ImportError as exc:
                self._unavailable[group, entry.name] = f"{entry.value} cannot be imported: {exc}"
                continue
            except Exception as exc:  # a broken third-party plugin names itself
                raise PluginError(f"loading {group} plugin {entry.name!r} failed: {exc}") from exc
            self._pm.register(plugin, name=entry.name)

    def _lookup(self, kind: str, group: str, table: dict, name: str):  # type: ignore[no-untyped-def]
        if name in table:
            return table[name]
        if (why := self._unavailable.get((group, name))) is not None:
            raise PluginError(f"{kind} {name!r} is installed but {why}")
        installed = ", ".join(sorted(table)) or "none"
        raise PluginError(f"unknown {kind} {name!r}; installed {kind}s: {installed}")


def _by_name(kind: str, results: list[Iterable]) -> dict:
    found: dict = {}
    for provided in results:
        for item in provided:
            if item.name in found:
                raise PluginError(f"two plugins provide the {kind} {item.name!r}")
            found[item.name] = item
    return found
