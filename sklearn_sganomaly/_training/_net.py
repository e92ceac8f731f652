# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The skorch net that trains Skip-GANomaly, and the recipe that builds it."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import (
    PassthroughScoring,
)
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn

from .._inputs import NetworkInput
from .._losses import SkipGANomalyLoss
from .._networks import (
    Discriminator,
    UNetGenerator,
    init_dcgan_weights,
    is_image_shape,
)
from .._scoring import anomaly_score
from ._callbacks import SNAPSHOT_EPOCHS, KeepSnapshotDiscriminators, _CountReinits
from ._data import _as_data, _Batches, _Tensors
from ._devices import resolve_precision

#: "g_first" is the official code since Dec 2019 (G step, then D step);
#: "d_first" is the Aug 2019 release (D step first; the latent term trains D only).
STEP_ORDERS = ("g_first", "d_first")
# Samples per discriminator call when image features are computed for the
# neighbour scores: fixed, so that no sample's features depend on batch_size.
FEATURE_CHUNK = 64


_EPOCH_TERMS = (
    "loss_d", "loss_adv", "loss_con", "loss_lat",
    "loss_d_real", "loss_d_fake", "loss_d_lat",
)  # fmt: skip


def _batchnorms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.track_running_stats
        and m.momentum is not None
    ]


@contextlib.contextmanager
def _running_stats_counted_twice(module: nn.Module):
    """Apply the running-statistics update of the one forward inside twice.

    A train-mode BatchNorm forward moves ``r`` to ``r1 = (1 - m) r + m s`` for
    the batch statistic ``s``. A second forward of the same batch through the
    same weights would see the same ``s`` and give
    ``(1 - m) r1 + m s = r1 + (1 - m) (r1 - r)``, which this applies without
    running it.
    """
    norms = _batchnorms(module) if module.training else []
    before = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    yield
    with torch.no_grad():
        for m, (mean, var) in zip(norms, before, strict=True):
            keep = 1.0 - m.momentum
            m.running_mean.add_(m.running_mean - mean, alpha=keep)
            m.running_var.add_(m.running_var - var, alpha=keep)
            m.num_batches_tracked.add_(1)


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
        Arithmetic of the forward passes: "bf16" runs them under bfloat16
        autocast (weights, optimizer state and losses stay float32) and
        computes image features (``snapshot_features``) in bfloat16; "auto" is
        resolved by ``resolve_precision`` when the net initializes, and the
        result stored as ``precision_``.
    random_seed : int or None, default=None
        When set, every epoch starts by seeding torch's random state and the
        shuffling generator from ``(random_seed, epoch)``, so a run resumed from
        a checkpoint, or continued with ``partial_fit``, trains exactly as an
        uninterrupted one.
    **kwargs
        Passed to ``skorch.NeuralNet``. ``iterator_train`` and
        ``iterator_valid`` default to a batch iterator that slices one tensor
        (see ``get_dataset``); ``torch.optim.Adam`` defaults to ``fused=True``.

    Notes
    -----
    ``predict``/``predict_proba`` return the per-sample anomaly score, with
    BatchNorm in eval mode. ``score(x)`` on a batch in train mode uses the
    batch's own statistics; the official evaluation (ordered batches, no
    shuffling, no gradients) is built from it in ``benchmarks/bench_quality.py``.
    ``forward(X, training=True)`` is not that: skorch then uses the training
    iterator, which shuffles and drops the last batch.

    In "g_first" the official step runs D three times: on x, on G(x) for the
    generator loss, and on G(x) again, detached, for the discriminator loss. D
    does not change in between, so the last two give the same values; here one
    forward of G(x) serves both losses, each differentiated only with respect to
    its own network's parameters, and both optimizers step afterwards. The
    gradients and updates are those of the official step. BatchNorm running
    statistics still move as after three forwards: the update of the shared
    forward is applied twice (``_running_stats_counted_twice``).
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
        random_seed=None,
        **kwargs,
    ):
        self.discriminator = discriminator
        self.optimizer_d = optimizer_d
        self.step_order = step_order
        self.reinit_threshold = reinit_threshold
        self.score_weight = score_weight
        self.precision = precision
        self.random_seed = random_seed
        kwargs.setdefault("iterator_train", _Batches)
        kwargs.setdefault("iterator_valid", _Batches)
        super().__init__(module, *args, optimizer=optimizer, **kwargs)

    @property
    def _default_callbacks(self):
        callbacks = list(super()._default_callbacks)
        extra = [(k, PassthroughScoring(name=k, on_train=True)) for k in _EPOCH_TERMS]
        extra.append(("d_reinits", _CountReinits()))
        extra.append(("snapshot_discriminators", KeepSnapshotDiscriminators()))
        return callbacks[:-1] + extra + callbacks[-1:]  # before print_log

    def initialize(self):
        self.precision_ = resolve_precision(self.precision, self.device)
        return super().initialize()

    def get_dataset(self, X, y=None):
        """Wrap an array, tensor or ``NetworkInput`` for the slicing batch iterator.

        Training tensors move to ``device`` once per ``fit`` (``get_iterator``);
        data to score, and a ``NetworkInput``, stay where they are and move one
        batch at a time, so memory is bounded by ``batch_size``.
        """
        if isinstance(X, (np.ndarray, torch.Tensor, NetworkInput)) and y is None:
            return _Tensors(_as_data(X))
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        if training and isinstance(dataset, _Tensors):
            if isinstance(dataset.data, torch.Tensor):
                dataset.data = dataset.data.to(self.device)
        return super().get_iterator(dataset, training=training)

    def on_epoch_begin(self, net, **kwargs):
        super().on_epoch_begin(net, **kwargs)
        if self.random_seed is None:
            return
        epoch_seed = np.random.SeedSequence([self.random_seed, len(self.history)])
        torch_seed, shuffle_seed = epoch_seed.generate_state(2)
        torch.manual_seed(int(torch_seed))
        generator = self.get_params_for("iterator_train").get("generator")
        if generator is not None:
            generator.manual_seed(int(shuffle_seed))

    def _autocast(self):
        return torch.autocast(
            torch.device(self.device).type,
            dtype=torch.bfloat16,
            enabled=self.precision_ == "bf16",
        )

    def initialize_module(self):
        super().initialize_module()
        params = self.get_params_for("discriminator")
        self.discriminator_ = self.initialized_instance(self.discriminator, params)
        # The discriminator as it was after a few early epochs, whose features
        # the default anomaly score uses (``KeepSnapshotDiscriminators`` fills
        # them in). A module of the net, so checkpoints save and restore it.
        self.snapshot_discriminators_ = torch.nn.ModuleDict(
            {str(e): copy.deepcopy(self.discriminator_) for e in SNAPSHOT_EPOCHS}
        )
        self.snapshot_discriminators_.requires_grad_(False)
        return self

    def snapshot_epochs(self):
        """Epochs whose discriminator is kept, before the last one trained."""
        return [e for e in SNAPSHOT_EPOCHS if e < len(self.history)]

    def initialize_optimizer(self, *args, **kwargs):
        # Not super(): it would give G's optimizer the parameters of D as well.
        for name, module in (
            ("optimizer", self.module_),
            ("optimizer_d", self.discriminator_),
        ):
            groups, params = self.get_params_for_optimizer(
                name, module.named_parameters()
            )
            optimizer = getattr(self, name)
            if optimizer is torch.optim.Adam:
                # One kernel over all parameters instead of a dozen foreach ops.
                params.setdefault("fused", True)
            setattr(self, name + "_", optimizer(*groups, **params))
        return self

    def _input(self, batch):
        x, _ = unpack_data(batch)
        return to_tensor(x, device=self.device)

    def generator_step(self, x, fake, real_out):
        """Update G only; D's parameters may receive gradients but never step.

        ``real_out`` is D's ``(logit, features)`` of ``x``; its features are a
        constant for G. Returns the unweighted and total generator losses.
        """
        with self._autocast():
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
        with self._autocast():
            logit_fake, features_fake = self.discriminator_(fake.detach())
        terms = self.criterion_.discriminator(
            real_out[0], logit_fake, real_out[1], features_fake
        )
        self.optimizer_d_.zero_grad(set_to_none=True)
        terms["loss_d"].backward()
        self.optimizer_d_.step()
        return terms

    def shared_step(self, x, fake, real_out):
        """The "g_first" G and D updates from one forward of D on ``fake``.

        Gives the gradients and updates of ``generator_step`` followed by
        ``discriminator_step`` (see Notes of the class). Returns the terms of
        both losses.
        """
        # Each loss reaches only its own network's parameters: the D loss sees
        # G(x) as a constant, as through the official detach, and G's loss
        # leaves no gradient in D for the D step to clear.
        g_params = [p for p in self.module_.parameters() if p.requires_grad]
        d_params = [p for p in self.discriminator_.parameters() if p.requires_grad]
        self.optimizer_.zero_grad(set_to_none=True)
        self.optimizer_d_.zero_grad(set_to_none=True)
        # BatchNorm's backward reads the running statistics, so the second
        # update waits until both backward passes are done.
        with _running_stats_counted_twice(self.discriminator_):
            with self._autocast():
                logit_fake, features_fake = self.discriminator_(fake)
            terms = self.criterion_.generator(
                logit_fake, fake, x, features_fake, real_out[1].detach()
            )
            terms |= self.criterion_.discriminator(
                real_out[0], logit_fake, real_out[1], features_fake
            )
            terms["loss_g"].backward(inputs=g_params, retain_graph=True)
            terms["loss_d"].backward(inputs=d_params)
        self.optimizer_.step()
        self.optimizer_d_.step()
        return terms

    def train_step(self, batch, **fit_params):
        self._set_training(True)
        x = self._input(batch)
        # D(x) is shared by both steps: D does not change between its uses in
        # "g_first", and in "d_first" G only needs its (constant) features.
        with self._autocast():
            real_out = self.discriminator_(x)
            fake = self.module_(x)
        if self.step_order == "g_first":
            terms = self.shared_step(x, fake, real_out)
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

    def official_scores(self, x):
        """The paper's per-sample anomaly scores of a batch ``x``.

        Float32, shape (batch,). Not named ``score``: on a scikit-learn
        estimator ``score(X, y)`` is a scalar metric.
        """
        with self._autocast():
            return self._official_scores(x)

    def _official_scores(self, x):
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

    def discriminator_features(self, X, *, epoch=None):
        """Discriminator features of network input ``X``, shape (n, latent_dim).

        The features of one discriminator: ``snapshot_features(X, [epoch])``.
        """
        return self.snapshot_features(X, [epoch])[0]

    def snapshot_features(self, X, epochs):
        """Features of network input ``X`` under several discriminators.

        Parameters
        ----------
        X : array, tensor or ``NetworkInput``
            Network input, read and converted once, one batch at a time, for
            all the discriminators.
        epochs : sequence of int or None
            For each, the discriminator kept after that epoch (one of
            ``SNAPSHOT_EPOCHS``), or None for the current one.

        Returns
        -------
        list of ndarray of float64, shape (n, latent_dim), one per epoch
            Computed in eval mode, so that a sample's features, and so its
            neighbours, do not depend on the other samples scored with it.
            Images pass in float32 (bfloat16, weights and all, when the net's
            precision is bf16) through chunks of ``FEATURE_CHUNK`` samples
            (the last one padded), so every sample meets the same convolution
            kernels whatever the batch size; tables pass in float64 (float32
            on MPS, which has none), since matrix-product kernels round a row
            differently by its position and by the number of rows.
        """
        image = is_image_shape(tuple(self.get_params_for("module")["shape"]))
        mps = torch.device(self.device).type == "mps"
        if image:
            dtype = torch.bfloat16 if self.precision_ == "bf16" else torch.float32
        else:
            dtype = torch.float32 if mps else torch.float64
        modules = [
            copy.deepcopy(
                self.discriminator_
                if epoch is None
                else self.snapshot_discriminators_[str(epoch)]
            )
            .to(dtype)
            .eval()
            for epoch in epochs
        ]
        features = [[] for _ in modules]
        batches = (
            self._input(batch).to(dtype)
            for batch in self.get_iterator(self.get_dataset(X), training=False)
        )
        chunks = (
            _fixed_chunks(batches, FEATURE_CHUNK)
            if image
            else ((x, len(x)) for x in batches)
        )
        with torch.inference_mode():
            for x, n_samples in chunks:
                for module, parts in zip(modules, features, strict=True):
                    # The features alone: the classifier's logit is unused.
                    out = module.features(x).flatten(1)[:n_samples].cpu()
                    # A float64 copy: numpy has no bfloat16, and a view would
                    # keep each batch's whole output buffer alive.
                    parts.append(out.to(torch.float64, copy=True).numpy())
        if not features or not features[0]:
            latent_dim = self.get_params_for("discriminator").get("latent_dim", 100)
            return [np.empty((0, latent_dim)) for _ in modules]
        return [np.concatenate(parts) for parts in features]

    def reconstruction_error_maps(self, X, *, size):
        """Squared reconstruction error per pixel, channel mean, resized to ``size``.

        Eval mode, one batch of network input ``X`` at a time; float64 array of
        shape (n, *size).
        """
        generator = self.module_
        generator.eval()
        maps = []
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                x = self._input(batch)
                error = (x - generator(x).float()).pow(2).mean(1, keepdim=True)
                error = F.interpolate(error, size=size, mode="bilinear")
                maps.append(error[:, 0].cpu().numpy())
        return np.concatenate(maps).astype(np.float64)

    def validation_step(self, batch, **fit_params):
        """The validation loss is the mean anomaly score of held-out normal data."""
        scores = self.evaluation_step(batch)
        return {"loss": scores.mean(), "y_pred": scores}

    def evaluation_step(self, batch, training=False):
        self.check_is_fitted()
        x = self._input(batch)
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.official_scores(x)


def make_net(shape, *, width=64, latent_dim=100, seed=None, net_class=None, **params):
    """A ``SkipGANomalyNet`` for inputs of ``shape``, as the paper trains it.

    The U-Net generator and DCGAN discriminator of ``width`` (and the
    discriminator's ``latent_dim`` features), the Skip-GANomaly loss, and Adam
    with betas (0.5, 0.999) at lr 2e-4. With a ``seed``, training draws from
    its own generators only (shuffling included), never the global ones.
    ``params`` are net parameters that override these (``lr``, ``batch_size``,
    ``criterion__latent_weight``, ...); ``net_class`` replaces the net class
    (e.g. the data-parallel one).
    """
    defaults = {
        "module__shape": shape,
        "module__width": width,
        "discriminator": Discriminator,
        "discriminator__shape": shape,
        "discriminator__width": width,
        "discriminator__latent_dim": latent_dim,
        "criterion": SkipGANomalyLoss,
        "optimizer__betas": (0.5, 0.999),
        "optimizer_d__betas": (0.5, 0.999),
        "lr": 2e-4,
        "train_split": None,
        "predict_nonlinearity": None,
    }
    if seed is not None:
        defaults |= {
            "random_seed": seed,
            "iterator_train__shuffle": True,
            "iterator_train__generator": torch.Generator().manual_seed(seed),
            # Without its own generator, every DataLoader pass draws a seed
            # from (and so changes) the caller's global torch random state.
            "iterator_valid__generator": torch.Generator().manual_seed(seed),
        }
    return (net_class or SkipGANomalyNet)(UNetGenerator, **(defaults | params))


def _fixed_chunks(batches, size):
    """Regroup tensor batches into ``(chunk, n_samples)`` of exactly ``size`` rows.

    The last chunk is padded with zeros; ``n_samples`` counts its real rows.
    """
    pending, n_pending = [], 0
    for x in batches:
        pending.append(x)
        n_pending += len(x)
        while n_pending >= size:
            joined = torch.cat(pending)
            yield joined[:size], size
            pending, n_pending = [joined[size:]], n_pending - size
    if n_pending:
        joined = torch.cat(pending)
        padding = joined.new_zeros((size - n_pending, *joined.shape[1:]))
        yield torch.cat([joined, padding]), n_pending
