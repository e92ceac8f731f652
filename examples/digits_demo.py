"""One-class digits: SkipGANomalyDetector next to PyOD's IForest on the same split.

For each chosen digit, the detectors train on half of that digit's images (the
normal class) and score the other half together with every other digit (the
anomalies). Run with ``python examples/digits_demo.py [--digits 0 1 ...]``.

About 90 images of one digit make one batch of 64 per epoch, so 15 epochs
would be only 15 optimizer steps; ``batch_size=16`` gives the paper's 15 epochs
about 75 steps, which the model needs.
"""

import argparse
import time

import numpy as np
from pyod.models.iforest import IForest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_sganomaly import SkipGANomalyDetector


def one_class_split(images, labels, normal_digit, seed=0):
    normal = images[labels == normal_digit]
    train, test_normal = train_test_split(normal, test_size=0.5, random_state=seed)
    anomalies = images[labels != normal_digit]
    X_test = np.concatenate([test_normal, anomalies])
    y_test = np.r_[np.zeros(len(test_normal)), np.ones(len(anomalies))]
    return train, X_test, y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    digits = load_digits()
    images = digits.images[:, None]  # (n, 1, 8, 8), values 0..16
    print(f"sklearn digits: {len(images)} images of 8x8; one digit is normal")
    print(
        f"{'normal digit':>12} {'SkipGANomaly AUROC':>19} {'IForest AUROC':>14} {'fit s':>6}"
    )
    results = []
    for digit in args.digits:
        X_train, X_test, y_test = one_class_split(images, digits.target, digit)
        start = time.perf_counter()
        det = SkipGANomalyDetector(
            epochs=args.epochs, batch_size=args.batch_size, random_state=0
        ).fit(X_train)
        seconds = time.perf_counter() - start
        auc_sg = roc_auc_score(y_test, det.decision_function(X_test))
        iforest = IForest(random_state=0).fit(X_train.reshape(len(X_train), -1))
        auc_if = roc_auc_score(
            y_test, iforest.decision_function(X_test.reshape(len(X_test), -1))
        )
        results.append((auc_sg, auc_if))
        print(f"{digit:>12} {auc_sg:>19.3f} {auc_if:>14.3f} {seconds:>6.1f}")
    mean_sg, mean_if = np.mean(results, axis=0)
    print(f"{'mean':>12} {mean_sg:>19.3f} {mean_if:>14.3f}")


if __name__ == "__main__":
    main()
