"""
Quick start: fit, score and threshold
=====================================

Train :class:`~sklearn_sganomaly.SkipGANomalyDetector` on one digit of
scikit-learn's 8×8 digits (the normal class) and score a test set made of the
remaining images of that digit plus every other digit (the anomalies). The
histogram shows the anomaly scores of both groups and the threshold learned
from the training scores.
"""

# %%
# Data: one-class split of the digits
# -----------------------------------
# :func:`~sklearn_sganomaly.datasets.make_one_class_split` turns a labelled data
# set into a one-class benchmark. Here digit 0 is the *anomaly class* of the
# split helper's vocabulary, so we build the split the other way round by hand:
# digit 0 is normal and every other digit is an anomaly.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_sganomaly import SkipGANomalyDetector

digits = load_digits()
images = digits.images[:, np.newaxis]  # (n, 1, 8, 8), values 0..16
normal = images[digits.target == 0]
X_train, X_test_normal = train_test_split(normal, test_size=0.5, random_state=0)
rng = np.random.RandomState(0)
others = images[digits.target != 0]
X_test_anomal = others[rng.choice(len(others), 200, replace=False)]
X_test = np.concatenate([X_test_normal, X_test_anomal])
y_test = np.r_[np.zeros(len(X_test_normal)), np.ones(len(X_test_anomal))]
print(f"train: {X_train.shape}, test: {X_test.shape} ({int(y_test.sum())} anomalies)")

# %%
# Fit and score
# -------------
# 8×8 images are resized to 32×32 inside the detector. With only ~90 training
# images, a small ``batch_size`` gives the model enough optimizer steps.
det = SkipGANomalyDetector(epochs=15, batch_size=16, width=16, random_state=0)
det.fit(X_train)

scores = det.decision_function(X_test)  # higher = more abnormal
labels = det.predict(X_test)  # 1 = anomaly, 0 = normal
print(f"ROC AUC: {roc_auc_score(y_test, scores):.3f}")
print(f"threshold_: {det.threshold_:.4f}, flagged {labels.sum()} of {len(labels)}")

# %%
# Score histogram
# ---------------
# ``threshold_`` is the ``1 - contamination`` quantile of the training scores
# (``contamination=0.1`` by default), so about 10% of the training images lie
# above it.
fig, ax = plt.subplots(figsize=(7, 4))
bins = np.linspace(scores.min(), scores.max(), 40)
ax.hist(scores[y_test == 0], bins=bins, alpha=0.7, label="normal (digit 0)")
ax.hist(scores[y_test == 1], bins=bins, alpha=0.7, label="anomaly (digits 1-9)")
ax.axvline(det.threshold_, color="k", linestyle="--", label="threshold_")
ax.set_xlabel("decision_function(X)  (higher = more abnormal)")
ax.set_ylabel("test images")
ax.set_title("Skip-GANomaly scores on one-class digits")
ax.legend()
fig.tight_layout()
plt.show()
