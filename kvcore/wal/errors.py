"""The WAL's errors."""

from __future__ import annotations

from pathlib import Path


class WalError(Exception):
    """The WAL cannot be created, opened or used as asked."""


class WalCorruptError(WalError):
    """A record before the tail is damaged: the log cannot be trusted past ``offset``.

    Unlike a torn tail, this is not what a crash leaves behind, so it is never repaired
    silently: an operator restores the member from its peers or a backup.
    """

    def __init__(self, path: Path, offset: int, reason: str) -> None:
        super().__init__(f"{path}: corrupt WAL record at byte offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class WalSnapshotMissingError(WalError):
    """The WAL has no marker for the snapshot it was asked to open at."""
