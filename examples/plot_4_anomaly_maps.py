"""
Reconstructions and anomaly maps on synthetic defects
=====================================================

:func:`~sklearn_sganomaly.datasets.make_synthetic_defects` draws striped
textures, some with a dark or bright rectangle or scratch, together with the
true defect masks. A detector trained on defect-free textures reconstructs the
texture but not the defect, so the per-pixel reconstruction error,
:meth:`~sklearn_sganomaly.SkipGANomalyDetector.anomaly_map`, lights up where
the defect is.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.datasets import make_synthetic_defects

train = make_synthetic_defects(n_normal=160, n_defect=0, random_state=0)
test = make_synthetic_defects(n_normal=40, n_defect=40, random_state=1)
print("training images:", train.X.shape, train.X.dtype)

det = SkipGANomalyDetector(epochs=10, batch_size=16, width=16, random_state=0)
det.fit(train.X)
scores = det.decision_function(test.X)
print(f"image-level ROC AUC: {roc_auc_score(test.y, scores):.3f}")

# %%
# Anomaly maps
# ------------
# ``anomaly_map`` returns one map per image at the input resolution: the
# squared reconstruction error averaged over channels. Pixel-level ROC AUC
# compares the maps with the true masks of the defective images.
maps = det.anomaly_map(test.X)
defective = test.y == 1
pixel_auc = roc_auc_score(test.masks[defective].ravel(), maps[defective].ravel())
print(f"pixel-level ROC AUC on defective images: {pixel_auc:.3f}")

# %%
# Reconstructions
# ---------------
# Reconstructions are not part of the public API; here they come from the
# trained generator, ``det.net_.module_``, fed with the input scaled to
# [-1, 1] the way the detector scales it (these 32×32 images need no resizing).
X_net = (test.X.astype(np.float32) - det.data_min_) * (2 / det.data_range_) - 1
generator = det.net_.module_.eval()
with torch.no_grad():
    recon = generator(torch.from_numpy(X_net.astype(np.float32))).numpy()

# %%
# Plot: input, reconstruction, anomaly map and true mask
# ------------------------------------------------------
show = np.r_[np.flatnonzero(~defective)[:1], np.flatnonzero(defective)[:4]]
fig, axes = plt.subplots(4, len(show), figsize=(2.2 * len(show), 9))
vmax = np.percentile(maps[show], 99.5)
for col, i in enumerate(show):
    axes[0, col].set_title(f"{test.defect_type[i]}\nscore {scores[i]:.3f}", fontsize=9)
    axes[0, col].imshow(test.X[i, 0], cmap="gray", vmin=0, vmax=255)
    axes[1, col].imshow(recon[i, 0], cmap="gray", vmin=-1, vmax=1)
    axes[2, col].imshow(maps[i], cmap="inferno", vmin=0, vmax=vmax)
    axes[3, col].imshow(test.masks[i], cmap="gray", vmin=0, vmax=1)
for row, name in enumerate(["input", "reconstruction", "anomaly_map", "true mask"]):
    axes[row, 0].set_ylabel(name)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()
