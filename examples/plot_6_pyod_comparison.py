"""
Comparing and combining with PyOD detectors
===========================================

:class:`~sklearn_sganomaly.SkipGANomalyDetector` is a PyOD detector: it has
``fit``, ``decision_function`` (higher = more abnormal) and ``decision_scores_``.
PyOD's comparison utilities therefore take it as they take PyOD's own
detectors. This example fits it next to PyOD's Isolation Forest, LOF and
AutoEncoder on the same one-class digits task, prints PyOD's
``evaluate_print`` lines, and merges the four detectors' scores with
``pyod.models.combination`` after standardizing them with ``standardizer``.

PyOD's detectors only accept 2-D input, so every detector gets the flattened
``(n, 64)`` rows; ``image_shape=(1, 8, 8)`` tells ours that the rows are
images, so it still uses its convolutional networks. The combinations need
the ``combo`` package (``pip install combo``).
"""

import matplotlib.pyplot as plt
import numpy as np
from pyod.models.auto_encoder import AutoEncoder
from pyod.models.combination import aom, average, maximization, median, moa
from pyod.models.iforest import IForest
from pyod.models.lof import LOF
from pyod.utils.data import evaluate_print
from pyod.utils.utility import precision_n_scores, standardizer
from sklearn.datasets import load_digits
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.model_selection import train_test_split

from sklearn_sganomaly import SkipGANomalyDetector

# %%
# One-class digits
# ----------------
# Digit 1 is the normal class: half of its images train the detectors (all of
# them normal), the other half and 60 images of other digits form the test set.
digits = load_digits()
normal = digits.data[digits.target == 1]
X_train, X_test_normal = train_test_split(normal, test_size=0.5, random_state=0)
others = digits.data[digits.target != 1]
anomalies = others[np.random.RandomState(0).choice(len(others), 60, replace=False)]
X_test = np.r_[X_test_normal, anomalies]
y_test = np.r_[np.zeros(len(X_test_normal)), np.ones(len(anomalies))]  # 1 = anomaly
print(f"{len(X_train)} training images, {len(X_test)} test images")

# %%
# Fit the detectors and print PyOD's report
# -----------------------------------------
# ``evaluate_print`` prints the ROC AUC and the precision among the ``n``
# highest scores, ``n`` being the number of anomalies. The networks are small
# so that the example runs in seconds; these numbers are an illustration, not
# a benchmark.
detectors = {
    "SkipGANomaly": SkipGANomalyDetector(
        image_shape=(1, 8, 8), epochs=15, batch_size=16, width=32, random_state=0
    ),
    "IForest": IForest(random_state=0),
    "LOF": LOF(),
    "AutoEncoder": AutoEncoder(
        hidden_neuron_list=[32, 16],
        epoch_num=30,
        batch_size=16,
        verbose=0,
        random_state=0,
    ),
}
train_scores, test_scores = {}, {}
for name, detector in detectors.items():
    detector.fit(X_train)
    train_scores[name] = detector.decision_scores_
    test_scores[name] = detector.decision_function(X_test)
    evaluate_print(name, y_test, test_scores[name])

# %%
# Combine the scores
# ------------------
# Each detector scores on its own scale. ``standardizer`` z-scores the
# columns of the test score matrix with the mean and standard deviation of the
# *training* scores, so no test label or test statistic leaks into the
# combination; the combinations then merge one row per sample.
train_matrix = np.column_stack(list(train_scores.values()))
test_matrix = np.column_stack(list(test_scores.values()))
_, test_z = standardizer(train_matrix, test_matrix)
combined = {
    "average": average(test_z),
    "maximization": maximization(test_z),
    "median": median(test_z),
    # Average of maxima / maximum of averages over 2 buckets of 2 detectors.
    "aom": aom(test_z, n_buckets=2),
    "moa": moa(test_z, n_buckets=2),
}
for name, scores in combined.items():
    evaluate_print(f"combination: {name}", y_test, scores)

# %%
# ROC curves and a summary
# ------------------------
# The detectors do not make the same mistakes, so on this split every
# combination ranks the test images better than any single detector.
fig, (ax_roc, ax_bar) = plt.subplots(1, 2, figsize=(11, 4.5))
for name, scores in {**test_scores, "average": combined["average"]}.items():
    RocCurveDisplay.from_predictions(
        y_test, scores, name=name, ax=ax_roc, plot_chance_level=name == "average"
    )
ax_roc.set_title("ROC curves on the test set")

names = [*test_scores, *combined]
all_scores = {**test_scores, **combined}
roc = [roc_auc_score(y_test, all_scores[name]) for name in names]
prn = [precision_n_scores(y_test, all_scores[name]) for name in names]
positions = np.arange(len(names))
ax_bar.barh(positions - 0.2, roc, height=0.4, label="ROC AUC")
ax_bar.barh(positions + 0.2, prn, height=0.4, label="precision @ n")
ax_bar.axhline(len(test_scores) - 0.5, color="grey", linewidth=0.8)
ax_bar.set_yticks(positions, names)
ax_bar.invert_yaxis()
ax_bar.set_xlim(0, 1)
ax_bar.set_title("detectors (top) and their combinations")
ax_bar.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2)
fig.tight_layout()
plt.show()
