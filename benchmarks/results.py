"""What a case family provides: :class:`Case` objects that fill a :class:`CaseResult`.

A case's ``run(settings, result)`` builds its peers, times them (usually with
:func:`memograd.timing.compare` and ``settings.plan()``), appends one :class:`Row` per peer and
sets ``result.met`` and ``result.verdict`` against its target. A peer that is not installed is
``result.skip_peer(name, reason)``, never faked; an exception makes the case an error in the
report without hiding the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from memograd.timing import TimingPlan


@dataclass(frozen=True)
class Settings:
    """How hard every case measures. ``quick`` shrinks problem sizes as well as rounds."""

    quick: bool = False
    rounds: int = 11
    batch_seconds: float = 0.2
    settle_seconds: float = 0.15

    @classmethod
    def for_run(cls, quick: bool, rounds: int | None = None) -> Settings:
        if rounds is not None and rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {rounds}")
        if quick:
            return cls(quick=True, rounds=rounds or 3, batch_seconds=0.02, settle_seconds=0.0)
        return cls(quick=False, rounds=rounds or 11, batch_seconds=0.2, settle_seconds=0.15)

    def plan(self, warmup_calls: int = 3, rounds: int | None = None) -> TimingPlan:
        """The harness's plan for these settings (``rounds`` overrides theirs)."""
        return TimingPlan(
            rounds=rounds or self.rounds,
            batch_seconds=self.batch_seconds,
            warmup_calls=warmup_calls,
            settle_seconds=self.settle_seconds,
        )


@dataclass
class Row:
    """One line of a case's table.

    ``seconds`` is a median per call (or one run's wall time for one-shot
    cases); ``ratio`` is memograd's time divided by this row's, so below 1
    means memograd is faster. ``extra`` carries case-specific columns (calls,
    VJP evaluations, accuracy).
    """

    label: str
    seconds: float | None
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "seconds": self.seconds,
            "ratio": self.ratio,
            "extra": self.extra,
            "note": self.note,
        }


@dataclass
class CaseResult:
    """A case's outcome. ``met`` is None when the target could not be judged.

    ``status`` is ``"ok"``, ``"error"`` when the case raised (the verdict says what), or
    ``"skipped"`` when memograd's side of the case cannot run here; peers that are not
    installed are listed in ``skipped`` and do not make the case skipped.
    """

    name: str
    title: str
    target: str
    status: str = "ok"
    met: bool | None = None
    verdict: str = ""
    label_header: str = "peer"
    # The reference of the ratio column: memograd's time over each row's, unless a case times
    # memograd two ways and names the one it divides (``compiled / peer``).
    ratio_header: str = "memograd / peer"
    columns: tuple[str, ...] = ()
    rows: list[Row] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds_spent: float = 0.0

    def skip_peer(self, peer: str, reason: str) -> None:
        self.skipped.append({"peer": peer, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "target": self.target,
            "status": self.status,
            "met": self.met,
            "verdict": self.verdict,
            "label_header": self.label_header,
            "ratio_header": self.ratio_header,
            "columns": list(self.columns),
            "rows": [row.as_dict() for row in self.rows],
            "skipped": self.skipped,
            "notes": self.notes,
            "seconds_spent": self.seconds_spent,
        }


@dataclass(frozen=True)
class Case:
    """A named benchmark: its title, the target it is judged against, and how to run it."""

    name: str
    title: str
    target: str
    run: Callable[[Settings, CaseResult], None]

    def new_result(self) -> CaseResult:
        return CaseResult(name=self.name, title=self.title, target=self.target)
