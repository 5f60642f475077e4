"""Shared fixtures, the layer check and the Brian2 reset between tests (helpers: helpers.py)."""

from collections.abc import Iterator

import pytest
from brian2 import prefs
from brian2.core.names import Nameable
from brian2.devices.device import get_device, reinit_devices, set_device
from brian2.devices.device import runtime_device as brian2_runtime_device

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


#: Brian2 objects alive after the last reset (defaultclock, module fixtures' results).
_alive_after_reset = [len(Nameable.__instances__())]


def _brian2_touched() -> bool:
    """Whether the last test made Brian2 objects, changed a preference or the device."""
    return (get_device() is not brian2_runtime_device or prefs.prefs != prefs.backup_prefs
            or len(Nameable.__instances__()) > _alive_after_reset[0])


@pytest.fixture(autouse=True)
def fresh_brian2() -> Iterator[None]:
    """After each test that used Brian2, Brian2 as Brian2's own test suite leaves it.

    Every device forgets its objects (a standalone project's state included), the
    preferences go back to those read at import, ``defaultclock.dt`` to 0.1 ms, dead
    objects are collected so that names start again (``reinit_devices``), and the
    runtime device is the current one: what a test covers does not depend on which
    tests ran before it. Unlike Brian2's ``reinit_and_delete`` nothing is deleted: the
    cached cpp_standalone projects in ``$TMPDIR/brianrflo_standalone`` are reused by
    the next test of the same shape instead of being compiled again. A test that left
    Brian2 untouched skips the reset (its garbage collection costs about 0.1 s).
    """
    yield
    if _brian2_touched():
        reinit_devices()
        if get_device() is not brian2_runtime_device:
            set_device("runtime")
        _alive_after_reset[0] = len(Nameable.__instances__())


@pytest.fixture
def weights() -> Weights:
    return Weights.init(N, M, K, seed=3)
