"""Assertions for users' own test suites: compare run results with per-variable tolerances.

Examples
--------
>>> import twin
>>> from twin.scenario import run, scenario_from_dict
>>> spec = scenario_from_dict({"name": "calm", "description": "a quiet hour", "duration": "1h",
...                            "layers": ["grid"]})
>>> res = run(twin.datasets.sample_city(), spec)
>>> assert_results_allclose(res, res)
"""

from __future__ import annotations

from os import PathLike
from typing import Any, Mapping

__all__ = ["assert_results_allclose"]


def _as_result(x: Any) -> Any:
    from twin.scenario.runner import RunResult, load_result

    if isinstance(x, RunResult):
        return x
    if isinstance(x, (str, PathLike)):
        return load_result(x)
    raise TypeError(f"expected a RunResult or a result folder, got {type(x).__name__}")


def assert_results_allclose(actual: Any, desired: Any, tolerances: Mapping[str, Mapping[str, float]] | None = None,
                            *, rtol: float | None = None, atol: float | None = None) -> None:
    """Raise ``AssertionError`` with a readable table when two results differ beyond tolerance.

    Parameters
    ----------
    actual, desired : RunResult or path
        Results (in memory, or folders written by ``twin run`` / :meth:`RunResult.save`).
    tolerances : mapping, optional
        Per-variable tolerances, e.g. ``{"pressure": {"atol": 1e-3}, "kpi:traffic_delay_vh":
        {"rtol": 1e-3}}`` (see :data:`twin.scenario.compare.DEFAULT_TOLERANCES`).
    rtol, atol : float, optional
        Override every default tolerance.
    """
    from twin.scenario.compare import compare_results

    cmp = compare_results(_as_result(desired), _as_result(actual), tolerances, rtol=rtol, atol=atol)
    if not cmp.passed:
        raise AssertionError(cmp.text(only_failures=True))
