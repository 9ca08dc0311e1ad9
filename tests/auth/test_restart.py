"""Auth state is in the backend and the log: it survives a restart."""

from __future__ import annotations

from pathlib import Path

from support.process import Supervisor
from support.rawclient import RpcFailure
from support.servers import KvcoreServer, NodeFactory

from kvcore.api.etcdserverpb import rpc_pb2 as pb

from . import steps
from .authclient import AuthClient


class AuthKvcore(KvcoreServer):
    """Ready once Status answers: with auth on, an anonymous read is refused."""

    def _serves(self) -> bool:
        with self.client() as client:
            return not isinstance(
                client.call("Status", pb.StatusRequest(), timeout=1.0), RpcFailure
            )


def test_auth_survives_restart(supervisor: Supervisor, tmp_path: Path, nodes: NodeFactory) -> None:
    (tmp_path / "node").mkdir()
    server = AuthKvcore(supervisor, tmp_path / "node")
    nodes.adopt(server)
    server.start()
    ctl = server.etcdctl()
    steps.run(ctl, steps.ROOT + steps.LIMITED_USER + steps.ENABLE)
    ctl.run("--user", "u:upw", "put", "p/a", "1").check()
    server.restart()
    assert ctl.run("get", "p/a").stderr.strip().endswith("Error: etcdserver: user name is empty")
    assert ctl.run("--user", "u:upw", "get", "p/a", "--print-value-only").check().stdout == "1\n"
    denied = ctl.run("--user", "u:upw", "put", "other", "1")
    assert denied.stderr.strip().endswith("Error: etcdserver: permission denied")
    assert ctl.run("--user", "root:rootpw", "role", "get", "r").check().stdout == (
        "Role r\nKV Read:\n\t[p/, p0) (prefix p/)\nKV Write:\n\t[p/, p0) (prefix p/)\n"
    )
    with AuthClient(server.endpoint) as client:
        status = client.call(
            "Auth.AuthStatus", pb.AuthStatusRequest(), client.token("root", "rootpw")
        )
        assert (status.enabled, status.authRevision) == (True, 8)
