# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The skorch net that trains Skip-GANomaly; the only module that imports skorch.

skorch runs the epochs, batches, callbacks and history. This module adds what a
GAN needs on top of it: a second module and optimizer, and a ``train_step`` that
alternates a generator step and a discriminator step instead of stepping every
optimizer from one loss.
"""

from __future__ import annotations

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._networks import init_dcgan_weights
from ._scoring import anomaly_score

__all__ = ["STEP_ORDERS", "SkipGANomalyNet"]

#: "g_first" is the official code since Dec 2019 (G step, then D step);
#: "d_first" is the Aug 2019 release (D step first; the latent term trains D only).
STEP_ORDERS = ("g_first", "d_first")

_EPOCH_TERMS = (
    "loss_d", "loss_adv", "loss_con", "loss_lat",
    "loss_d_real", "loss_d_fake", "loss_d_lat",
)  # fmt: skip


class _CountReinits(Callback):
    """Record how often the discriminator was re-initialised in each epoch."""

    def on_epoch_end(self, net, **kwargs):
        batches = net.history[-1, "batches"]
        net.history.record("d_reinits", sum(b.get("d_reinit", 0) for b in batches))


class SkipGANomalyNet(NeuralNet):
    """skorch ``NeuralNet`` holding a generator and a discriminator.

    Parameters
    ----------
    module : type or nn.Module
        The generator (``module_``), e.g. ``UNetGenerator``.
    discriminator : type or nn.Module
        The discriminator (``discriminator_``); set its arguments with
        ``discriminator__*``.
    criterion : type or nn.Module
        A ``SkipGANomalyLoss``; its weights are set with ``criterion__*``.
    optimizer, optimizer_d : type, default=torch.optim.Adam
        Optimizers of G and D; ``lr`` applies to both unless overridden with
        ``optimizer_d__lr``.
    step_order : {"g_first", "d_first"}, default="g_first"
        Order of the two updates in one training step, see ``STEP_ORDERS``.
    reinit_threshold : float, default=1e-5
        The discriminator is re-initialised whenever its loss falls below this
        value, as in the official code. Adam state and BatchNorm running
        statistics are kept.
    score_weight : float, default=0.9
        Weight of the reconstruction error in the anomaly score.
    precision : {"auto", "fp32", "bf16"}, default="fp32"
        Arithmetic of the forward passes (not implemented yet: always fp32).
    **kwargs
        Passed to ``skorch.NeuralNet``.

    Notes
    -----
    ``predict``/``predict_proba`` return the per-sample anomaly score.
    ``forward(X, training=True)`` scores with BatchNorm in train mode, i.e. with
    the statistics of each batch, as the official evaluation does.
    """

    def __init__(
        self,
        module,
        *args,
        discriminator,
        optimizer=torch.optim.Adam,
        optimizer_d=torch.optim.Adam,
        step_order="g_first",
        reinit_threshold=1e-5,
        score_weight=0.9,
        precision="fp32",
        **kwargs,
    ):
        self.discriminator = discriminator
        self.optimizer_d = optimizer_d
        self.step_order = step_order
        self.reinit_threshold = reinit_threshold
        self.score_weight = score_weight
        self.precision = precision
        super().__init__(module, *args, optimizer=optimizer, **kwargs)

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        extra = [(k, PassthroughScoring(name=k, on_train=True)) for k in _EPOCH_TERMS]
        extra.append(("d_reinits", _CountReinits()))
        return callbacks[:-1] + extra + callbacks[-1:]  # before print_log

    def initialize_module(self):
        super().initialize_module()
        params = self.get_params_for("discriminator")
        self.discriminator_ = self.initialized_instance(self.discriminator, params)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        # Not super(): it would give G's optimizer the parameters of D as well.
        for name, module in (
            ("optimizer", self.module_),
            ("optimizer_d", self.discriminator_),
        ):
            groups, params = self.get_params_for_optimizer(
                name, module.named_parameters()
            )
            setattr(self, name + "_", getattr(self, name)(*groups, **params))
        return self

    def _input(self, batch):
        x, _ = unpack_data(batch)
        return to_tensor(x, device=self.device)

    def generator_step(self, x, fake, real_out):
        """Update G only; D's parameters may receive gradients but never step.

        ``real_out`` is D's ``(logit, features)`` of ``x``; its features are a
        constant for G. Returns the unweighted and total generator losses.
        """
        logit_fake, features_fake = self.discriminator_(fake)
        features_real = real_out[1].detach()
        if self.step_order == "d_first":
            # Aug 2019: the latent term was computed on a detached fake, so it
            # never reached G.
            features_fake = features_fake.detach()
        terms = self.criterion_.generator(
            logit_fake, fake, x, features_fake, features_real
        )
        self.optimizer_.zero_grad(set_to_none=True)
        terms["loss_g"].backward()
        self.optimizer_.step()
        return terms

    def discriminator_step(self, fake, real_out):
        """Update D only, from ``real_out = D(x)`` and a detached ``fake``."""
        logit_fake, features_fake = self.discriminator_(fake.detach())
        terms = self.criterion_.discriminator(
            real_out[0], logit_fake, real_out[1], features_fake
        )
        self.optimizer_d_.zero_grad(set_to_none=True)
        terms["loss_d"].backward()
        self.optimizer_d_.step()
        return terms

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        x = self._input(batch)
        # D(x) is shared by both steps: D does not change between its uses in
        # "g_first", and in "d_first" G only needs its (constant) features.
        real_out = self.discriminator_(x)
        fake = self.module_(x)
        if self.step_order == "g_first":
            terms = self.generator_step(x, fake, real_out)
            terms |= self.discriminator_step(fake, real_out)
        else:
            terms = self.discriminator_step(fake, real_out)
            terms |= self.generator_step(x, fake, real_out)
        # One host sync per step for all terms, not one per term.
        stacked = torch.stack([term.detach() for term in terms.values()]).tolist()
        values = dict(zip(terms, stacked, strict=True))
        reinit = values["loss_d"] < self.reinit_threshold
        if reinit:
            self.discriminator_.apply(init_dcgan_weights)
        for name in _EPOCH_TERMS:
            self.history.record_batch(name, values[name])
        self.history.record_batch("d_reinit", int(reinit))
        return {"loss": torch.tensor(values["loss_g"]), "y_pred": fake.detach()}

    def score(self, x):
        """Per-sample anomaly scores of a batch ``x`` (float32, shape (batch,))."""
        fake = self.module_(x)
        if self.discriminator_.training:
            # Train-mode BatchNorm uses batch statistics: keep x and G(x) in
            # separate batches, as the official evaluation does.
            features_real = self.discriminator_(x)[1]
            features_fake = self.discriminator_(fake)[1]
        else:
            # In eval mode each sample is on its own, so one call serves both.
            _, features = self.discriminator_(torch.cat([x, fake]))
            features_real, features_fake = features.chunk(2)
        return anomaly_score(x, fake, features_real, features_fake, self.score_weight)

    def evaluation_step(self, batch, training=False):
        self.check_is_fitted()
        x = self._input(batch)
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.score(x)
