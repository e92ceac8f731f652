"""
Tuning in a Pipeline with GridSearchCV
======================================

One-class detectors must be tuned on **normal training data only**, but scored
on test folds that contain anomalies.
:class:`~sklearn_sganomaly.model_selection.OneClassSplit` takes the folds of a
:class:`~sklearn.model_selection.StratifiedKFold` and drops the anomalies from
each training fold.

Because :class:`~sklearn_sganomaly.SkipGANomalyDetector` follows PyOD's
convention (higher ``decision_function`` = more abnormal), ``scoring="roc_auc"``
works with labels ``y = 1`` for anomalies, with no sign flip.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.model_selection import OneClassSplit

# %%
# Data: digit 0 is normal, a sample of the other digits are anomalies
# -------------------------------------------------------------------
# The pipeline receives flat ``(n, 64)`` rows, as a scikit-learn user would
# have them, and a first step compresses the intensities (square root).
digits = load_digits()
rng = np.random.RandomState(0)
normal = np.flatnonzero(digits.target == 0)
anomal = rng.choice(np.flatnonzero(digits.target != 0), 60, replace=False)
X = digits.data[np.r_[normal, anomal]]
y = np.r_[np.zeros(len(normal), int), np.ones(len(anomal), int)]  # 1 = anomaly

# %%
# The "train on normals only" cross-validation
# --------------------------------------------
cv = OneClassSplit(StratifiedKFold(2, shuffle=True, random_state=0))
for i, (train, test) in enumerate(cv.split(X, y)):
    print(
        f"fold {i}: {len(train)} training images (all normal), "
        f"{len(test)} test images ({y[test].sum()} anomalies)"
    )

# %%
# Grid search over the pipeline
# -----------------------------
# ``image_shape=(1, 8, 8)`` tells the detector that the rows are flattened
# images, so it uses the convolutional networks.
pipe = make_pipeline(
    FunctionTransformer(np.sqrt),
    SkipGANomalyDetector(
        image_shape=(1, 8, 8), width=16, batch_size=16, random_state=0
    ),
)
grid = GridSearchCV(
    pipe,
    param_grid={
        "skipganomalydetector__anomaly_score": ["knn+lof", "official"],
        "skipganomalydetector__epochs": [2, 8],
    },
    cv=cv,
    scoring="roc_auc",
)
grid.fit(X, y)  # y is used only by the scorer; the detector ignores it
print("best parameters:", grid.best_params_)
print(f"best cross-validated ROC AUC: {grid.best_score_:.3f}")

# %%
# Cross-validated ROC AUC per score and number of epochs
# ------------------------------------------------------
# With ~90 training images per fold and ``batch_size=16``, an epoch is about 5
# optimizer steps. The default neighbour score averages over the discriminators
# kept after epochs 1, 2, 4 and the last, so further epochs add snapshots to it
# as well as training the networks behind the paper's ("official") score.
# ``grid.best_estimator_`` is the pipeline refitted on all normal images with
# the best setting.
results = grid.cv_results_
fig, ax = plt.subplots(figsize=(6, 4))
for score in ("knn+lof", "official"):
    rows = results["param_skipganomalydetector__anomaly_score"] == score
    epochs = results["param_skipganomalydetector__epochs"][rows].astype(int)
    ax.errorbar(
        epochs,
        results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        marker="o",
        capsize=4,
        label=f"anomaly_score={score!r}",
    )
ax.set_xticks([2, 8])
ax.set_xlabel("epochs")
ax.set_ylabel("ROC AUC (mean ± std over 2 folds)")
ax.set_title("GridSearchCV, normal-only training folds")
ax.legend()
fig.tight_layout()
plt.show()
