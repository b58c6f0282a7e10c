"""The energy-community identity on a simulated district (KPI-SPEC 6).

With per-building meters, every building a member and hourly steps:
total shared energy = sum of the buildings' exports - the district's export.
"""

from pathlib import Path

import numpy as np

from pedsim.analysis.kpi import shared_energy_hourly
from pedsim.analysis.report import flows_from_results
from pedsim.results import read_results
from pedsim.run.runner import run_scenario
from pedsim.scenario import load_scenario

SCENARIO = """\
name: community
seed: 3
start: 2016-06-01T00:00:00
duration: 2 days
step: 1h
grid:
  simbench_code: 1-LV-rural2--0-sw
profiles:
  pv_scaling: 4.0
"""


def test_shared_energy_identity_on_a_run(tmp_path: Path) -> None:
    path = tmp_path / "community.yaml"
    path.write_text(SCENARIO)
    summary = run_scenario(load_scenario(path), tmp_path / "c.h5", progress=False)
    flows = flows_from_results(read_results(summary.path))
    assert flows.dt_h == 1.0
    shared = shared_energy_hourly(flows)["e_shared_kwh"].sum()
    export_p = flows.export_kw("P").sum() * flows.dt_h  # sum over buildings of their exports
    export_d = flows.export_kw("D").sum() * flows.dt_h  # the district's export
    assert shared > 1.0  # the case is not trivial: PV surplus is shared
    np.testing.assert_allclose(shared, export_p - export_d, rtol=1e-9)
