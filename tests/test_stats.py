"""Tests for lmbook.stats: the one bootstrap the chapters share."""

from __future__ import annotations

import numpy as np
import pytest

from lmbook.embeddings import bootstrap_interval as embeddings_bootstrap
from lmbook.stats import bootstrap_interval, percentile_interval


def test_interval_covers_the_mean_and_narrows_with_more_items():
    rng = np.random.default_rng(1)
    small, large = rng.normal(size=50), rng.normal(size=5000)
    lo_s, hi_s = bootstrap_interval(lambda i: small[i].mean(), len(small))
    lo_l, hi_l = bootstrap_interval(lambda i: large[i].mean(), len(large))
    assert lo_s < small.mean() < hi_s and lo_l < large.mean() < hi_l
    # the standard error falls as 1 / sqrt(n): 10x narrower for 100x the items
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5
    assert (hi_l - lo_l) == pytest.approx(2 * 1.96 / np.sqrt(5000), rel=0.25)


def test_percentile_interval_is_the_central_share():
    assert percentile_interval(np.arange(101), 0.9) == pytest.approx((5.0, 95.0))


def test_bad_settings_and_tiny_samples():
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(lambda i: 0.0, 10, level=1.0)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_interval(lambda i: 0.0, 10, n_boot=0)
    assert np.isnan(bootstrap_interval(lambda i: 0.0, 1)[0])


def test_embeddings_keeps_its_name_for_the_same_function():
    assert embeddings_bootstrap is bootstrap_interval
