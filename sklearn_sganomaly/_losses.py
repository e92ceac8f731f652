# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Skip-GANomaly training losses, in plain torch.

The adversarial terms use BCE on logits: the same value as the official
Sigmoid + ``BCELoss``, but numerically safe and allowed under autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SkipGANomalyLoss"]


def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def _latent(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    # Cast so that bf16 features under autocast still give an fp32 loss.
    return F.mse_loss(features_a.float(), features_b.float())


class SkipGANomalyLoss(nn.Module):
    """Weighted generator and discriminator losses of Skip-GANomaly.

    Parameters
    ----------
    adversarial_weight : float, default=1.0
        Weight of the generator's adversarial term BCE(D(G(x)), real).
    contextual_weight : float, default=50.0
        Weight of the L1 reconstruction term (50 in the official code, 40 in
        the paper).
    latent_weight : float, default=1.0
        Weight of the latent term, the mean squared difference of the
        discriminator features of x and G(x). The official code adds it to both
        the generator and the discriminator loss.

    Notes
    -----
    All terms are means over the batch, so values do not grow with batch size.
    """

    def __init__(
        self,
        adversarial_weight: float = 1.0,
        contextual_weight: float = 50.0,
        latent_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.adversarial_weight = adversarial_weight
        self.contextual_weight = contextual_weight
        self.latent_weight = latent_weight

    def generator(
        self,
        logit_fake: torch.Tensor,
        fake: torch.Tensor,
        real: torch.Tensor,
        features_fake: torch.Tensor,
        features_real: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Generator loss and its terms.

        Parameters
        ----------
        logit_fake : Tensor of shape (batch,)
            D's logit for the reconstruction.
        fake, real : Tensor of shape (batch, *shape)
            Reconstruction G(x) and input x.
        features_fake, features_real : Tensor of shape (batch, latent_dim)
            D's features of G(x) and of x.

        Returns
        -------
        dict of str to Tensor
            ``loss_g`` (the weighted total, to minimise), ``loss_adv``,
            ``loss_con`` and ``loss_lat`` (unweighted terms).
        """
        adv = _bce(logit_fake.float(), real=True)
        con = F.l1_loss(fake.float(), real.float())
        lat = _latent(features_fake, features_real)
        total = (
            self.adversarial_weight * adv
            + self.contextual_weight * con
            + self.latent_weight * lat
        )
        return {"loss_g": total, "loss_adv": adv, "loss_con": con, "loss_lat": lat}

    def discriminator(
        self,
        logit_real: torch.Tensor,
        logit_fake: torch.Tensor,
        features_real: torch.Tensor,
        features_fake: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Discriminator loss and its terms.

        Parameters
        ----------
        logit_real, logit_fake : Tensor of shape (batch,)
            D's logits for x and for the detached reconstruction.
        features_real, features_fake : Tensor of shape (batch, latent_dim)
            D's features of x and of the detached reconstruction.

        Returns
        -------
        dict of str to Tensor
            ``loss_d`` (the total, to minimise), ``loss_d_real``,
            ``loss_d_fake`` and ``loss_d_lat``.
        """
        bce_real = _bce(logit_real.float(), real=True)
        bce_fake = _bce(logit_fake.float(), real=False)
        lat = _latent(features_fake, features_real)
        total = bce_real + bce_fake + self.latent_weight * lat
        return {
            "loss_d": total,
            "loss_d_real": bce_real,
            "loss_d_fake": bce_fake,
            "loss_d_lat": lat,
        }
