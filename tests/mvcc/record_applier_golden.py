"""Record real etcd's answers to ``applier_cases`` into ``golden/applier.json``.

Run from the repository root when a scenario changes (needs Debian's etcd)::

    PYTHONPATH=.:engines:plugins:tests python tests/mvcc/record_applier_golden.py

Each scenario runs on a fresh etcd; answers are rendered without ids, as the
differential tests render them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from support.normalize import render
from support.process import Supervisor
from support.servers import NodeFactory

from mvcc.applier_cases import SCENARIOS

GOLDEN = Path(__file__).parent / "golden" / "applier.json"


def record() -> dict[str, list[str]]:
    supervisor = Supervisor()
    answers: dict[str, list[str]] = {}
    try:
        with tempfile.TemporaryDirectory() as root:
            factory = NodeFactory(supervisor, Path(root))
            for name, steps in SCENARIOS:
                etcd = factory.start("etcd")
                with etcd.client() as client:
                    answers[name] = [render(client.call(s.method, s.request)) for s in steps]
                etcd.stop()
                print(f"{name}: {len(steps)} steps", file=sys.stderr)
    finally:
        supervisor.stop_all()
    return answers


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(record(), indent=1, ensure_ascii=False) + "\n")
