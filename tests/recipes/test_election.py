"""The Election service answers as etcd's v3election does: candidates queue by create
revision, the leader proclaims and resigns, Observe follows each leader in turn."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from support.servers import Server

from kvcore.api.v3electionpb import v3election_pb2 as epb

from .client import BLOCKS_SECONDS, Recipes, on_both, session_key, until

pytestmark = [pytest.mark.etcd, pytest.mark.kvcore]

LEASES = 0x7E1E_0000_0100  # this module's lease ids start here


class Observer:
    """Observe's answers on ``name``, read on a thread as they come."""

    def __init__(self, r: Recipes, name: bytes) -> None:
        self._call = r.observe(name)
        self.heard: list[epb.LeaderResponse] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for response in self._call:
                self.heard.append(response)
        except grpc.RpcError:
            return

    def says_more_than(self, count: int) -> bool:
        """True if Observe has said more than ``count`` things a while later."""
        time.sleep(BLOCKS_SECONDS)
        return len(self.heard) > count

    def close(self) -> None:
        self._call.cancel()
        self._reader.join(BLOCKS_SECONDS * 5)


def election_queue(server: Server) -> list[str]:
    """Three candidates for one name: proclaim, resume, resign, cancel and revoke."""
    seen: list[str] = []
    name = b"elect-queue"
    with Recipes(server) as r:
        first, second, third = (r.grant(LEASES + i) for i in range(3))
        for lease in (first, second, third):
            r.name_lease(lease)
        seen.append(r.text(r.call("Leader", epb.LeaderRequest(name=name))))
        observer = Observer(r, name)
        won = r.ok("Campaign", epb.CampaignRequest(name=name, lease=first, value=b"a1"))
        seen.append(r.text(won))
        until("Observe's first answer", lambda: len(observer.heard) == 1)
        waiting = r.start("Campaign", epb.CampaignRequest(name=name, lease=second, value=b"b1"))
        assert r.waits(waiting, session_key(name, second)), "a second candidate won"
        seen.append(r.text(r.call("Leader", epb.LeaderRequest(name=name))))
        seen.append(r.text(r.call("Proclaim", epb.ProclaimRequest(leader=won.leader, value=b"a2"))))
        seen.append(r.text(r.call("Leader", epb.LeaderRequest(name=name))))
        stale = epb.LeaderKey()
        stale.CopyFrom(won.leader)
        stale.rev += 100
        seen.append(r.text(r.call("Proclaim", epb.ProclaimRequest(leader=stale, value=b"x"))))
        seen.append(r.text(r.call("Proclaim", epb.ProclaimRequest(value=b"x"))))
        seen.append(r.text(r.call("Resign", epb.ResignRequest())))
        # The same lease campaigns again with another value: it resumes and proclaims.
        again = epb.CampaignRequest(name=name, lease=first, value=b"a3")
        seen.append(r.text(r.call("Campaign", again)))
        seen.append(r.text(r.call("Leader", epb.LeaderRequest(name=name))))
        seen.append(r.text(r.call("Resign", epb.ResignRequest(leader=won.leader))))
        seen.append(r.outcome(waiting))
        seen.append(r.text(r.call("Resign", epb.ResignRequest(leader=won.leader))))
        abandoned = epb.CampaignRequest(name=name, lease=third, value=b"c")
        r.give_up("Campaign", abandoned, session_key(name, third))
        seen.append(r.keys(name + b"/"))
        r.revoke(second)  # the leader's lease ends
        seen.append(r.text(r.call("Leader", epb.LeaderRequest(name=name))))
        # a1, a2, a3 (resumed), then b1 once the first resigned; nothing after.
        until("Observe's four answers", lambda: len(observer.heard) >= 4)
        assert not observer.says_more_than(4), "Observe answered more than etcd would"
        observer.close()
        seen.extend(r.text(heard) for heard in observer.heard)
        r.revoke(first, third)
    return seen


def election_sessions(server: Server) -> list[str]:
    """Lease 0: Campaign, Proclaim and Resign each open a session of their own, and a
    session with no lease gets a new one (Proclaim puts the key on it)."""
    seen: list[str] = []
    name = b"elect-session"
    with Recipes(server) as r:
        won = r.ok("Campaign", epb.CampaignRequest(name=name, value=b"v"))
        r.name_lease(won.leader.lease)
        seen.append(r.text(won))
        unleased = epb.LeaderKey()
        unleased.CopyFrom(won.leader)
        unleased.lease = 0
        seen.append(r.text(r.call("Proclaim", epb.ProclaimRequest(leader=unleased, value=b"w"))))
        leader = r.ok("Leader", epb.LeaderRequest(name=name))
        assert leader.kv.lease not in (0, won.leader.lease), "Proclaim kept the old lease"
        seen.append(r.text(leader))
        seen.append(r.text(r.call("Resign", epb.ResignRequest(leader=unleased))))
        seen.append(r.keys(name + b"/"))
        r.revoke(won.leader.lease, leader.kv.lease)
    return seen


def election_errors(server: Server) -> list[str]:
    seen: list[str] = []
    name = b"elect-errors"
    with Recipes(server) as r:
        unknown = LEASES + 0xFF
        request = epb.CampaignRequest(name=name, lease=unknown, value=b"v")
        seen.append(r.text(r.call("Campaign", request)))
        nobody = epb.LeaderKey(name=name, key=session_key(name, unknown), rev=1, lease=unknown)
        seen.append(r.text(r.call("Proclaim", epb.ProclaimRequest(leader=nobody, value=b"v"))))
        seen.append(r.text(r.call("Resign", epb.ResignRequest(leader=nobody))))
        seen.append(r.text(r.call("Leader", epb.LeaderRequest(name=name))))
    return seen


@pytest.mark.parametrize("session", [election_queue, election_sessions, election_errors])
def test_election_as_etcd(pair: tuple[Server, Server], session) -> None:
    ours, theirs = on_both(session, pair)
    assert "\n".join(ours) == "\n".join(theirs)


def test_not_leader_is_etcds_error(pair: tuple[Server, Server]) -> None:
    ours, theirs = on_both(election_errors, pair)
    assert ours[1] == theirs[1] == "error UNKNOWN: election: not leader"
