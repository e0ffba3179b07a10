import math

import pytest

from lmbook.train.schedule import WarmupCosine, warmup_cosine_lr


def test_warmup_is_linear_and_never_zero():
    s = WarmupCosine(lr=1e-3, min_lr=1e-4, warmup_iters=10, decay_iters=110)
    assert s(0) == pytest.approx(1e-3 / 11)
    assert s(4) == pytest.approx(1e-3 * 5 / 11)
    assert [s(i) for i in range(10)] == sorted(s(i) for i in range(10))


def test_cosine_midpoint_and_floor():
    s = WarmupCosine(lr=1e-3, min_lr=1e-4, warmup_iters=10, decay_iters=110)
    assert s(10) == pytest.approx(1e-3)
    assert s(60) == pytest.approx(1e-4 + 0.5 * (1e-3 - 1e-4))  # cos(pi/2) = 0
    assert s(110) == pytest.approx(1e-4)
    assert s(10_000) == pytest.approx(1e-4)
    vals = [s(i) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(vals, vals[1:], strict=False))


def test_no_warmup_starts_at_peak():
    assert warmup_cosine_lr(0, lr=2.0, min_lr=0.0, warmup_iters=0, decay_iters=4) == 2.0
    assert warmup_cosine_lr(2, lr=2.0, min_lr=0.0, warmup_iters=0, decay_iters=4) == pytest.approx(
        1.0 + math.cos(math.pi / 2)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=1e-3, min_lr=1e-2, warmup_iters=0, decay_iters=10),
        dict(lr=1e-3, min_lr=0.0, warmup_iters=20, decay_iters=10),
        dict(lr=0.0, min_lr=0.0, warmup_iters=0, decay_iters=10),
    ],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        WarmupCosine(**kwargs)


def test_negative_step_refused():
    with pytest.raises(ValueError, match="step"):
        warmup_cosine_lr(-1, lr=1.0, min_lr=0.0, warmup_iters=0, decay_iters=1)
