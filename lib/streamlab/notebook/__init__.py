"""What the notebooks use besides the library proper, the two ways to run them, and what a run leaves.

    suite        run every notebook with papermill into build/run/<ts>/     run_suite / list_notebooks
    report       the run's index.html: verdicts, key numbers, pages, figures  write_run_report
    key_numbers  each notebook's few numbers and verdict, from its results
    outcomes     passed / failed (cell, error) / not run, per notebook
    junit        the run as JUnit XML for CI                                  write_junit
    provenance   the run's settings and versions
    lab          JupyterLab on the checkout, 127.0.0.1 only                   run_lab
    clean_save   the lab's save hook: no outputs written into notebooks
    results      the key numbers a notebook records for its run             record_results / read_results
    client       one timed HTTP call to the pipeline's API                  call / Reply
    conclusions  the "What we saw" sentences, computed from a run's results   bursts / resilience / show
    kernels      the suite's kernels, over IPC sockets (no TCP, no warning)   IpcKernelManager
"""
from streamlab.notebook.client import Reply, call
from streamlab.notebook.results import read_results, record_results

__all__ = ["Reply", "call", "read_results", "record_results"]
