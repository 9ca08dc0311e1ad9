"""One YAML file describes one node. This module is its schema and its loader.

Validation is pydantic's: unknown keys, wrong types and missing fields are all
reported at once, each with its field path, before anything is started.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FilePath,
    field_validator,
    model_validator,
)

from kvcore.peer.address import peer_target
from kvcore.util import durations


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineConfig(_Strict):
    name: str = Field(description="a registered engine: memory, lmdb, rocksdb, ...")
    options: dict[str, Any] = Field(default_factory=dict)


class ListenerConfig(_Strict):
    transport: str = Field(description="a registered transport: grpc, http, ...")
    address: str = Field(description="host:port to listen on")
    options: dict[str, Any] = Field(default_factory=dict)
    # Whether the member list shows this listener among the member's client URLs
    # (etcd's --advertise-client-urls): clients that sync their endpoints from the
    # member list dial those with etcd's gRPC API, so a JSON-only listener stays out.
    advertise: bool = True

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("expected host:port, e.g. 127.0.0.1:2379")
        return value


class LimitsConfig(_Strict):
    # etcd's defaults: --max-request-bytes 1.5 MiB, --max-txn-ops 128.
    max_request_bytes: int = Field(default=1_572_864, gt=0)
    max_txn_ops: int = Field(default=128, gt=0)
    # How long a write may wait to be applied before it fails with "request timed out".
    # Unset: etcd's, 5 s plus two election timeouts (NodeConfig.request_timeout).
    request_timeout: float | None = Field(default=None, gt=0)
    # etcd's --quota-backend-bytes: writes that would grow the backend past it raise the
    # NOSPACE alarm. 0 means etcd's default (2 GiB); a negative value turns it off.
    quota_backend_bytes: int = 0


class WalConfig(_Strict):
    segment_bytes: int = Field(default=64 * 1024 * 1024, gt=4096)


class RaftConfig(_Strict):
    # etcd's defaults: --heartbeat-interval 100, --election-timeout 1000 (ms).
    heartbeat_interval_ms: int = Field(default=100, gt=0)
    election_timeout_ms: int = Field(default=1000, gt=0)
    # A leader holds a commit index that no append carries this long before sending
    # it alone: at low load the next write's append carries it, one message per
    # follower per write fewer. Followers see a write up to this much later when
    # writes are rare. 0 sends it at once (kvcore.raft.commit_hold).
    commit_hold_ms: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _ratio(self) -> RaftConfig:
        if self.election_timeout_ms < 5 * self.heartbeat_interval_ms:
            raise ValueError("election_timeout_ms must be at least 5 times heartbeat_interval_ms")
        return self


class SnapshotConfig(_Strict):
    # etcd's --snapshot-count: applied entries between two snapshots of the backend.
    count: int = Field(default=100_000, gt=0)
    # Entries kept in the log behind a snapshot, so a slow follower can catch up from
    # the log rather than a whole snapshot (etcd keeps 5,000).
    catchup_entries: int = Field(default=5_000, ge=0)


class CompactionConfig(_Strict):
    # etcd's --experimental-compaction-batch-limit and --experimental-compaction-sleep-
    # interval: a compaction removes old versions this many at a time, pausing between
    # steps, so that writes never wait for more than one step.
    batch_limit: int = Field(default=1000, gt=0)
    pause_ms: int = Field(default=10, ge=0)
    # Longest a defragmentation's last step should hold writes back: an engine that
    # swaps in a rewritten copy catches it up with the writes made meanwhile, in
    # rounds on another thread, until a round takes no longer than this.
    defragment_pause_ms: int = Field(default=100, gt=0)


class AutoCompactionConfig(_Strict):
    # etcd's --auto-compaction-mode and --auto-compaction-retention. "periodic" keeps
    # ``retention`` of history: a bare number is hours, else a duration such as "30m",
    # "1h30m" or "500ms". "revision" keeps the last ``retention`` revisions. 0: off.
    mode: Literal["periodic", "revision"] = "periodic"
    retention: int | str = 0
    # How often revision mode looks at the current revision (a fixed 5 minutes in etcd).
    revision_interval: float = Field(default=300.0, gt=0)

    @field_validator("retention")
    @classmethod
    def _retention(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError("must not be negative")
        if isinstance(value, str) and not value.isdigit():
            durations.parse(value)  # raises ValueError naming what it could not read
        return value

    def retention_value(self) -> float:
        """Seconds of history (periodic) or revisions (revision) to keep; 0 is off."""
        value = self.retention
        if isinstance(value, int) or value.isdigit():
            return int(value) * (3600 if self.mode == "periodic" else 1)
        if self.mode == "revision":
            raise ValueError("revision mode takes a number of revisions, not a duration")
        return durations.parse(value)

    @model_validator(mode="after")
    def _mode_fits(self) -> AutoCompactionConfig:
        try:
            self.retention_value()
        except ValueError as exc:
            raise ValueError(f"retention: {exc}") from None
        return self


class JwtConfig(_Strict):
    # etcd's --auth-token=jwt,priv-key=...,sign-method=...,ttl=...
    sign_method: Literal["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"] = "RS256"
    private_key: FilePath = Field(description="PEM private key the tokens are signed with")
    ttl: float = Field(default=300, gt=0)


class AuthConfig(_Strict):
    # etcd's --auth-token-ttl: an unused simple token expires after this many seconds.
    token_ttl: float = Field(default=300, gt=0)
    # JWT tokens instead of simple ones: every member needs the same key.
    jwt: JwtConfig | None = None


class WatchConfig(_Strict):
    # etcd's --experimental-watch-progress-notify-interval: how often a watcher that asked
    # for progress_notify hears the current revision when no event came (etcd: 10 min,
    # at least 100 ms).
    progress_notify_interval_ms: int = Field(default=600_000, ge=100)


def _url_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _dialable(urls: list[str]) -> list[str]:
    for url in urls:
        peer_target(url)  # raises ValueError naming the URL
    return urls


PeerUrls = Annotated[
    list[str], BeforeValidator(_url_list), AfterValidator(_dialable), Field(min_length=1)
]


class NodeConfig(_Strict):
    name: str = "default"
    data_dir: Path = Field(description="where the WAL, snapshots and engine files live")
    # etcd's --initial-cluster-token: with a member's peer URLs it fixes the member id.
    cluster_token: str = "kvcore-cluster"
    # etcd's --initial-cluster-state: "new" founds a cluster with initial_cluster as its
    # members; "existing" joins a running one (the member was added with MemberAdd).
    cluster_state: Literal["new", "existing"] = "new"
    # etcd's --initial-cluster: name -> peer URLs of every founding member ("new") or of
    # members to ask about the cluster ("existing"). Empty: a cluster of this node alone.
    initial_cluster: dict[str, PeerUrls] = Field(default_factory=dict)
    # etcd's --initial-advertise-peer-urls: how peers reach this member.
    peer_urls: PeerUrls = Field(default_factory=lambda: ["http://localhost:2380"])
    # etcd's --listen-peer-urls; needed once the cluster has more than this member.
    peer_listener: ListenerConfig | None = None
    engine: EngineConfig
    client_listeners: list[ListenerConfig] = Field(min_length=1)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    wal: WalConfig = Field(default_factory=WalConfig)
    raft: RaftConfig = Field(default_factory=RaftConfig)
    snapshot: SnapshotConfig = Field(default_factory=SnapshotConfig)
    compaction: CompactionConfig = Field(default_factory=CompactionConfig)
    auto_compaction: AutoCompactionConfig = Field(default_factory=AutoCompactionConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    watch: WatchConfig = Field(default_factory=WatchConfig)

    @model_validator(mode="after")
    def _cluster(self) -> NodeConfig:
        if self.cluster_state == "existing" and not self.initial_cluster:
            raise ValueError(
                "cluster_state 'existing' needs initial_cluster: the members to join through"
            )
        if not self.initial_cluster:
            return self
        if self.cluster_state == "new":
            mine = self.initial_cluster.get(self.name)
            if mine is None:
                raise ValueError(f"initial_cluster has no member named {self.name!r} (name)")
            if sorted(mine) != sorted(self.peer_urls):
                raise ValueError(
                    f"initial_cluster gives {self.name!r} the peer URLs {mine}, "
                    f"but peer_urls is {self.peer_urls}"
                )
        if self.peer_listener is None and (
            len(self.initial_cluster) > 1 or self.cluster_state == "existing"
        ):
            raise ValueError("peer_listener is required for a cluster of several members")
        return self

    @model_validator(mode="after")
    def _distinct_addresses(self) -> NodeConfig:
        listeners = [*self.client_listeners, *filter(None, [self.peer_listener])]
        seen: set[str] = set()
        for listener in listeners:
            if listener.address in seen and not listener.address.endswith(":0"):
                raise ValueError(f"two listeners on {listener.address}: each needs its own")
            seen.add(listener.address)
        return self

    @property
    def request_timeout(self) -> float:
        """Seconds a request may wait for raft (limits.request_timeout, or etcd's)."""
        if self.limits.request_timeout is not None:
            return self.limits.request_timeout
        return 5 + 2 * self.raft.election_timeout_ms / 1000

    def founding_members(self) -> dict[str, list[str]]:
        """name -> peer URLs of the members a "new" cluster starts with."""
        return dict(self.initial_cluster) or {self.name: list(self.peer_urls)}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and each field."""


def load(path: str | Path) -> NodeConfig:
    """Read and validate the node config at ``path``.

    A relative ``data_dir`` is taken relative to the working directory, as etcd does.
    """
    path = Path(path)
    try:
        with path.open() as stream:  # named, so that YAML errors name the file
            raw = yaml.load(stream, Loader=_UniqueKeys)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return parse(raw, source=str(path))


class _UniqueKeys(yaml.SafeLoader):
    """Refuses a key given twice in one mapping (a pasted block would otherwise
    silently replace an earlier one), as Go's YAML parser refuses it for etcd."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"found the key {key!r} twice", key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse(raw: dict[str, Any], source: str = "<config>") -> NodeConfig:
    try:
        return NodeConfig.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigError(describe(exc, source)) from None


def validate_options(
    model: type[BaseModel], options: dict[str, Any], source: str, where: str
) -> BaseModel:
    """Validate a plugin's ``options`` mapping, naming ``where`` it sits in the file."""
    try:
        return model.model_validate(options)
    except pydantic.ValidationError as exc:
        raise ConfigError(describe(exc, source, prefix=where)) from None


def describe(exc: pydantic.ValidationError, source: str, prefix: str = "") -> str:
    lines = [f"{source}: invalid configuration:"]
    for err in exc.errors():
        parts = [prefix] if prefix else []
        parts += [str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]]
        field = ".".join(parts).replace(".[", "[") or "(top level)"
        lines.append(f"  {field}: {_expected(err)}")
    return "\n".join(lines)


def _expected(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not part of the schema)"
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
    message = err["msg"].removeprefix("Value error, ").rstrip(".")
    return f"{message}{shown}"
