"""Finds engines and transports: explicit registrations, then installed entry points.

Resolved once into plain objects at start-up; nothing here is on a request path.
"""

from __future__ import annotations

from collections.abc import Iterable
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
        if entry_points:
            for group in (ENGINE_GROUP, TRANSPORT_GROUP):
                try:
                    self._pm.load_setuptools_entrypoints(group)
                except Exception as exc:  # a broken third-party plugin names itself
                    raise PluginError(f"loading {group} plugins failed: {exc}") from exc
        self.engines: dict[str, Engine] = _by_name("engine", self._pm.hook.kvcore_engines())
        self.transports: dict[str, Transport | PeerTransport] = _by_name(
            "transport", self._pm.hook.kvcore_transports()
        )

    def engine(self, name: str) -> Engine:
        return _lookup("engine", self.engines, name)

    def transport(self, name: str) -> Transport | PeerTransport:
        return _lookup("transport", self.transports, name)


def _by_name(kind: str, results: list[Iterable]) -> dict:
    found: dict = {}
    for provided in results:
        for item in provided:
            if item.name in found:
                raise PluginError(f"two plugins provide the {kind} {item.name!r}")
            found[item.name] = item
    return found


def _lookup(kind: str, table: dict, name: str):
    try:
        return table[name]
    except KeyError:
        installed = ", ".join(sorted(table)) or "none"
        raise PluginError(f"unknown {kind} {name!r}; installed {kind}s: {installed}") from None
