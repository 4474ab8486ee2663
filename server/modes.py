"""Live and test mode (API.md "Test mode"): a merchant's test books, walled off from its live books
as two merchants are.

The wall is one session-level filter rather than a condition in every query. The request boundary
tells the session its mode (``use_mode``; live unless a test credential says otherwise), and every
ORM statement the session runs — selects, joins, lazy loads, UPDATE and DELETE — gets
``mode = <the session's mode>`` for each mode-scoped table it touches (SQLAlchemy's
``with_loader_criteria``). A query written without a thought of test mode therefore sees only its
own mode's rows, and a forgotten case fails closed. New rows take the session's mode when flushed;
the few statements written in Core name it themselves (``mode_of``).

Configuration is shared by both modes and carries no mode (products, stores, staff, channels),
except batches: live batches serve both modes, and a test batch (a product's test run) is seen
only in test mode.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, declared_attr, mapped_column, with_loader_criteria


class Mode(StrEnum):
    LIVE = "live"
    TEST = "test"


_SESSION_MODE = "kabao_mode"
#: Execution option of the statements that must see both modes' rows: jobs that serve both
#: (webhook delivery), ``verify-ledger`` reporting per mode, wiping test data.
ALL_MODES = "kabao_all_modes"


def use_mode(session: Session, mode: str) -> None:
    """From now on ``session`` reads and writes the books of ``mode``."""
    session.info[_SESSION_MODE] = Mode(mode)


def session_mode(session: Session) -> Mode:
    return session.info.get(_SESSION_MODE, Mode.LIVE)


def _mode_column() -> Mapped[str]:
    return mapped_column(String(4), CheckConstraint("mode IN ('live', 'test')", name="mode_valid"))


class ModeScoped:
    """Mixin: a row of one mode's books (cards, orders, redemptions, journals, …)."""

    @declared_attr
    def mode(cls) -> Mapped[str]:
        #: live or test (API.md "Test mode"): which books the row belongs to.
        return _mode_column()


class LiveSharedWithTest:
    """Mixin: configuration that live rows share with test mode, while test rows stay in test mode."""

    @declared_attr
    def mode(cls) -> Mapped[str]:
        #: live (seen in both modes) or test (seen only in test mode).
        return _mode_column()


def mode_of(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the session's mode, for the few rows written with Core ``insert``."""
    return {"mode": session_mode(session).value, **row}


#: The criteria of each mode, built once: a statement's cache key then needs no closure tracked per run
#: (the redemption's locked read runs this on the hot path).
_WALLS = {
    Mode.LIVE: (with_loader_criteria(ModeScoped, lambda cls: cls.mode == "live", include_aliases=True),
                with_loader_criteria(LiveSharedWithTest, lambda cls: cls.mode == "live", include_aliases=True)),
    Mode.TEST: (with_loader_criteria(ModeScoped, lambda cls: cls.mode == "test", include_aliases=True),),
}


@event.listens_for(Session, "do_orm_execute")
def _wall_off_the_other_mode(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete) or state.execution_options.get(ALL_MODES):
        return
    state.statement = state.statement.options(*_WALLS[session_mode(state.session)])


@event.listens_for(Session, "before_flush")
def _new_rows_take_the_session_mode(session: Session, flush_context: Any, instances: Any) -> None:
    mode = session_mode(session).value
    for obj in session.new:
        if isinstance(obj, ModeScoped | LiveSharedWithTest) and obj.mode is None:
            obj.mode = mode
