"""nbval's kernel start is retried once (conftest.retry_once): a notebook whose first kernel
does not answer gets a second one instead of erroring in every cell."""

import pytest

import conftest


def _kernel_start(failures: int):
    calls = []

    def start(*args, **kwargs):
        calls.append(args)
        if len(calls) <= failures:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return "manager", "client"

    return start, calls


def test_nbval_starts_kernels_through_the_retry():
    import nbval.kernel

    assert nbval.kernel.start_new_kernel.retries_once  # installed by conftest.pytest_configure


def test_a_kernel_that_does_not_answer_is_replaced_once():
    start, calls = _kernel_start(failures=1)
    with pytest.warns(UserWarning, match="did not start .* starting a new one"):
        assert conftest.retry_once(start)("python3") == ("manager", "client")
    assert len(calls) == 2
    start, calls = _kernel_start(failures=0)
    assert conftest.retry_once(start)("python3") == ("manager", "client") and len(calls) == 1
    start, calls = _kernel_start(failures=2)  # a second failure is the notebook's error
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="60 seconds"):
        conftest.retry_once(start)("python3")
    assert len(calls) == 2
