"""The hold workflow: the transition table, and a stateful test against the real store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from parcels.errors import IllegalTransitionError
from parcels.holds import TRANSITIONS, check_transition
from parcels.records import HoldState
from parcels.store import SQLiteStore

from .builders import DEVICE, KEY, identification, item_id, parcel, spectrum

S = HoldState

# The workflow written out from the issue (plus the two documented additions), independently
# of parcels.holds.TRANSITIONS.
EXPECTED: dict[HoldState | None, set[HoldState]] = {
    None: {S.REQUESTED},
    S.REQUESTED: {S.HELD, S.NOT_FOUND},
    S.HELD: {S.INSPECTED},
    S.INSPECTED: {S.RELEASED, S.SEIZED, S.REFERRED},
    S.REFERRED: {S.RELEASED, S.SEIZED},
    S.NOT_FOUND: {S.HELD},
    S.RELEASED: set(),
    S.SEIZED: set(),
}


def test_table_matches_the_workflow() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize("current", list(EXPECTED))
@pytest.mark.parametrize("target", list(HoldState))
def test_check_transition(current: HoldState | None, target: HoldState) -> None:
    if target in EXPECTED[current]:
        check_transition("RR473124829US", current, target)
    else:
        with pytest.raises(IllegalTransitionError) as exc:
            check_transition("RR473124829US", current, target)
        assert target.value in str(exc.value)
        assert isinstance(exc.value, ValueError)


ITEMS = [item_id(n) for n in range(3)]


class HoldWorkflow(RuleBasedStateMachine):
    """Random moves against a real SQLite store; a model dict says what must happen."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.store = SQLiteStore(Path(self.dir.name) / "e.db", synchronous="NORMAL",
                                 signer=KEY)
        self.store.import_parcels([(n + 1, parcel(n)) for n in range(3)], actor="t",
                                  source="t")
        self.model: dict[str, HoldState | None] = dict.fromkeys(ITEMS)
        self.history: dict[str, list[HoldState]] = {i: [] for i in ITEMS}
        self.inspections: dict[str, int] = dict.fromkeys(ITEMS, 0)

    def teardown(self) -> None:
        self.store.close()
        self.dir.cleanup()

    @rule(item=st.sampled_from(ITEMS))
    def request(self, item: str) -> None:
        current = self.model[item]
        if current is None:
            hold = self.store.request_hold(item, requested_by="targeting", reason="risk")
            assert hold.state is S.REQUESTED
            self.model[item] = S.REQUESTED
            self.history[item].append(S.REQUESTED)
        else:
            with pytest.raises(IllegalTransitionError):
                self.store.request_hold(item, requested_by="targeting", reason="again")

    @rule(item=st.sampled_from(ITEMS),
          to=st.sampled_from([S.HELD, S.NOT_FOUND, S.RELEASED, S.SEIZED, S.REFERRED]))
    def move(self, item: str, to: HoldState) -> None:
        target = to
        current = self.model[item]
        if current is not None and target in EXPECTED[current]:
            hold = self.store.transition(item, target, actor="officer")
            assert hold.state is target
            self.model[item] = target
            self.history[item].append(target)
        else:
            with pytest.raises(IllegalTransitionError):
                self.store.transition(item, target, actor="officer")

    @rule(item=st.sampled_from(ITEMS), seed=st.integers(0, 3))
    def inspect(self, item: str, seed: int) -> None:
        current = self.model[item]
        if current in (None, S.HELD, S.INSPECTED):
            self.store.add_inspection(item, spectrum(seed, n=64), identification(),
                                      operator="officer", station="ORD-1", device=DEVICE)
            self.inspections[item] += 1
            if current is S.HELD:
                self.model[item] = S.INSPECTED
                self.history[item].append(S.INSPECTED)
        else:
            with pytest.raises(IllegalTransitionError):
                self.store.add_inspection(item, spectrum(seed, n=64), identification(),
                                          operator="officer", station="ORD-1", device=DEVICE)

    @invariant()
    def store_agrees_with_model(self) -> None:
        for item in ITEMS:
            hold = self.store.get_hold(item)
            if self.model[item] is None:
                assert hold is None
                continue
            assert hold is not None
            assert hold.state is self.model[item]
            assert [t.state for t in hold.transitions] == self.history[item]
            assert all(a.at <= b.at for a, b in zip(hold.transitions[1:],
                                                   hold.transitions[2:], strict=False))

    @invariant()
    def chain_is_intact(self) -> None:
        report = self.store.verify(deep=False)
        assert report.ok, report.message()
        pf = [self.store.get_parcel(i) for i in ITEMS]
        assert [len(p.inspections) for p in pf] == [self.inspections[i] for i in ITEMS]


TestHoldWorkflow = HoldWorkflow.TestCase
TestHoldWorkflow.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
