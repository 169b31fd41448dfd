"""Experiments: send load at the API, observe the pipeline, audit, chart and compare.

    runner   one experiment end to end (load -> observe -> audit -> figures)   run_experiment
             or in two halves: the load now, the rest later                send_experiment
    charts   the shared-time dashboard, percentile and lag plots, outcome bars  dashboard / render_run
    failure_lane  the dashboard's failures, one panel each; fault windows       FaultWindow
    plain_labels  figure text in words, plain ms ticks, a repr detector        describe_schedule
    compare  designs under the same load, side by side, in computed sentences  outcome / describe
"""
from streamlab.experiment.runner import Experiment, PipelineNames, SentExperiment, run_experiment, send_experiment

__all__ = ["Experiment", "PipelineNames", "SentExperiment", "run_experiment", "send_experiment"]
