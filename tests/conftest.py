"""Shared fixtures, the layer check and the Brian2 reset between tests (helpers: helpers.py)."""

import pytest

from brianrflo.weights import Weights
from helpers import K, M, N

#: The layers of tests/README.md: each test carries exactly one.
LAYERS = ("unit", "equivalence", "engines", "claims", "docs")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test without a layer, so ``-m LAYER`` selects every test of that layer."""
    for item in items:
        layers = [m.name for m in item.iter_markers() if m.name in LAYERS]
        if len(layers) != 1:
            raise pytest.UsageError(f"{item.nodeid}: needs one layer marker of {LAYERS}, "
                                    f"got {layers or 'none'} (tests/README.md)")
        if layers == ["claims"] and item.get_closest_marker("slow") is None:
            raise pytest.UsageError(f"{item.nodeid}: a claims test is also marked slow")


@pytest.fixture
def weights() -> Weights:
    return Weights.init(N, M, K, seed=3)
