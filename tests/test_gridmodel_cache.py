"""The on-disk cache of parsed SimBench grids (pedsim.gridmodel.simbench_net)."""

import pandapower.networks as pn
import pandas as pd
import pytest
import simbench

from pedsim.gridmodel import cache_dir, simbench_net


@pytest.fixture
def fake_simbench(monkeypatch, tmp_path):
    """A small net instead of SimBench's CSV files; counts the parses."""
    calls = []

    def parse(code):
        calls.append(code)
        return pn.example_simple()

    monkeypatch.setattr(simbench, "get_simbench_net", parse)
    monkeypatch.setenv("PEDSIM_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PEDSIM_NO_CACHE", raising=False)
    return calls


def _files(tmp_path):
    return sorted((tmp_path / "simbench").glob("*.pkl"))


def test_first_call_parses_and_caches_later_calls_load(fake_simbench, tmp_path):
    a = simbench_net("1-LV-rural1--0-sw")
    b = simbench_net("1-LV-rural1--0-sw")
    assert fake_simbench == ["1-LV-rural1--0-sw"]
    (file,) = _files(tmp_path)
    assert file.name.startswith("1-LV-rural1--0-sw-")
    assert "simbench" in file.name and "pandapower" in file.name
    assert a is not b  # every call returns its own net
    for table in ("bus", "line", "load", "sgen", "trafo"):
        pd.testing.assert_frame_equal(a[table], b[table], check_exact=True)
    b.load.loc[:, "p_mw"] = 99.0
    assert (simbench_net("1-LV-rural1--0-sw").load.p_mw != 99.0).all()


def test_unreadable_cache_file_is_rebuilt(fake_simbench, tmp_path):
    simbench_net("1-LV-rural1--0-sw")
    (file,) = _files(tmp_path)
    file.write_bytes(b"not a pickle")
    net = simbench_net("1-LV-rural1--0-sw")
    assert len(fake_simbench) == 2
    assert len(net.bus) == len(pn.example_simple().bus)
    simbench_net("1-LV-rural1--0-sw")
    assert len(fake_simbench) == 2


def test_cache_can_be_disabled(fake_simbench, tmp_path, monkeypatch):
    monkeypatch.setenv("PEDSIM_NO_CACHE", "1")
    assert cache_dir() is None
    simbench_net("1-LV-rural1--0-sw")
    simbench_net("1-LV-rural1--0-sw")
    assert len(fake_simbench) == 2
    assert not (tmp_path / "simbench").exists()


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("PEDSIM_CACHE_DIR", raising=False)
    monkeypatch.delenv("PEDSIM_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "pedsim"
