"""The example engine as a third party would use it: the conformance suite run the
documented way, its entry point, and a node config naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from kvcore.config import ConfigError, load
from kvcore.registry import ENGINE_GROUP, Registry
from kvcore.server.node import Node

CONFORMANCE = ["-m", "pytest", "--pyargs", "kvcore.testing.engine_conformance"]
FIXTURES = ["-p", "dictlog_fixtures"]


def test_documented_command_is_the_one_run_here(example_dir: Path) -> None:
    command = " ".join(["python", *CONFORMANCE, *FIXTURES])
    assert command in (example_dir.parent / "writing-an-engine.md").read_text()


def test_conformance_suite_passes_with_crash_group(example_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(example_dir), *sys.path])}
    run = subprocess.run(
        [sys.executable, *CONFORMANCE, *FIXTURES, "-v", "-rs", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert "passed" in summary, summary
    # Only the tests of optional capabilities, which the example leaves out, may skip.
    skips = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED [")]
    assert all("the backend has no" in line for line in skips), skips
    assert "test_killed_writer_keeps_every_reported_batch_whole_and_none_partial PASSED" in (
        run.stdout
    )


def test_entry_point_names_a_plugin_providing_dictlog(example_dir: Path) -> None:
    project = tomllib.loads((example_dir / "pyproject.toml").read_text())["project"]
    points = project["entry-points"][ENGINE_GROUP]
    assert points == {"dictlog": "kvcore_dictlog:plugin"}
    plugin = EntryPoint("dictlog", points["dictlog"], ENGINE_GROUP).load()
    engine = Registry(plugins=[plugin], entry_points=False).engine("dictlog")
    assert engine.name == "dictlog"
    assert engine.options_model().model_dump() == {"fsync_on_commit": False}


def write_config(tmp_path: Path, engine: str) -> Path:
    path = tmp_path / "node.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"engine: {engine}\n"
        "client_listeners: [{transport: grpc, address: '127.0.0.1:2379'}]\n"
    )
    return path


def test_node_config_naming_dictlog_is_accepted(example_dir: Path, tmp_path: Path) -> None:
    from kvcore_dictlog import DictlogOptions, plugin

    path = write_config(tmp_path, "{name: dictlog, options: {fsync_on_commit: true}}")
    node = Node(load(path), str(path), registry=Registry(plugins=[plugin]))
    assert node.engine.name == "dictlog"
    assert node.engine_options == DictlogOptions(fsync_on_commit=True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{fsync_on_commit: maybe}", "engine.options.fsync_on_commit: Input should be a valid"),
        ("{fsync: true}", "engine.options.fsync: unknown field"),
    ],
)
def test_bad_options_name_the_field(
    example_dir: Path, tmp_path: Path, options: str, message: str
) -> None:
    from kvcore_dictlog import plugin

    path = write_config(tmp_path, f"{{name: dictlog, options: {options}}}")
    with pytest.raises(ConfigError, match=message):
        Node(load(path), str(path), registry=Registry(plugins=[plugin]))
