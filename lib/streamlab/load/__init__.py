"""Open-loop load: schedules of intended send times, a generator that keeps them, honest results.

    from streamlab import load
    result = load.run_load(url, load.constant(rate=200, duration=10), out="runs/r1")
    result.summary, result.records, result.intervals("latency")

    schedule   intended send times: constant, batches, windows, steps, ramp
    bodies     request bodies (seeded, picklable factories) with the processor's failure switches
    generator  one event loop's open-loop sender: intended, sent and done times per request
    run        run_load: spreads a schedule over worker processes and merges what they measured
    results    records, HDR histograms and the summary; saved to and read back from a run folder
    hdr        HDR histogram helpers: per-interval histograms, merges, percentiles
    progress   progress bars: a widget in JupyterLab, text in a terminal, one line in executed copies
"""
from streamlab.load.bodies import BodyFactory, JsonBodies
from streamlab.load.results import LoadResult, format_summary, load_run
from streamlab.load.run import run_load
from streamlab.load.schedule import Schedule, batches, constant, parse_profile, ramp, steps, windows

__all__ = [
    "BodyFactory", "JsonBodies", "LoadResult", "Schedule", "batches", "constant", "format_summary",
    "load_run", "parse_profile", "ramp", "run_load", "steps", "windows",
]
