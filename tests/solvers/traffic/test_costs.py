"""BPR costs, Beckmann objective and the exact line search against SciPy references."""

from __future__ import annotations

import numpy as np
import pytest

from tests.reference import traffic_reference as ref
from twin.solvers.traffic.costs import beckmann, bpr_derivative, bpr_time, line_search, link_cost


def links(seed: int, m: int = 25):
    rng = np.random.default_rng(seed)
    return (rng.uniform(10, 300, m), rng.uniform(500, 4000, m), rng.uniform(0, 1, m),
            rng.choice([1.0, 2.0, 4.0, 4.5], m), rng.uniform(0, 20, m))


@pytest.mark.parametrize("seed", range(3))
def test_beckmann_matches_quadrature(seed):
    t0, cap, alpha, beta, const = links(seed)
    x = np.random.default_rng(seed).uniform(0, 6000, len(t0))
    x[0] = 0.0
    assert beckmann(x, t0, cap, alpha, beta, const) == pytest.approx(
        ref.beckmann_quadrature(x, t0, cap, alpha, beta, const), rel=1e-10)


def test_cost_and_derivative():
    t0, cap, alpha, beta, const = links(4)
    x = np.random.default_rng(4).uniform(1, 6000, len(t0))
    t = bpr_time(x, t0, cap, alpha, beta, np.empty_like(x))
    np.testing.assert_allclose(t, t0 * (1 + alpha * (x / cap) ** beta))
    np.testing.assert_allclose(link_cost(x, t0, cap, alpha, beta, const, np.empty_like(x)), t + const)
    h = 1e-3
    numeric = (bpr_time(x + h, t0, cap, alpha, beta, np.empty_like(x))
               - bpr_time(x - h, t0, cap, alpha, beta, np.empty_like(x))) / (2 * h)
    np.testing.assert_allclose(bpr_derivative(x, t0, cap, alpha, beta, np.empty_like(x)), numeric, rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_line_search_matches_scipy(seed):
    t0, cap, alpha, beta, const = links(seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 5000, len(t0))
    y = rng.uniform(0, 5000, len(t0)) * (rng.random(len(t0)) < 0.5)
    step = line_search(x, y - x, t0, cap, alpha, beta, const, 1e-12)
    expected = ref.line_search(x, y - x, t0, cap, alpha, beta, const)
    assert step == pytest.approx(expected, abs=1e-7)
    z = lambda s: beckmann(x + s * (y - x), t0, cap, alpha, beta, const)
    assert z(step) <= z(expected) + 1e-9 * abs(z(expected))


def test_line_search_ends():
    t0, cap, alpha, beta, const = (np.array([v]) for v in (10.0, 100.0, 0.15, 4.0, 0.0))
    # moving to lower flow on one link always helps: full step
    assert line_search(np.array([500.0]), np.array([-400.0]), t0, cap, alpha, beta, const, 1e-12) == 1.0
    # moving up only costs: no step
    assert line_search(np.array([500.0]), np.array([400.0]), t0, cap, alpha, beta, const, 1e-12) == 0.0
