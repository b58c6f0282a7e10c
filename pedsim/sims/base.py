"""Common base of pedsim's mosaik simulators: META from the nomenclature, timing, time axis.

Every pedsim simulator steps every ``step_s`` seconds from mosaik time 0 (the scenario
start) and exchanges whole arrays per entity (one entity per kind of unit rather than one
per unit) so that mosaik's cost per step stays independent of the number of units.

Simulators are time-based, except the members of a same-time control loop
(``control.loop: same_time``): started with ``loop_member=True`` they declare themselves
*hybrid*, every input a trigger, so that mosaik steps them again within a time step when
the controller sends new set-points (weak connections in a simulator group). A step at the
same time as the last one **repeats** that step: the simulator restores the state it had
before the step (:meth:`PedsimSimulator.save_state`/:meth:`~PedsimSimulator.restore_state`)
and computes it again with the new inputs, so only the last pass of a time step counts.
"""

from __future__ import annotations

import time as _time
from collections.abc import Mapping
from typing import Any, ClassVar

import mosaik_api_v3
import numpy as np
import pandas as pd

from pedsim.units import quantity

#: Output attribute that carries all of a simulator's outputs of a step at once (a dict
#: attribute -> value), so that the recorder needs one mosaik connection per simulator
#: instead of one per recorded series. Added to the META only when ``init`` is called with
#: ``record_bundle=True`` (pedsim's world builder does); a transport attribute, not a
#: physical quantity, hence not in :mod:`pedsim.units`.
RECORD_ATTR = "recorded_outputs"


class SimulationError(RuntimeError):
    """A simulator cannot go on; the message names the step (date-time) and the element."""


def make_meta(
    model: str,
    params: list[str],
    inputs: list[str],
    outputs: list[str],
    *,
    loop_member: bool = False,
    events: tuple[str, ...] = (),
) -> dict:
    """Build a mosaik META for a simulator with one public model.

    Parameters
    ----------
    model : str
        Model name.
    params : list of str
        Parameters of ``create``.
    inputs, outputs : list of str
        Attribute names; each must be registered in :mod:`pedsim.units`.
    loop_member : bool
        A hybrid simulator of a same-time loop: every input triggers a step, every output
        is persistent except ``events``.
    events : tuple of str
        Outputs sent only in the passes that change them (the controller's set-points).

    Returns
    -------
    dict
        The META.
    """
    for name in (*inputs, *outputs):
        quantity(name)  # every exchanged attribute has a unit
    attrs = list(dict.fromkeys([*inputs, *outputs]))
    desc: dict[str, Any] = {"public": True, "params": list(params), "attrs": attrs}
    if loop_member:
        desc["trigger"] = list(inputs)
        desc["non-persistent"] = [a for a in attrs if a in events]
        desc["persistent"] = [a for a in attrs if a not in events]
    return {
        "api_version": "3.0",
        "type": "hybrid" if loop_member else "time-based",
        "models": {model: desc},
    }


class PedsimSimulator(mosaik_api_v3.Simulator):
    """Base class: subclasses set ``MODEL``, ``PARAMS``, ``INPUTS``, ``OUTPUTS``.

    Subclasses implement :meth:`setup` (simulator parameters), :meth:`create_entity`
    and :meth:`advance`, and fill ``self.outputs`` (attribute -> value) each step.
    """

    MODEL: ClassVar[str] = ""
    PARAMS: ClassVar[list[str]] = []
    INPUTS: ClassVar[list[str]] = []
    OUTPUTS: ClassVar[list[str]] = []
    EID: ClassVar[str] = ""
    #: Outputs a loop member sends only in the passes that set them (see :meth:`get_data`).
    EVENTS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__(make_meta(self.MODEL, self.PARAMS, self.INPUTS, self.OUTPUTS))
        self.step_s = 0
        self.start = pd.Timestamp(0)
        self.timings: dict[str, float] | None = None
        self.sid = ""
        self.eid = ""
        self.outputs: dict[str, Any] = {}
        self.loop_member = False
        self.silent: set[str] = set()  # event outputs not sent after this pass
        self._last_time = -1
        self._saved: Any = None

    def init(
        self,
        sid: str,
        time_resolution: float = 1.0,
        *,
        step_s: int,
        start: str,
        timings: dict[str, float] | None = None,
        instances: dict[str, Any] | None = None,
        record_bundle: bool = False,
        loop_member: bool = False,
        **params: Any,
    ) -> dict:
        """Initialise (mosaik API).

        Parameters
        ----------
        sid : str
            Simulator id.
        time_resolution : float
            Seconds per mosaik time unit; pedsim requires 1.
        step_s : int
            Step size in seconds.
        start : str
            ISO date-time of mosaik time 0.
        timings : dict, optional
            Receives the wall-clock seconds spent in ``step`` under key ``sid``.
        instances : dict, optional
            Receives this simulator object under key ``sid``, so that builders running
            in the same process (the controller's) can read its static set-up.
        record_bundle : bool
            Also offer :data:`RECORD_ATTR`, all outputs of a step in one attribute.
        loop_member : bool
            Member of a same-time loop: hybrid, every input a trigger, a repeated step
            at the same time recomputes that step (see the module docstring).
        **params
            Simulator-specific parameters, passed to :meth:`setup`.

        Returns
        -------
        dict
            The META.
        """
        if time_resolution != 1.0:
            raise ValueError(f"{sid}: pedsim simulators need time_resolution=1 (seconds)")
        self.sid, self.step_s, self.start = sid, int(step_s), pd.Timestamp(start)
        self.timings = timings
        if timings is not None:
            timings.setdefault(sid, 0.0)
        if instances is not None:
            instances[sid] = self
        if loop_member:
            self.loop_member = True
            self.meta = make_meta(
                self.MODEL, self.PARAMS, self.INPUTS, self.OUTPUTS,
                loop_member=True, events=self.EVENTS,
            )  # fmt: skip
        if record_bundle:
            model = self.meta["models"][self.MODEL]
            if RECORD_ATTR not in model["attrs"]:
                model["attrs"].append(RECORD_ATTR)
                if loop_member:
                    model["persistent"].append(RECORD_ATTR)
        self.setup(**params)
        return self.meta

    def setup(self, **params: Any) -> None:
        """Take simulator-specific parameters (override when there are any)."""
        if params:
            raise TypeError(f"{self.sid}: unexpected parameters {sorted(params)}")

    def create(self, num: int, model: str, **model_params: Any) -> list[dict]:
        """Create the simulator's single entity (mosaik API)."""
        if num != 1 or self.eid:
            raise ValueError(f"{self.sid}: create exactly one {self.MODEL} entity per simulator")
        self.eid = self.EID or self.MODEL.lower()
        self.create_entity(**model_params)
        return [{"eid": self.eid, "type": model}]

    def create_entity(self, **model_params: Any) -> None:
        """Set up the entity's state (override)."""

    def step(self, time: int, inputs: dict, max_advance: int) -> int:
        """Advance one step (mosaik API); times the work.

        A loop member stepped again at the time of its last step repeats that step from
        the state it had before it (see the module docstring).
        """
        t0 = _time.perf_counter()
        if self.loop_member:
            if time == self._last_time:
                self.restore_state(self._saved)
            else:
                self._saved = self.save_state()
                self._last_time = time
        self.advance(time, inputs.get(self.eid, {}))
        if self.timings is not None:
            self.timings[self.sid] += _time.perf_counter() - t0
        return time + self.step_s

    def advance(self, time: int, inputs: Mapping[str, Mapping[str, Any]]) -> None:
        """Compute ``self.outputs`` for the step starting at ``time`` (override)."""
        raise NotImplementedError

    def save_state(self) -> Any:
        """Return what :meth:`restore_state` needs to repeat the coming step (override).

        Only loop members call it, before the first pass of every time step; simulators
        that can be loop members return copies of everything a step changes.
        """
        raise NotImplementedError(f"{self.sid}: {type(self).__name__} cannot repeat a step")

    def restore_state(self, state: Any) -> None:
        """Put back the state :meth:`save_state` returned (override with it)."""
        raise NotImplementedError(f"{self.sid}: {type(self).__name__} cannot repeat a step")

    def get_data(self, outputs: dict) -> dict:
        """Return requested outputs (mosaik API).

        :data:`RECORD_ATTR` is answered with a shallow copy of all outputs of the step.
        Outputs named in ``self.silent`` (event outputs a pass did not change) are left
        out, so that mosaik does not trigger another pass with them.
        """
        data: dict[str, dict[str, Any]] = {}
        out, silent = self.outputs, self.silent
        for eid, attrs in outputs.items():
            data[eid] = {
                attr: (dict(out) if attr == RECORD_ATTR else out[attr])
                for attr in attrs
                if attr not in silent
            }
        return data

    def when(self, time: int) -> str:
        """Return the date-time of mosaik ``time`` (for messages)."""
        return (self.start + pd.Timedelta(seconds=time)).isoformat()


def sum_inputs(values: Mapping[str, Any], size: int) -> np.ndarray:
    """Sum the arrays connected to one input attribute.

    Parameters
    ----------
    values : mapping
        Source full id -> array of length ``size``.
    size : int
        Expected length.

    Returns
    -------
    numpy.ndarray
        Their element-wise sum (zeros when nothing is connected).
    """
    total = np.zeros(size)
    for arr in values.values():
        total += arr
    return total
