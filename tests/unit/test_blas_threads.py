"""A process that answers holds numpy's BLAS to one thread and leaves OpenMP's threads alone
(answerer.blas_on_one_thread)."""

import subprocess
import sys

PROBE = """
import faiss
import numpy
from threadpoolctl import threadpool_info
def numpy_blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["prefix"] == "libscipy_openblas"]
before = numpy_blas_threads(), faiss.omp_get_max_threads()
from followup.answerer import blas_on_one_thread
blas_on_one_thread()
print(before, (numpy_blas_threads(), faiss.omp_get_max_threads()))
"""


def test_numpy_blas_runs_on_one_thread_and_faiss_keeps_its_openmp_threads() -> None:
    # In a child: the limit is process-wide; both pools start at 2 threads whatever the machine.
    env = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == "([2], 2) ([1], 2)"
