"""Static user equilibrium on a :class:`~twin.traffic.problem.Problem`: run the Frank-Wolfe
family or Algorithm B, map the kernel's status to a result or an error, build the Dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from twin.errors import ConvergenceError, NetworkError
from twin.results import Variable, make_dataset, provenance
from twin.solvers.traffic import frank_wolfe as _fw
from twin.solvers.traffic.bush import solve_bush
from twin.solvers.traffic.costs import beckmann, bpr_time
from twin.traffic.problem import Problem
from twin.traffic.warm import origin_flows, warm_link_flows

if TYPE_CHECKING:
    from twin.model.network import Network

__all__ = ["ALGORITHMS", "Solution", "assignment_dataset", "check_options", "finish", "solve_problem"]

#: Algorithm names and the Frank-Wolfe kernel's codes (-1: bush-based Algorithm B).
ALGORITHMS: dict[str, int] = {"fw": _fw.FW, "cfw": _fw.CFW, "bfw": _fw.BFW, "bush": -1}


@dataclass(frozen=True)
class Solution:
    """What a kernel returned: status code, link flows, gap history, extra variables, warm or cold."""

    status: int
    bad_origin: int
    bad_destination: int
    x: np.ndarray
    gaps: np.ndarray
    aecs: np.ndarray
    extra: dict[str, Variable]
    warm: bool

    @property
    def converged(self) -> bool:
        """True when the target gap was reached."""
        return self.status == _fw.CONVERGED

    @property
    def unreachable(self) -> bool:
        """True when some trips had no path over the open links."""
        return self.status == _fw.UNREACHABLE


def check_options(algorithm: str, rgap: float, max_iterations: int) -> None:
    """ValueError for an unknown algorithm or a negative gap or iteration limit."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    if not rgap >= 0 or int(max_iterations) < 0:
        raise ValueError(f"rgap must be >= 0 and max_iterations >= 0, got {rgap!r}, {max_iterations!r}")


def solve_problem(problem: Problem, algorithm: str, warm_start: Any, rgap: float, max_iterations: int) -> Solution:
    """Run ``algorithm`` on ``problem`` from free flow (or from ``warm_start``)."""
    gaps, aecs = np.zeros(int(max_iterations) + 1), np.zeros(int(max_iterations) + 1)
    solve = _solve_bush if algorithm == "bush" else _solve_linear
    (status, iters, bad_o, bad_d), x, extra, warm = solve(problem, algorithm, warm_start, float(rgap),
                                                          int(max_iterations), gaps, aecs)
    return Solution(int(status), int(bad_o), int(bad_d), x, gaps[:iters + 1], aecs[:iters + 1], extra, warm)


def finish(network: "Network", problem: Problem, solution: Solution, info: dict[str, Any]) -> xr.Dataset:
    """The result Dataset, or NetworkError (trips with no path) or ConvergenceError (with ``result``)."""
    if solution.unreachable:
        z = problem.arrays.zone_ids
        raise NetworkError(f"trips from zone {str(z[solution.bad_origin])!r} to zone "
                           f"{str(z[solution.bad_destination])!r} have no path over open links; "
                           "open a link or remove the trips")
    ds = assignment_dataset(network, problem, solution.x, solution.gaps, solution.aecs, info, solution.extra)
    if not solution.converged:
        iters, gap = len(solution.gaps) - 1, float(solution.gaps[-1])
        err = ConvergenceError(f"{info.get('solver')} stopped at relative gap {gap:.3g} after {iters} iterations "
                               f"(target {info.get('rgap_target'):g}); raise max_iterations or use algorithm='bfw'",
                               iterations=iters, residual=gap)
        err.result = ds  # type: ignore[attr-defined]
        raise err
    return ds


def _link_variables(x: np.ndarray, problem: Problem) -> dict[str, Variable]:
    a = problem.arrays
    t = bpr_time(x, problem.t0, problem.cap, problem.alpha, problem.beta, np.empty_like(x))
    t[~problem.open] = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(t > 0, a.length_m / t, np.inf)
    vc = np.where(problem.open, x / problem.cap, 0.0)
    gen = t + np.where(problem.open, problem.const, 0.0)
    return {
        "flow_vph": Variable(("link",), x, "veh/h", "link flow"),
        "travel_time_s": Variable(("link",), t, "s", "link travel time (BPR; inf when closed)"),
        "cost_s": Variable(("link",), gen, "s", "generalised link cost (travel time + toll and distance weights)"),
        "speed_mps": Variable(("link",), speed, "m/s", "mean speed (length / travel time)"),
        "volume_capacity_ratio": Variable(("link",), vc, "1", "volume / capacity ratio"),
    }


def assignment_dataset(network: "Network", problem: Problem, x: np.ndarray, gaps: np.ndarray, aecs: np.ndarray,
             info: dict[str, Any], extra: dict[str, Variable]) -> xr.Dataset:
    variables = _link_variables(x, problem)
    variables.update(extra)
    variables["relative_gap"] = Variable(("iteration",), gaps, "1", "relative gap (TSTT - SPTT) / TSTT")
    variables["average_excess_cost_s"] = Variable(("iteration",), aecs, "s",
                                                  "average excess cost (TSTT - SPTT) / total demand")
    xo = np.where(problem.open, x, 0.0)
    t = np.where(problem.open, variables["travel_time_s"].values, 0.0)
    attrs = provenance(network, **info)
    attrs.update(
        beckmann_objective=float(beckmann(xo, problem.t0, problem.cap, problem.alpha, problem.beta,
                                          np.where(problem.open, problem.const, 0.0))),
        beckmann_objective_units="veh s/h",
        total_system_travel_time_vh=float(xo @ t) / 3600.0,
        relative_gap=float(gaps[-1]), average_excess_cost=float(aecs[-1]), average_excess_cost_units="s",
        iterations=len(gaps) - 1, total_demand_vph=float(problem.demand.sum()))
    coords = {"link": problem.arrays.link_ids, "iteration": np.arange(len(gaps))}
    if extra:
        coords["origin"] = problem.arrays.zone_ids[problem.origins]
    return make_dataset(variables, coords, attrs=attrs)


def _solve_linear(problem: Problem, algorithm: str, warm_start: Any, rgap: float, max_iterations: int,
                  gaps: np.ndarray, aecs: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, dict, bool]:
    """Frank-Wolfe family from free flow or from link flows."""
    warm = warm_start is not None
    x = warm_link_flows(warm_start, problem) if warm else np.zeros(problem.arrays.n_links)
    status = _fw.solve_frank_wolfe(ALGORITHMS[algorithm], x, warm, problem.t0, problem.cap, problem.alpha,
                                   problem.beta, problem.const, problem.demand, *problem.star, rgap,
                                   max_iterations, gaps, aecs)
    return status, x, {}, warm


def _solve_bush(problem: Problem, algorithm: str, warm_start: Any, rgap: float, max_iterations: int,
                gaps: np.ndarray, aecs: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, dict, bool]:
    """Algorithm B from shortest-path bushes or from the origin flows of a bush result."""
    m = problem.arrays.n_links
    xo = origin_flows(warm_start, problem) if warm_start is not None else None
    warm = xo is not None
    if xo is None:
        xo = np.zeros((len(problem.origins), m))
    x, bush = np.zeros(m), np.zeros(xo.shape, dtype=np.bool_)
    zone_node, origins, out_indptr, out_links, from_node, to_node, through = problem.star
    status = solve_bush(x, xo, bush, warm, problem.t0, problem.cap, problem.alpha, problem.beta, problem.const,
                        problem.demand, zone_node, origins, out_indptr, out_links, *problem.backward,
                        from_node, to_node, through, rgap, max_iterations, gaps, aecs)
    extra = {"origin_flow_vph": Variable(("origin", "link"), xo, "veh/h",
                                         "link flow by origin zone (bushes; warm start for algorithm='bush')")}
    return status, x, extra, warm
