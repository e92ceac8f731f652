"""End to end on real data: sklearn's bundled digits, one digit as the normal class."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_sganomaly import SkipGANomalyDetector


def _one_class_digits(normal_digit):
    digits = load_digits()
    images = digits.images[:, None]
    normal = images[digits.target == normal_digit]
    train, test_normal = train_test_split(normal, test_size=0.5, random_state=0)
    anomalies = images[digits.target != normal_digit]
    X_test = np.concatenate([test_normal, anomalies])
    y_test = np.r_[np.zeros(len(test_normal)), np.ones(len(anomalies))]
    return train, X_test, y_test


@pytest.mark.parametrize("normal_digit", [0, 1, 2])
def test_separates_a_digit_from_the_other_digits(normal_digit):
    """AUROC floor on one-class digits (about 90 training images of one digit).

    Measured with this configuration and seed: 0.996, 0.944 and 0.940 for digits
    0, 1 and 2 (PyOD's IForest: 0.999, 0.971, 0.967). The floor of 0.85 leaves
    room for floating-point differences across platforms, yet fails for a model
    that did not learn the digit's shape: undertrained (15 steps) the same
    networks scored 0.03 on digit 1, and at width 16 0.32.
    """
    X_train, X_test, y_test = _one_class_digits(normal_digit)
    detector = SkipGANomalyDetector(
        epochs=15, batch_size=16, width=32, device="cpu", random_state=0
    ).fit(X_train)
    assert roc_auc_score(y_test, detector.decision_function(X_test)) > 0.85
