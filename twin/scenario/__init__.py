"""Scenario files, runs and comparisons: ``load_scenario``, ``run``, ``compare``.

Examples
--------
>>> from twin.scenario import scenario_from_dict
>>> scenario_from_dict({"name": "calm", "description": "nothing happens"}).duration
'24h'
"""

from twin.scenario.compare import Comparison, compare, compare_results
from twin.scenario.ensemble import Ensemble, ScenarioFailure, run_ensemble, scenario_variants
from twin.scenario.runner import RunResult, load_result, run, run_many
from twin.scenario.spec import Scenario, load_scenario, parse_at, parse_duration, scenario_from_dict

__all__ = ["Comparison", "Ensemble", "RunResult", "Scenario", "ScenarioFailure", "compare", "compare_results",
           "load_result", "load_scenario", "parse_at", "parse_duration", "run", "run_ensemble", "run_many",
           "scenario_from_dict", "scenario_variants"]
