"""A process that answers holds numpy's BLAS to one thread (answerer.blas_on_one_thread)."""

import subprocess
import sys

PROBE = """
import numpy
from threadpoolctl import threadpool_info
def blas_threads():
    return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
before = blas_threads()
from followup.answerer import blas_on_one_thread
blas_on_one_thread()
print(before, blas_threads())
"""


def test_numpy_blas_runs_on_one_thread_after_the_call() -> None:
    # In a child: the limit is process-wide, and the 2-thread default needs OPENBLAS_NUM_THREADS unset.
    env = {"OPENBLAS_NUM_THREADS": "2", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True).stdout
    before, after = out.strip().split("] [")
    assert "2" in before  # numpy's own BLAS started with two threads
    assert set(after.strip("[]").split(", ")) == {"1"}
