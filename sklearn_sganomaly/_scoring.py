# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Per-sample Skip-GANomaly anomaly score, in plain torch.

Every reduction is over one sample's own values, never over the batch, so a
sample's score does not depend on which other samples it is scored with. The
official code min-max scales scores over the whole test set; that is left out
because it is transductive (and does not change rankings).
"""

from __future__ import annotations

import torch

__all__ = ["anomaly_score", "score_terms"]


def score_terms(
    real: torch.Tensor,
    fake: torch.Tensor,
    features_real: torch.Tensor,
    features_fake: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the score, per sample, in float32: ``(R, L)``.

    R is the mean squared pixel error (squared, as the official score, although
    training uses L1) and L the mean squared feature error.
    """
    reconstruction = (real.float() - fake.float()).pow(2).flatten(1).mean(1)
    latent = (features_real.float() - features_fake.float()).pow(2).mean(1)
    return reconstruction, latent


def anomaly_score(
    real: torch.Tensor,
    fake: torch.Tensor,
    features_real: torch.Tensor,
    features_fake: torch.Tensor,
    weight: float = 0.9,
) -> torch.Tensor:
    """Skip-GANomaly score ``weight * R(x) + (1 - weight) * L(x)``.

    Parameters
    ----------
    real, fake : Tensor of shape (batch, *shape)
        Input x and reconstruction G(x).
    features_real, features_fake : Tensor of shape (batch, latent_dim)
        Discriminator features f(x) and f(G(x)).
    weight : float, default=0.9
        Weight of the reconstruction error R; the latent error L gets
        ``1 - weight``. The paper's lambda.

    Returns
    -------
    Tensor of shape (batch,)
        Float32 scores; higher means more anomalous. R and L are
        :func:`score_terms`.
    """
    reconstruction, latent = score_terms(real, fake, features_real, features_fake)
    return weight * reconstruction + (1.0 - weight) * latent
