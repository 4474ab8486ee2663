"""Explicit status-transition tables for stateful rows, and the one function that applies them.

Each stateful model declares its whole lifecycle as ``(status, event) → status`` beside its model.
Code that changes a status names the event; an event the current status does not allow is a 409
``STATE_CONFLICT``, never a silent overwrite. Where two requests may race for one transition, the
conditional UPDATE stays, its ``WHERE status IN (…)`` taken from the same table (``sources``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from server.errors import Conflict

S = TypeVar("S", bound=StrEnum)


class HasStatus(Protocol):
    status: Any


class Lifecycle(Generic[S]):
    """One model's status-transition table."""

    def __init__(self, statuses: type[S], table: Mapping[tuple[S, str], S], *, noun: str) -> None:
        self._statuses = statuses
        self._table = dict(table)
        #: What a person calls the row, for the refusal message (卡, 订单, …).
        self._noun = noun

    def allows(self, status: str, event: str) -> bool:
        return (self._statuses(status), event) in self._table

    def sources(self, event: str) -> tuple[S, ...]:
        """Every status ``event`` may start from: the WHERE of a conditional UPDATE."""
        return tuple(source for source, name in self._table if name == event)

    def target(self, status: str, event: str) -> S:
        """The status ``event`` leads to from ``status``; 409 STATE_CONFLICT if it may not happen."""
        target = self._table.get((self._statuses(status), event))
        if target is None:
            raise Conflict(f"{self._noun}当前状态为 {status}，不能执行此操作",
                           details={"status": str(status), "event": event})
        return target

    def apply(self, row: HasStatus, event: str) -> tuple[S, S]:
        """Move ``row`` by ``event``; returns (before, after)."""
        before = self._statuses(row.status)
        row.status = after = self.target(before, event)
        return before, after
