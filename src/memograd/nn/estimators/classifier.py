"""``MLPClassifier``: scikit-learn's MLP classifier, trained by memograd's engine."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from memograd.nn.estimators.base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multilayer-perceptron classifier: ``sklearn.neural_network.MLPClassifier`` on memograd.

    The parameters, their defaults and meanings are scikit-learn's (``hidden_layer_sizes=(100,)``,
    ``solver='adam'``, ``alpha=1e-4``, ``batch_size='auto'``, ``max_iter=200``, ``tol=1e-4``,
    ``n_iter_no_change=10``, ...; see scikit-learn's documentation), and so are the fitted
    attributes (``classes_``, ``coefs_``, ``intercepts_``, ``loss_``, ``loss_curve_``,
    ``best_loss_``, ``validation_scores_``, ``best_validation_score_``, ``n_iter_``, ``t_``,
    ``n_features_in_``, ``feature_names_in_``, ``n_layers_``, ``n_outputs_``,
    ``out_activation_``): several classes get a softmax output trained on log loss, two
    classes (or a multilabel indicator matrix) logistic outputs on binary log loss.

    memograd's own keywords: ``dropout`` (a rate after each hidden activation), ``dtype``
    ("float32" to train in single precision whatever the input), ``progress_bar`` and ``fuse``
    (compiled, fused mini-batch steps: the `memograd[fused]` extra); see
    :mod:`memograd.nn.estimators.base`. ``activation`` also takes 'leaky_relu' and 'gelu'.
    ``save(path)`` / ``MLPClassifier.load(path)`` keep a fitted model in one .npz file.
    """

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=self._input_dtype(),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # A new fit learns the classes; a warm start or partial_fit must see no new ones.
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        # bool, so that float32 training does not meet float64 targets
        return X, self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validation_targets(self, Y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(Y)

    @available_if(lambda est: est._stochastic_only())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over ``(X, y)``; the first call must name every class in ``classes``."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _predict(self, X: Any, check_input: bool = True) -> np.ndarray:
        """The class of each row (a 0/1 row per label for a multilabel ``y``)."""
        outputs = self._forward(X, check_input=check_input)
        if self.n_outputs_ == 1:
            outputs = outputs.ravel()
        return self._label_binarizer.inverse_transform(outputs)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of ``classes_``."""
        check_is_fitted(self)
        outputs = self._forward(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - outputs, outputs])
        return outputs

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))`` (so -inf where a probability is 0, as scikit-learn's)."""
        probabilities = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(probabilities, out=probabilities)

    def _score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        return self._score_with(X, y, sample_weight, accuracy_score)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
