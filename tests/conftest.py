"""Shared test fixtures."""

import copy

import pytest


@pytest.fixture(scope="module")
def simbench_nets_cached():
    """Load each SimBench grid once per module; every caller gets its own deep copy."""
    import simbench

    original = simbench.get_simbench_net
    nets = {}

    def cached(code):
        if code not in nets:
            nets[code] = original(code)
        return copy.deepcopy(nets[code])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(simbench, "get_simbench_net", cached)
        yield
