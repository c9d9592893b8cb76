"""Out-of-bag estimates (``oob_score=True``) against scikit-learn's own.

With ``splitter="sklearn"`` the trees and their bootstrap samples are
scikit-learn's, so ``oob_prediction_`` must be scikit-learn's to the last
bit and ``oob_score_`` to rounding (numpy sums pairwise). With the other
splitters the samples come from the crate's own generator, so the figures
are compared as two estimates of one quantity, over seeds.
"""

import math
import warnings

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor as SkForest
from sklearn.metrics import mean_absolute_error

from wasm_forest import RandomForestRegressor

SEEDS = [0, 1, 2, 3, 4]


def _xy(diabetes):
    X, y, _, _ = diabetes
    return X.to_numpy(np.float64), y.to_numpy(np.float64)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"max_samples": 0.5, "max_features": "sqrt"},
        {"max_depth": 4, "min_samples_leaf": 5},
    ],
    ids=["defaults", "max_samples", "shallow"],
)
def test_splitter_sklearn_gives_scikit_learns_oob_figures(diabetes, params):
    X, y = _xy(diabetes)
    ours = RandomForestRegressor(
        n_estimators=100, oob_score=True, random_state=42, splitter="sklearn", **params
    ).fit(X, y)
    theirs = SkForest(n_estimators=100, oob_score=True, random_state=42, **params).fit(X, y)
    np.testing.assert_array_equal(ours.oob_prediction_, theirs.oob_prediction_)
    assert math.isclose(ours.oob_score_, theirs.oob_score_, rel_tol=0, abs_tol=1e-12)


def test_rows_every_tree_drew_warn_and_count_as_zero_as_in_scikit_learn(diabetes):
    X, y = _xy(diabetes)
    with pytest.warns(UserWarning, match="Some inputs do not have OOB scores"):
        ours = RandomForestRegressor(
            n_estimators=2, oob_score=True, random_state=7, splitter="sklearn"
        ).fit(X, y)
    with pytest.warns(UserWarning, match="Some inputs do not have OOB scores"):
        theirs = SkForest(n_estimators=2, oob_score=True, random_state=7).fit(X, y)
    assert (ours.oob_prediction_ == 0).sum() > 50
    np.testing.assert_array_equal(ours.oob_prediction_, theirs.oob_prediction_)
    assert math.isclose(ours.oob_score_, theirs.oob_score_, rel_tol=0, abs_tol=1e-12)


def _scores(make, X, y):
    return np.array([make(s).fit(X, y).oob_score_ for s in SEEDS])


@pytest.mark.parametrize("splitter", ["auto", "exact", "hist", "level"])
def test_oob_score_agrees_with_scikit_learns_over_seeds(diabetes, splitter):
    # Two estimates of one forest's generalisation R², each a mean over 5
    # seeds: they must differ by less than 4 standard errors of the
    # difference of the means (a false alarm below 1e-4 for normal means),
    # the error estimated from both sides' spread over the seeds, and taken
    # as at least 0.002 so that 5 scores which happen to lie close cannot
    # shrink the bound to nothing.
    X, y = _xy(diabetes)
    ours = _scores(
        lambda s: RandomForestRegressor(
            n_estimators=200, max_depth=16, oob_score=True, random_state=s, splitter=splitter
        ),
        X,
        y,
    )
    theirs = _scores(
        lambda s: SkForest(n_estimators=200, max_depth=16, oob_score=True, random_state=s),
        X,
        y,
    )
    se = math.sqrt(ours.var(ddof=1) / len(SEEDS) + theirs.var(ddof=1) / len(SEEDS))
    diff = ours.mean() - theirs.mean()
    print(
        f"{splitter}: wasm-forest {ours.mean():.4f} ± {ours.std(ddof=1):.4f}, "
        f"scikit-learn {theirs.mean():.4f} ± {theirs.std(ddof=1):.4f}, "
        f"difference {diff:+.4f} (standard error {se:.4f})"
    )
    assert abs(diff) < 4 * max(se, 0.002), (ours, theirs)


def test_same_oob_figures_for_any_worker_count(small):
    X, y = small
    fits = [
        RandomForestRegressor(n_estimators=30, oob_score=True, random_state=3, n_workers=w).fit(
            X, y
        )
        for w in (1, 2, 3)
    ]
    for other in fits[1:]:
        assert other.oob_prediction_.tobytes() == fits[0].oob_prediction_.tobytes()
        assert other.oob_score_ == fits[0].oob_score_


def test_a_callable_oob_score_scores_the_oob_predictions(small):
    X, y = small
    est = RandomForestRegressor(n_estimators=20, oob_score=mean_absolute_error, random_state=0)
    est.fit(X, y)
    assert est.oob_score_ == mean_absolute_error(y, est.oob_prediction_)
    assert 0 < est.oob_score_ < 1


def test_oob_needs_bootstrap_as_in_scikit_learn(small):
    X, y = small
    with pytest.raises(ValueError, match="Out of bag estimation only available if bootstrap=True"):
        RandomForestRegressor(oob_score=True, bootstrap=False).fit(X, y)


def test_without_oob_score_there_are_no_oob_attributes(small):
    X, y = small
    est = RandomForestRegressor(n_estimators=20, oob_score=True, random_state=0).fit(X, y)
    assert hasattr(est, "oob_score_") and "oob" in est.fit_time_
    est.set_params(oob_score=False).fit(X, y)
    assert not hasattr(est, "oob_score_") and not hasattr(est, "oob_prediction_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 20 trees leave each of these rows out of some
        RandomForestRegressor(n_estimators=20, oob_score=True, random_state=0).fit(X, y)
