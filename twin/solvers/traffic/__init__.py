"""Traffic kernels: shortest paths, all-or-nothing loading, BPR costs, static user equilibrium
(Frank-Wolfe family, bush-based Algorithm B) and dynamic network loading (link transmission
model). Pure functions over flat NumPy arrays; never imports pandas, NetworkX or twin.model.
"""

from twin.solvers.traffic.bush import bush_iteration, initial_bushes, solve_bush
from twin.solvers.traffic.costs import beckmann, bpr_derivative, bpr_time, line_search, link_cost
from twin.solvers.traffic.frank_wolfe import BFW, CFW, CONVERGED, FW, MAX_ITERATIONS, UNREACHABLE, solve_frank_wolfe
from twin.solvers.traffic.ltm import CAPACITY, CLOSURE, event_factors, link_travel_times, reroute, run_ltm
from twin.solvers.traffic.paths import active_origins, all_or_nothing, node_to_node_costs, shortest_path_tree

__all__ = [
    "BFW", "CAPACITY", "CFW", "CLOSURE", "CONVERGED", "FW", "MAX_ITERATIONS", "UNREACHABLE", "active_origins",
    "all_or_nothing", "beckmann", "bpr_derivative", "bpr_time", "bush_iteration", "event_factors",
    "initial_bushes", "line_search", "link_cost", "link_travel_times", "node_to_node_costs", "reroute", "run_ltm",
    "shortest_path_tree", "solve_bush", "solve_frank_wolfe",
]
