"""etcdctl output from two clusters made comparable: what belongs to one cluster (ports,
member and cluster ids) becomes a token named after the member, and what differs between
two correct servers (versions, sizes, terms, indexes, timings) is masked."""

from __future__ import annotations

import re
from typing import Any

from support.cluster import Cluster

MASKED = "*"
# JSON keys and table columns whose values belong to the server, not the cluster shape.
VOLATILE_KEYS = {
    "raft_term",
    "revision",
    "version",
    "dbSize",
    "dbSizeInUse",
    "raftIndex",
    "raftTerm",
    "raftAppliedIndex",
}
VOLATILE_COLUMNS = {"VERSION", "DB SIZE", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX"}
TOOK = re.compile(r"took = [0-9.]+[µm]?s")


class Tokens:
    """Replaces one cluster's ids and addresses with names shared by both clusters."""

    def __init__(self, cluster: Cluster) -> None:
        self._ids: dict[int, str] = {}
        self._text: dict[str, str] = {}
        for name, member in cluster.members.items():
            member_id = cluster.member_id(member)
            self._ids[member_id] = f"<id:{name}>"
            self._text[f"{member_id:x}"] = f"<id:{name}>"
            self._text[member.endpoint] = f"<{name}>"
            self._text[member.peer_url.removeprefix("http://")] = f"<{name}-peer>"
        status = cluster.status(next(iter(cluster.members.values())))
        assert status is not None
        self._ids[status.header.cluster_id] = "<cluster>"
        self._text[f"{status.header.cluster_id:x}"] = "<cluster>"
        words = sorted(self._text, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b")

    def text(self, text: str) -> str:
        text = self._pattern.sub(lambda m: self._text[m.group(1)], text)
        return TOOK.sub("took = *", text)

    def data(self, data: Any) -> Any:
        """Parsed ``-w json`` output with ids and addresses replaced, volatile keys masked."""
        if isinstance(data, dict):
            return {k: MASKED if k in VOLATILE_KEYS else self.data(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.data(item) for item in data]
        if isinstance(data, int) and not isinstance(data, bool):
            return self._ids.get(data, data)
        if isinstance(data, str):
            return self.text(data)
        return data

    def table(self, text: str) -> list[list[str]]:
        """A ``-w table`` as its header row then its body rows (sorted), cells trimmed,
        volatile columns masked."""
        rows = [
            [cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in self.text(text).splitlines()
            if line.startswith("|")
        ]
        header, body = rows[0], rows[1:]
        masked = [i for i, column in enumerate(header) if column in VOLATILE_COLUMNS]
        for row in body:
            for i in masked:
                row[i] = MASKED
        return [header, *sorted(body)]
