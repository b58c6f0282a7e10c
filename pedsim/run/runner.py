"""Run a scenario end to end: load, build, step, record, and close the results file.

Whatever happens, the results file is left readable: ``complete`` after a normal end,
``failed`` after an error (with the message), ``interrupted`` after Ctrl-C; every step
completed before the stop is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pedsim.gridmodel import load_district
from pedsim.results import ResultsWriter
from pedsim.run.world import build_world
from pedsim.scenario import Scenario


class RunFailedError(RuntimeError):
    """A run stopped on an error; its results file is marked ``failed``."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class RunSummary:
    """What a finished run reports.

    Attributes
    ----------
    path : pathlib.Path
        Results file.
    status : str
        ``complete`` or ``interrupted``.
    n_steps : int
        Steps simulated.
    wall_s : float
        Wall time of the stepping loop, seconds.
    timings : dict
        Wall seconds spent in each simulator's step.
    """

    path: Path
    status: str
    n_steps: int
    wall_s: float
    timings: dict[str, float]


def run_scenario(
    scenario: Scenario, out: Path | None = None, *, progress: bool = True
) -> RunSummary:
    """Simulate ``scenario`` and write its results file.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario.
    out : pathlib.Path, optional
        Results file; defaults to the scenario's ``output.path``.
    progress : bool
        Show mosaik's progress bar.

    Returns
    -------
    RunSummary
        Where the results are and how the run went.

    Raises
    ------
    RunFailedError
        If a simulator failed (the file is kept, marked ``failed``).
    KeyboardInterrupt
        Re-raised after the file is marked ``interrupted``.
    """
    path = Path(out) if out is not None else scenario.output_path
    district = load_district(scenario)
    meta = {
        "scenario_name": scenario.name,
        "seed": scenario.seed,
        "start": scenario.start_ts.isoformat(),
        "step_s": scenario.step,
        "n_steps_planned": scenario.n_steps,
        # Nominal sizes for capacity factors: installed PV and transformer rating.
        "p_pv_nom_kw": float(1000 * district.net.sgen.p_mw[district.net.sgen.in_service].sum()),
        "p_conn_kw": float(1000 * district.net.trafo.sn_mva[district.net.trafo.in_service].sum()),
    }
    writer = ResultsWriter(
        path,
        meta,
        scenario.source_text,
        str(scenario.source_path or ""),
        chunk_steps=min(scenario.output.chunk_steps, scenario.n_steps),
    )
    built = None
    stop = threading.Event()
    t0 = time.perf_counter()
    try:
        built = build_world(scenario, district, writer, stop=stop)
        t0 = time.perf_counter()
        with _stop_on_sigint(stop):
            built.world.run(
                until=built.until,
                print_progress=progress,
                lazy_stepping=scenario.simulation.lazy_stepping,
            )
    except KeyboardInterrupt:
        _shutdown(built)
        writer.close("interrupted", "interrupted by the user (Ctrl-C)", _timings(built))
        raise
    except Exception as exc:
        _shutdown(built)
        if _caused_by_interrupt(exc):  # Ctrl-C raised inside compiled code
            writer.close("interrupted", "interrupted by the user (Ctrl-C)", _timings(built))
            raise KeyboardInterrupt from exc
        message = f"{type(exc).__name__}: {exc}"
        writer.close("failed", message, _timings(built))
        raise RunFailedError(message, path) from exc
    wall = time.perf_counter() - t0
    writer.close("complete", "", _timings(built), {"wall_s": wall})
    return RunSummary(path, "complete", scenario.n_steps, wall, _timings(built))


@contextlib.contextmanager
def _stop_on_sigint(stop: threading.Event) -> Iterator[None]:
    """Turn the first Ctrl-C into a stop request handled after the current step.

    The recorder then raises ``KeyboardInterrupt`` at a step boundary, so every completed
    step is kept; a second Ctrl-C interrupts at once.  Only in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _caused_by_interrupt(exc: BaseException | None) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _timings(built: object) -> dict[str, float]:
    return dict(getattr(built, "timings", {}) or {})


def _shutdown(built: object) -> None:
    """Stop a world after an error: cancel mosaik's pending simulator tasks, then shut down."""
    world = getattr(built, "world", None)
    if world is None:
        return
    loop = world.loop
    with contextlib.suppress(Exception):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    with contextlib.suppress(Exception):
        world.shutdown()
