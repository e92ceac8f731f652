"""
Training curves from ``history_``
=================================

Training is run by skorch, and ``history_`` is skorch's per-epoch
:class:`~skorch.history.History` with every loss term: the generator's total
``train_loss`` and its parts ``loss_adv`` (adversarial), ``loss_con``
(L1 reconstruction, times ``contextual_weight``) and ``loss_lat`` (feature
matching), and the discriminator's ``loss_d``. ``verbose=1`` shows a progress
bar and prints the same numbers as a table while training.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.plotting import LossCurveDisplay

digits = load_digits()
X = digits.images[digits.target == 3][:, np.newaxis]  # about 180 images of "3"

det = SkipGANomalyDetector(
    epochs=12, batch_size=16, width=16, verbose=1, random_state=0
)
det.fit(X)

# %%
# Reading the history
# -------------------
# ``history_[:, key]`` gives one value per epoch; ``d_reinits`` counts how
# often the discriminator was re-initialised after collapsing.
history = det.history_
epochs = history[:, "epoch"]
print("columns:", sorted(k for k in history[-1] if k != "batches"))
print("discriminator re-initialisations:", sum(history[:, "d_reinits"]))

# %%
# Plot the loss terms
# -------------------
# :class:`~sklearn_sganomaly.plotting.LossCurveDisplay` draws the columns of
# ``history_``; the generator's terms and the discriminator's share one
# logarithmic axis.
fig, (ax_g, ax_d) = plt.subplots(1, 2, figsize=(10, 4))
LossCurveDisplay.from_estimator(
    det, terms=["train_loss", "loss_con", "loss_adv", "loss_lat"], ax=ax_g
)
ax_g.set_title("generator")
LossCurveDisplay.from_estimator(det, terms=["loss_d"], ax=ax_d, log_scale=False)
ax_d.set_title("discriminator")
fig.tight_layout()
plt.show()
