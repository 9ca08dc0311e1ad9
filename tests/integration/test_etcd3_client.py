"""The PyPI ``etcd3`` client sees the same results from the subject as from etcd."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.etcd3probe import run_probe
from support.servers import Server

pytestmark = pytest.mark.etcd

PROBE = Path(__file__).with_name("etcd3_probe.py")


def test_etcd3_client_sees_the_same(shared_subject: Server, shared_reference: Server) -> None:
    got = run_probe(PROBE, shared_subject.endpoint, "etcd3/")
    assert got == run_probe(PROBE, shared_reference.endpoint, "etcd3/")
    assert ["replace-hit", True] in got  # the probe did what it says
