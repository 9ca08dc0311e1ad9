"""The revisions of one key: generations, tombstones, and compaction (etcd's keyIndex).

A key's life is a list of *generations*. A generation starts when the key is created
and holds the revision of every put to it; a delete appends a tombstone revision,
which ends the generation, and opens a new, empty one. The last generation is the
current one: empty when the key is deleted now.

Example: put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0) on key "foo"
gives (newest generation first)::

    {empty}
    {4.0, 5.0(t)}
    {1.0, 2.0, 3.0(t)}

Each generation also remembers its ``created`` revision and ``version``: how many puts
(and the tombstone) it has seen, compacted ones included, so the version of a key at
a revision survives compaction.

``compact(rev)`` drops every revision at or below ``rev`` except the largest one of the
generation ``rev`` falls in: that one is still the key's value at ``rev``. When the
largest one is a tombstone the key did not exist at ``rev``, so nothing is kept and
the generation goes too. Generations that ended at or below ``rev`` go entirely::

    compact(2)  ->  {empty}  {4.0, 5.0(t)}  {2.0, 3.0(t)}
    compact(4)  ->  {empty}  {4.0, 5.0(t)}
    compact(5)  ->  {empty}            (the key index is then empty: drop it)
    compact(6)  ->  {empty}            (likewise)

``compact`` and ``keep`` also fill ``available``: the revisions whose stored versions
must stay in the key bucket; all others at or below ``rev`` may be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, NamedTuple

from kvcore.mvcc.revision import Revision

_NONE: Final = Revision(0, 0)


@dataclass(slots=True)
class Generation:
    created: Revision = _NONE
    version: int = 0
    revs: list[Revision] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.revs


class KeyAt(NamedTuple):
    """A key's state at some revision: its last change, its creation, its version.

    A named tuple: made on every put and for every key a range visits, and a frozen
    dataclass costs twice as much to build."""

    modified: Revision
    created: Revision
    version: int


@dataclass(slots=True)
class KeyIndex:
    key: bytes
    modified: Revision = _NONE
    generations: list[Generation] = field(default_factory=lambda: [Generation()])

    def put(self, rev: Revision) -> None:
        """Record a put at ``rev``, which must be newer than every revision recorded."""
        if rev <= self.modified:
            raise ValueError(f"put at {rev} is not after the last change {self.modified}")
        current = self.generations[-1]
        if current.is_empty():
            current.created = rev
        current.revs.append(rev)
        current.version += 1
        self.modified = rev

    def restore(self, created: Revision, modified: Revision, version: int) -> None:
        """Start an empty key index at a version read back from storage."""
        if not self.is_empty():
            raise ValueError("restore into a key index that has revisions")
        self.modified = modified
        self.generations = [Generation(created, version, [modified])]

    def tombstone(self, rev: Revision) -> bool:
        """Record a delete at ``rev`` and open a new generation.

        Returns False, changing nothing, when the key does not exist now.
        """
        if self.generations[-1].is_empty():
            return False
        self.put(rev)
        self.generations.append(Generation())
        return True

    def get(self, at_rev: int) -> KeyAt | None:
        """The key's state at main revision ``at_rev``; None if it did not exist then."""
        current = self.generations[-1]
        if at_rev >= self.modified.main and current.revs:  # the common case: now
            return KeyAt(self.modified, current.created, current.version)
        gen = self._find_generation(at_rev)
        if gen is None:
            return None
        for n in range(len(gen.revs) - 1, -1, -1):
            if gen.revs[n].main <= at_rev:
                # Versions count up by one per revision within a generation.
                return KeyAt(gen.revs[n], gen.created, gen.version - (len(gen.revs) - 1 - n))
        return None

    def exists(self, at_rev: int) -> bool:
        """Whether the key existed at main revision ``at_rev`` (``get`` is not None)."""
        if at_rev >= self.modified.main:
            return bool(self.generations[-1].revs)
        return self._find_generation(at_rev) is not None

    def since(self, rev: int) -> list[Revision]:
        """The revisions at main revision ``rev`` or later, oldest first.

        Of several changes in one main revision only the last one is returned: it is the
        key's state after that change set.
        """
        start = Revision(rev, 0)
        revs: list[Revision] = []
        for gen in self.generations:
            for r in gen.revs:
                if r < start:
                    continue
                if revs and revs[-1].main == r.main:
                    revs[-1] = r
                else:
                    revs.append(r)
        return revs

    def compact(self, at_rev: int, available: set[Revision]) -> None:
        """Drop history at or below ``at_rev`` as the module doc explains."""
        gen_idx, rev_idx = self._do_compact(at_rev, available)
        gen = self.generations[gen_idx]
        if not gen.is_empty():
            if rev_idx != -1:
                del gen.revs[:rev_idx]
            # A lone tombstone in an ended generation: the key did not exist at at_rev.
            if len(gen.revs) == 1 and gen_idx != len(self.generations) - 1:
                available.discard(gen.revs[0])
                gen_idx += 1
        del self.generations[:gen_idx]

    def keep(self, at_rev: int, available: set[Revision]) -> None:
        """Add to ``available`` what :meth:`compact` would keep, changing nothing."""
        if self.is_empty():
            return
        gen_idx, rev_idx = self._do_compact(at_rev, available)
        gen = self.generations[gen_idx]
        if (
            not gen.is_empty()
            and rev_idx == len(gen.revs) - 1
            and gen_idx != len(self.generations) - 1
        ):
            available.discard(gen.revs[rev_idx])

    def is_empty(self) -> bool:
        return len(self.generations) == 1 and self.generations[0].is_empty()

    def _do_compact(self, at_rev: int, available: set[Revision]) -> tuple[int, int]:
        """Find the generation holding ``at_rev`` and the newest revision at or below it.

        That revision goes into ``available``. Returns (generation index, revision
        index), the latter -1 when every revision of that generation is above ``at_rev``.
        """
        gen_idx = 0
        # Skip the generations that ended (by tombstone) at or below at_rev.
        while gen_idx < len(self.generations) - 1:
            if self.generations[gen_idx].revs[-1].main > at_rev:
                break
            gen_idx += 1
        revs = self.generations[gen_idx].revs
        for rev_idx in range(len(revs) - 1, -1, -1):
            if revs[rev_idx].main <= at_rev:
                available.add(revs[rev_idx])
                return gen_idx, rev_idx
        return gen_idx, -1

    def _find_generation(self, rev: int) -> Generation | None:
        """The generation live at main revision ``rev``, or None in a gap between them."""
        last = len(self.generations) - 1
        for idx in range(last, -1, -1):
            gen = self.generations[idx]
            if gen.is_empty():
                continue
            if idx != last and gen.revs[-1].main <= rev:
                return None  # it ended by tombstone at or before rev
            if gen.revs[0].main <= rev:
                return gen
        return None
