"""Send the same steps to a subject and to a reference, compare every answer."""

from __future__ import annotations

from collections.abc import Iterable

from support.normalize import render
from support.rawclient import RawClient
from support.requests import Step
from support.servers import Server


def assert_same_answers(
    subject: Server, reference: Server, steps: Iterable[Step], context: str = ""
) -> int:
    """Step both servers in lock-step; fail at the first answer that differs.

    Returns how many steps ran. ``context`` (a seed, say) heads the failure message.
    """
    count = 0
    with subject.client() as ours, reference.client() as theirs:
        for count, step in enumerate(steps, 1):
            got, want = _answer(ours, step), _answer(theirs, step)
            assert got == want, (
                f"{context}step {count}: {step}\n"
                f"--- {subject.kind} answered:\n{got}\n--- etcd answered:\n{want}"
            )
    return count


def _answer(client: RawClient, step: Step) -> str:
    return render(client.call(step.method, step.request))
