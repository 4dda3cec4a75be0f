"""The hold workflow as a state machine.

::

    (none) ─request─▶ requested ─▶ held ─▶ inspected ─▶ released
                          │          ▲         │    └──▶ seized
                          ▼          │         └──▶ referred ─▶ released | seized
                       not-found ────┘

``requested → held → inspected → released | seized | referred`` and ``requested →
not-found`` are the issue's workflow. Two moves are added because they happen: a parcel
reported not found can turn up later (``not-found → held``), and a laboratory referral ends
in a release or a seizure (``referred → released | seized``). ``released`` and ``seized``
are final. Every other move raises :class:`IllegalTransitionError`.

Recording an inspection is allowed on a parcel without any hold (an officer may scan any
parcel) or whose hold is ``held`` (which moves it to ``inspected``) or already
``inspected``; a parcel still ``requested`` must be marked held first, and a released or
not-found parcel is not in hand.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import IllegalTransitionError
from .records import EventKind, HoldState

S = HoldState

TRANSITIONS: Mapping[HoldState | None, frozenset[HoldState]] = {
    None: frozenset({S.REQUESTED}),
    S.REQUESTED: frozenset({S.HELD, S.NOT_FOUND}),
    S.NOT_FOUND: frozenset({S.HELD}),
    S.HELD: frozenset({S.INSPECTED}),
    S.INSPECTED: frozenset({S.RELEASED, S.SEIZED, S.REFERRED}),
    S.REFERRED: frozenset({S.RELEASED, S.SEIZED}),
    S.RELEASED: frozenset(),
    S.SEIZED: frozenset(),
}
"""Allowed moves: current state (None = no hold yet) → states it may go to."""

FINAL: frozenset[HoldState] = frozenset(s for s, nxt in TRANSITIONS.items()
                                        if s is not None and not nxt)

INSPECTABLE: frozenset[HoldState | None] = frozenset({None, S.HELD, S.INSPECTED})
"""Hold states in which an inspection may be recorded."""

EVENT_FOR_STATE: Mapping[HoldState, EventKind] = {
    S.REQUESTED: EventKind.HOLD_REQUEST,
    S.HELD: EventKind.HOLD,
    S.NOT_FOUND: EventKind.NOT_FOUND,
    S.INSPECTED: EventKind.INSPECTED,
    S.RELEASED: EventKind.RELEASE,
    S.SEIZED: EventKind.SEIZURE,
    S.REFERRED: EventKind.REFER,
}
"""The audit event kind that records entering each state."""


def allowed(current: HoldState | None) -> frozenset[HoldState]:
    """The states a hold in ``current`` may move to (``None``: no hold yet)."""
    return TRANSITIONS[current]


def check_transition(item_id: str, current: HoldState | None, target: HoldState) -> None:
    """Refuse a move the workflow does not allow.

    Parameters
    ----------
    item_id
        The parcel, for the message.
    current
        The hold's state now, or None if the parcel has no hold.
    target
        The state asked for.

    Raises
    ------
    IllegalTransitionError
        Naming the current state, the target and the allowed targets.
    """
    ok = TRANSITIONS[current]
    if target not in ok:
        raise IllegalTransitionError(
            item_id,
            None if current is None else current.value,
            target.value,
            sorted(s.value for s in ok),
        )


def check_inspectable(item_id: str, current: HoldState | None) -> None:
    """Refuse to record an inspection of a parcel that is not in hand.

    Raises
    ------
    IllegalTransitionError
        When the hold is ``requested``, ``not-found``, ``referred``, ``released`` or
        ``seized``.
    """
    if current not in INSPECTABLE:
        raise IllegalTransitionError(
            item_id, "no hold" if current is None else current.value,
            "inspected (record an inspection)",
            ["no hold", S.HELD.value, S.INSPECTED.value],
        )


__all__ = [
    "EVENT_FOR_STATE",
    "FINAL",
    "INSPECTABLE",
    "TRANSITIONS",
    "allowed",
    "check_inspectable",
    "check_transition",
]
