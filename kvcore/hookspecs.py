"""The hooks a kvcore plugin implements: the contract between the core and its plugins.

A plugin is any object (usually a module-level ``plugin``) carrying methods marked
``@hookimpl``. It is found through an entry point in the group ``kvcore.engines`` or
``kvcore.transports`` and registered with pluggy at start-up, once: requests never go
through hooks. In-tree engines and transports register exactly the same way.

Example, in a third party's ``pyproject.toml``::

    [project.entry-points."kvcore.engines"]
    myengine = "kvcore_myengine:plugin"

and in ``kvcore_myengine/__init__.py``::

    from kvcore.hookspecs import hookimpl

    class _Plugin:
        @hookimpl
        def kvcore_engines(self):
            return [MyEngine()]

    plugin = _Plugin()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from kvcore.backend import Engine
    from kvcore.transport import PeerTransport, Transport

PROJECT = "kvcore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def kvcore_engines() -> Sequence[Engine]:
    """Return the storage engines this plugin provides (see ``kvcore.backend.Engine``).

    Called once per process. Every engine name must be unique across all plugins.
    """


@hookspec
def kvcore_transports() -> Sequence[Transport | PeerTransport]:
    """Return the transports this plugin provides (see ``kvcore.transport.Transport``
    and ``PeerTransport``: a transport is either or both).

    Called once per process. Every transport name must be unique across all plugins.
    """
