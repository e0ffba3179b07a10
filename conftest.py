"""Settings shared by the unit tests and the notebook tests (nbval)."""

import functools
import os

# The CPU profile is what CI executes and what the stored notebook outputs show.
os.environ.setdefault("LMBOOK_PROFILE", "cpu")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def retry_once(start_kernel):
    """``start_kernel`` that starts a second, new kernel when the first does not answer.

    nbval starts one kernel per notebook and gives it 60 s to answer (``RuntimeError``
    otherwise), and then every cell of that notebook errors. That happened once in a
    fresh-clone run here (two workers, the book build and the browser check beside them):
    a kernel never answered, while the runs before and after started all 22. A retry with a
    new kernel, on new ports, costs nothing when the first start works, and says when it
    was needed.
    """

    @functools.wraps(start_kernel)
    def start(*args, **kwargs):
        try:
            return start_kernel(*args, **kwargs)
        except RuntimeError as e:
            import warnings

            warnings.warn(
                f"a notebook kernel did not start ({e}); starting a new one", stacklevel=2
            )
            return start_kernel(*args, **kwargs)

    start.retries_once = True
    return start


def pytest_configure(config):
    """One torch thread per test process; nbval's kernel start retried once (see retry_once).

    The unit tests use tiny models, which gain nothing from intra-op threads, and they run
    under pytest-xdist with one worker per core: with torch's default (one thread per core in
    every worker) OpenMP barriers make small kernels 10-50x slower on a 2-core machine.
    Notebook kernels (nbval) are separate processes and keep torch's default.
    """
    try:
        import nbval.kernel
    except ImportError:
        pass
    else:
        if not getattr(nbval.kernel.start_new_kernel, "retries_once", False):
            nbval.kernel.start_new_kernel = retry_once(nbval.kernel.start_new_kernel)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `gpu` where CUDA is absent (they run on GPU machines)."""
    import pytest

    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    _order_notebooks_slowest_first(items)
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA (marked gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# --- Notebook budgets -------------------------------------------------------------------
# nbval runs the notebooks under pytest-xdist with `--dist loadfile` (a notebook's cells stay
# on one worker). Two things keep the whole book inside CI's time budget and visible:
#   1. notebooks are collected slowest first (by the CPU time their stored run took), so the
#      two workers finish together instead of one idling while the other runs a long notebook
#      that happened to come last (longest-processing-time-first scheduling);
#   2. the run ends with a table of each notebook's time, slowest first, beside the CPU time
#      of its stored run (`metadata.lmbook.execution`, written by .ci/execute.py).

_NOTEBOOK_SECONDS: dict[str, float] = {}


@functools.cache
def _notebook_runs():
    """tests/book/notebook_runs.py, the one reader of a notebook's stored-run record."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent / "tests" / "book" / "notebook_runs.py"
    spec = importlib.util.spec_from_file_location("notebook_runs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stored_notebook_seconds(path) -> float | None:
    """CPU seconds of a notebook's stored run (or its wall span when older than the record)."""
    runs = _notebook_runs()
    nb = runs.load_notebook(path)
    return None if nb is None else runs.stored_cpu_seconds(nb)


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


# Unit-test files with a test marked `slow` (a training run, a compile) are scheduled with the
# long notebooks; the many quick test files go last and fill the workers' tails.
SLOW_TEST_FILE_SECONDS = 400.0


def _order_notebooks_slowest_first(items) -> None:
    """Order test files and notebooks longest first (stable within a file)."""
    cost: dict[str, float] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if _notebook_of(item.nodeid) is not None:
            if path not in cost:
                cost[path] = stored_notebook_seconds(item.path) or 0.0
        elif item.get_closest_marker("slow") is not None:
            cost[path] = SLOW_TEST_FILE_SECONDS
        else:
            cost.setdefault(path, 0.0)
    items.sort(key=lambda it: -cost[it.nodeid.split("::", 1)[0]])


def pytest_runtest_logreport(report):
    nb = _notebook_of(report.nodeid)
    if nb is not None:
        _NOTEBOOK_SECONDS[nb] = _NOTEBOOK_SECONDS.get(nb, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _NOTEBOOK_SECONDS:
        return
    from pathlib import Path

    root = Path(__file__).resolve().parent
    tr = terminalreporter
    tr.section("notebook times (slowest first)")
    tr.write_line(f"{'this run s':>10}  {'stored CPU s':>12}  notebook")
    for nb, seconds in sorted(_NOTEBOOK_SECONDS.items(), key=lambda kv: -kv[1]):
        stored = stored_notebook_seconds(root / nb)
        stored_txt = f"{stored:12.0f}" if stored is not None else f"{'-':>12}"
        tr.write_line(f"{seconds:10.0f}  {stored_txt}  {nb}")
    tr.write_line(
        f"{sum(_NOTEBOOK_SECONDS.values()):10.0f}  total over {len(_NOTEBOOK_SECONDS)} notebooks "
        "(one torch thread each; budget: 180 s per notebook)"
    )
