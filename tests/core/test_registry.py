"""Plugins are found by entry point; bad names list what is installed."""

from __future__ import annotations

import pydantic
import pytest

from kvcore.hookspecs import hookimpl
from kvcore.registry import PluginError, Registry


class _Options(pydantic.BaseModel):
    pass


class _FakeEngine:
    name = "memory"
    options_model = _Options

    def open(self, path, buckets, options):  # pragma: no cover - never opened here
        raise AssertionError


class _Clash:
    @hookimpl
    def kvcore_engines(self):
        return [_FakeEngine()]


def test_in_tree_plugins_come_from_entry_points() -> None:
    registry = Registry()
    assert "memory" in registry.engines
    assert "grpc" in registry.transports


def test_unknown_engine_lists_installed() -> None:
    with pytest.raises(PluginError) as err:
        Registry().engine("nosuch")
    assert str(err.value).startswith("unknown engine 'nosuch'; installed engines: ")
    assert "memory" in str(err.value)


def test_unknown_transport_lists_installed() -> None:
    with pytest.raises(PluginError, match=r"unknown transport 'carrier-pigeon'.*grpc"):
        Registry().transport("carrier-pigeon")


def test_a_name_cannot_be_taken_twice() -> None:
    with pytest.raises(PluginError, match="two plugins provide the engine 'memory'"):
        Registry(plugins=[_Clash()])


def test_explicit_plugins_without_entry_points() -> None:
    registry = Registry(plugins=[_Clash()], entry_points=False)
    assert list(registry.engines) == ["memory"]
    assert registry.transports == {}
