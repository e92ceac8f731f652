"""
One-class digits: ROC curves against PyOD detectors
===================================================

Skip-GANomaly next to three classic PyOD detectors, Isolation Forest, LOF and
k-nearest neighbours, on the same one-class split of scikit-learn's digits:
every detector trains on half of the images of one digit and scores the other
half together with all other digits. All four follow PyOD's convention (higher
``decision_function`` = more abnormal), so their scores go straight into
:func:`~sklearn.metrics.roc_curve` with ``y = 1`` for anomalies.

The classic detectors see the 64 pixel values as a table; Skip-GANomaly sees
the images. The networks here are tiny (``width=32``) to keep the example
fast, so this is an illustration, not a benchmark.
"""

import matplotlib.pyplot as plt
import numpy as np
from pyod.models.iforest import IForest
from pyod.models.knn import KNN
from pyod.models.lof import LOF
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split

from sklearn_sganomaly import SkipGANomalyDetector

NORMAL_DIGIT = 2

digits = load_digits()
images = digits.images[:, np.newaxis]  # (n, 1, 8, 8)
X_train, X_test_normal = train_test_split(
    images[digits.target == NORMAL_DIGIT], test_size=0.5, random_state=0
)
X_anomal = images[digits.target != NORMAL_DIGIT]
X_test = np.concatenate([X_test_normal, X_anomal])
y_test = np.r_[np.zeros(len(X_test_normal)), np.ones(len(X_anomal))]

# %%
# Fit the four detectors on the same training images
# --------------------------------------------------
detectors = {
    "Skip-GANomaly": SkipGANomalyDetector(
        epochs=15, batch_size=16, width=32, random_state=0
    ),
    "IForest": IForest(random_state=0),
    "LOF": LOF(n_neighbors=10),
    "KNN": KNN(n_neighbors=5),
}
flat_train = X_train.reshape(len(X_train), -1)
flat_test = X_test.reshape(len(X_test), -1)
scores = {}
for name, det in detectors.items():
    if name == "Skip-GANomaly":
        scores[name] = det.fit(X_train).decision_function(X_test)
    else:
        scores[name] = det.fit(flat_train).decision_function(flat_test)
    print(f"{name:>14}: ROC AUC {roc_auc_score(y_test, scores[name]):.3f}")

# %%
# ROC curves
# ----------
fig, ax = plt.subplots(figsize=(5.5, 5))
for name, s in scores.items():
    fpr, tpr, _ = roc_curve(y_test, s)
    ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y_test, s):.3f})")
ax.plot([0, 1], [0, 1], color="0.7", linestyle=":")
ax.set_xlabel("false positive rate")
ax.set_ylabel("true positive rate")
ax.set_title(f"Normal class: digit {NORMAL_DIGIT}; anomalies: all other digits")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
