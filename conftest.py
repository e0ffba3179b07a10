"""Settings shared by the unit tests and the notebook tests (nbval)."""

import os

# The CPU profile is what CI executes and what the stored notebook outputs show.
os.environ.setdefault("LMBOOK_PROFILE", "cpu")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_configure(config):
    """One torch thread per test process.

    The unit tests use tiny models, which gain nothing from intra-op threads, and they run
    under pytest-xdist with one worker per core: with torch's default (one thread per core in
    every worker) OpenMP barriers make small kernels 10-50x slower on a 2-core machine.
    Notebook kernels (nbval) are separate processes and keep torch's default.
    """
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
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA (marked gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
