"""What the notebooks use besides the library proper, and the two ways to run them.

    suite    run every notebook with papermill into build/run/<ts>/   run_suite / list_notebooks
    lab      JupyterLab on notebooks/, 127.0.0.1 only                  run_lab
    results  the key numbers a notebook records for its run            record_results / read_results
    client   one timed HTTP call to the pipeline's API                 call / Reply
    conclusions  the "What we saw" sentences, computed from a run's results   bursts / resilience / show
    kernels  the suite's kernels, over IPC sockets (no TCP, no warning)  IpcKernelManager
"""
from streamlab.notebook.client import Reply, call
from streamlab.notebook.results import read_results, record_results

__all__ = ["Reply", "call", "read_results", "record_results"]
