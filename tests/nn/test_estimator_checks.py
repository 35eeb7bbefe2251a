"""scikit-learn's own estimator checks on MLPClassifier/MLPRegressor, and the estimators' shape.

``parametrize_with_checks`` runs every check scikit-learn has for a classifier or a regressor
(cloning, input validation, pickling, sparse input, sample weights, invariances, ...) on
scikit-learn's default settings and on a few of memograd's. A check may fail only where
``expected_failed_checks`` says so, with its reason; for the default settings it says nothing.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.neural_network import MLPRegressor as SklearnRegressor
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

import memograd as mg
from memograd.nn.estimators import expected_failed_checks

DEFAULTS = [mg.MLPClassifier(), mg.MLPRegressor()]
VARIANTS = [
    mg.MLPClassifier(dropout=0.2, dtype="float32"),
    mg.MLPRegressor(solver="sgd", activation="tanh"),
    mg.MLPClassifier(fuse=True),  # the compiled, fused mini-batch step (numba: the test extra)
]


def test_the_default_settings_declare_no_expected_failure():
    assert [expected_failed_checks(est) for est in DEFAULTS] == [{}, {}]
    declared = expected_failed_checks(VARIANTS[0])
    assert set(declared) == {
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    }
    assert "dropout" in declared["check_sample_weight_equivalence_on_dense_data"]


@parametrize_with_checks(DEFAULTS + VARIANTS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(mg.MLPClassifier, SklearnClassifier), (mg.MLPRegressor, SklearnRegressor)],
)
def test_constructor_is_sklearns_plus_four_keywords(ours, theirs):
    mine = inspect.signature(ours).parameters
    sk = inspect.signature(theirs).parameters
    for name, parameter in sk.items():
        assert name in mine, name
        assert mine[name].default == parameter.default, name
        assert mine[name].kind == parameter.kind, name
    assert list(mine)[: len(sk)] == list(sk)  # positional order too
    extras = {name: mine[name] for name in mine if name not in sk}
    assert {name: p.default for name, p in extras.items()} == {
        "dropout": 0.0,
        "dtype": None,
        "progress_bar": False,
        "fuse": False,
    }
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in extras.values())


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(mg.MLPClassifier, SklearnClassifier), (mg.MLPRegressor, SklearnRegressor)],
)
def test_tags_are_sklearns(ours, theirs):
    assert get_tags(ours()) == get_tags(theirs())


def test_bad_parameters_get_sklearns_message():
    X, y = np.ones((4, 2)), [0, 1, 0, 1]
    for kwargs in ({"alpha": -1}, {"solver": "rmsprop"}, {"batch_size": 0}, {"dropout": 1.0}):
        with pytest.raises(ValueError) as ours:
            mg.MLPClassifier(**kwargs).fit(X, y)
        if "dropout" in kwargs:
            assert "The 'dropout' parameter of MLPClassifier must be a float in the range" in str(
                ours.value
            )
            continue
        with pytest.raises(ValueError) as theirs:
            SklearnClassifier(**kwargs).fit(X, y)
        assert _sorted_sets(str(ours.value)) == _sorted_sets(str(theirs.value))


def _sorted_sets(message: str) -> str:
    """The message with each ``{'a', 'b'}`` written in sorted order: a set prints in its hash
    order, which differs between two equal sets built differently (and between runs)."""
    import re

    def sort(match: re.Match) -> str:
        return "{" + ", ".join(sorted(item.strip() for item in match.group(1).split(","))) + "}"

    return re.sub(r"\{([^{}]*)\}", sort, message)


def test_dropout_with_lbfgs_is_refused_in_one_line():
    with pytest.raises(ValueError, match="dropout=0.5 needs a stochastic solver"):
        mg.MLPClassifier(solver="lbfgs", dropout=0.5).fit(np.eye(4), [0, 1, 0, 1])


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_memograd_does_not_import_sklearn_until_an_estimator_is_used():
    result = run_python(
        """
        import sys
        import memograd as mg
        assert "sklearn" not in sys.modules, "import memograd loaded scikit-learn"
        assert "MLPClassifier" in mg.__all__
        clf = mg.MLPClassifier(hidden_layer_sizes=(3,))
        assert "sklearn" in sys.modules
        assert mg.nn.MLPRegressor is mg.MLPRegressor
        print(type(clf).__mro__[1].__module__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sklearn.base"


def test_without_sklearn_the_error_names_the_extra():
    result = run_python(
        """
        import sys
        sys.modules["sklearn"] = None  # as if scikit-learn were not installed
        import memograd as mg
        try:
            mg.MLPClassifier
        except ModuleNotFoundError as exc:
            print(exc.name, "|", exc)
        from memograd.cli import main
        sys.exit(main(["train", "--dataset", "moons", "--epochs", "1", "--out", "m.npz"]))
        """
    )
    first, _, message = result.stdout.partition(" | ")
    assert first == "sklearn"
    assert "pip install 'memograd[sklearn]'" in message
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "memograd: the command line needs the optional package 'sklearn'; install it with: "
        "pip install 'memograd[cli]'"
    ]
