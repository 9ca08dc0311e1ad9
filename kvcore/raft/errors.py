"""Errors the raft core raises to its caller."""

from __future__ import annotations


class RaftError(Exception):
    """Base of every error the raft core raises."""


class ProposalDroppedError(RaftError):
    """The proposal was not accepted: no leader is known, or leadership is moving.

    The caller may retry later; nothing was appended.
    """


class StepLocalMessageError(RaftError):
    """A local-only message type (HUP, BEAT, ...) was passed to RawNode.step."""
