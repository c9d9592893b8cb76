"""scikit-learn's own estimator checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from wasm_forest import RandomForestRegressor

# Checks this estimator cannot pass, each with the reason. Keep it short and
# true: a check that starts passing fails the run (xfail_strict).
EXPECTED_FAILURES: dict[str, str] = {}


@parametrize_with_checks(
    [RandomForestRegressor(n_estimators=5, n_workers=1, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
