"""scikit-learn's own estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from wasm_forest import RandomForestRegressor

# Checks this estimator cannot pass, each with the reason. Keep it short and
# true: a check that starts passing fails the run (xfail_strict).
EXPECTED_FAILURES: dict[str, str] = {
    # As scikit-learn's own RandomForestRegressor (its expected failures):
    # with bootstrap and max_samples=None a tree draws n_samples rows, so a
    # row weighing 2 and the same row twice give other draws.
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples."
    ),
}


@parametrize_with_checks(
    [RandomForestRegressor(n_estimators=5, n_workers=1, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
