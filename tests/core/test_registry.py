"""Plugins are found by entry point; bad names list what is installed."""

from __future__ import annotations

from importlib import metadata

import pydantic
import pytest

from kvcore.hookspecs import hookimpl
from kvcore.registry import ENGINE_GROUP, PluginError, Registry


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


def _with_entry_point(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """One more engine entry point, beside the installed ones."""
    real = metadata.entry_points

    def entry_points(group: str):  # type: ignore[no-untyped-def]
        found = list(real(group=group))
        if group == ENGINE_GROUP:
            found.append(metadata.EntryPoint(name, value, group))
        return found

    monkeypatch.setattr(metadata, "entry_points", entry_points)


def test_a_plugin_whose_library_is_missing_fails_only_when_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As kvcore_lmdb on a machine without the lmdb package: the other engines still serve.
    _with_entry_point(monkeypatch, "ghost", "kvcore_no_such_module:plugin")
    registry = Registry()
    assert "memory" in registry.engines
    with pytest.raises(PluginError, match=r"engine 'ghost' is installed but .*kvcore_no_such"):
        registry.engine("ghost")


def test_a_plugin_that_breaks_on_load_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_entry_point(monkeypatch, "broken", "kvcore.registry:no_such_attribute")
    with pytest.raises(PluginError, match=r"loading kvcore\.engines plugin 'broken' failed"):
        Registry()
