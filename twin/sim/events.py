"""Engine inputs (scheduled events) and the event log that records what happened and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from twin.errors import ScenarioError

__all__ = ["Event", "EventLog", "INPUT_KINDS", "chain_of", "parse_asset"]

#: Kinds of scheduled input events the engine understands.
INPUT_KINDS: tuple[str, ...] = ("outage", "restoration", "switching", "setpoint", "demand")


@dataclass(frozen=True)
class Event:
    """One scheduled input of a run.

    Parameters
    ----------
    time_s : float
        When it happens (s from the start of the run).
    kind : {"outage", "restoration", "switching", "setpoint", "demand"}
        What happens: an asset fails or comes back, a switch opens or closes (``value`` True:
        closed), a set point changes (pump speed, valve setting, load ``p_mw``), or a layer's
        demand multiplier changes (``layer`` and ``value``).
    asset : str
        ``"kind:id"`` of the asset (empty for demand changes).
    value : float or bool, optional
        New set point, switch state or multiplier.
    until_s : float, optional
        For outages: the asset comes back by itself at this time (no crew needed).
    repair : bool
        For outages: a crew of the asset's discipline repairs it (when crews are given).
    layer : str
        For demand changes: ``water``, ``grid`` or ``traffic``.
    note : str
        Free text carried into the event log.

    Examples
    --------
    >>> Event(3600.0, "outage", "line:F7-1").kind
    'outage'
    """

    time_s: float
    kind: str
    asset: str = ""
    value: Any = None
    until_s: float | None = None
    repair: bool = True
    layer: str = ""
    note: str = ""


def parse_asset(asset: str) -> tuple[str, str]:
    """Split ``"kind:id"`` into its kind and id.

    Examples
    --------
    >>> parse_asset("line:F7-1")
    ('line', 'F7-1')
    """
    kind, sep, aid = str(asset).partition(":")
    if not sep or not kind or not aid:
        raise ScenarioError(f"asset {asset!r} must be written 'kind:id', e.g. 'line:F7-1' or 'pump:P3'")
    return kind, aid


class EventLog:
    """What happened during a run: time, asset, kind, cause (the id of the event that led to it).

    Examples
    --------
    >>> log = EventLog()
    >>> a = log.add(0.0, "line:L1", "outage")
    >>> b = log.add(0.0, "bus:MV2", "de-energised", cause=a)
    >>> log.chain(b)["kind"].tolist()
    ['outage', 'de-energised']
    """

    def __init__(self) -> None:
        self._rows: list[tuple[int, float, str, str, int, str]] = []

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, time_s: float, asset: str, kind: str, cause: int | None = None, detail: str = "") -> int:
        """Append one event and return its id."""
        eid = len(self._rows)
        self._rows.append((eid, float(time_s), asset, kind, -1 if cause is None else int(cause), detail))
        return eid

    def time_of(self, event_id: int) -> float:
        """Time (s) of one logged event."""
        return self._rows[event_id][1]

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame sorted by time: ``id, time_s, time_h, asset, kind, cause, detail``.

        ``cause`` is the id of the event that led to this one (-1: an input of the scenario).
        """
        df = pd.DataFrame(self._rows, columns=["id", "time_s", "asset", "kind", "cause", "detail"])
        df.insert(2, "time_h", df["time_s"] / 3600.0)
        return df.sort_values(["time_s", "id"], kind="stable").reset_index(drop=True)

    def chain(self, event_id: int) -> pd.DataFrame:
        """The events leading to ``event_id``, root cause first."""
        ids = []
        k = int(event_id)
        while k >= 0:
            ids.append(k)
            k = self._rows[k][4]
        df = self.frame().set_index("id").loc[ids[::-1]].reset_index()
        return df


def chain_of(events: pd.DataFrame, event_id: int) -> pd.DataFrame:
    """The chain of causes of one event in an event-log DataFrame, root first.

    Examples
    --------
    >>> df = pd.DataFrame({"id": [0, 1], "kind": ["outage", "dark"], "cause": [-1, 0]})
    >>> chain_of(df, 1)["kind"].tolist()
    ['outage', 'dark']
    """
    by_id = events.set_index("id")
    ids = []
    k = int(event_id)
    while k >= 0 and k in by_id.index:
        ids.append(k)
        k = int(by_id.at[k, "cause"])
    return by_id.loc[ids[::-1]].reset_index()

