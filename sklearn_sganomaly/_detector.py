# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""The public estimator, ``SkipGANomalyDetector``.

It follows PyOD's ``BaseDetector`` contract (higher score = more abnormal,
``predict`` returns 1 for outliers; the outputs read off the scores are in
``_pyod_outputs``) and scikit-learn's estimator rules. Training is delegated to
the skorch net of the ``_training`` package; no torch layer is defined here.
"""

from __future__ import annotations

import copy
import os
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from pyod.models.base import BaseDetector
from scipy import ndimage
from sklearn.base import OutlierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._inputs import (
    InputScaling,
    network_shape,
    scoring_input,
    training_input,
)
from ._neighbors import NEIGHBOUR_SCORES, SnapshotNeighbours
from ._persistence import read_detector, write_detector
from ._pyod_outputs import PyODOutputs
from ._training import (
    SNAPSHOT_EPOCHS,
    STEP_ORDERS,
    DataParallelSkipGANomalyNet,
    SyntheticAnomalyAUC,
    data_parallel,
    make_net,
    resolve_device,
    train,
)

__all__ = ["SkipGANomalyDetector"]


def _finite(scores):
    if not np.all(np.isfinite(scores)):
        raise FloatingPointError(
            f"{np.sum(~np.isfinite(scores))} of {len(scores)} anomaly scores are "
            "not finite; the networks' weights hold NaN or inf values."
        )
    return scores


class SkipGANomalyDetector(PyODOutputs, OutlierMixin, BaseDetector):
    """Skip-GANomaly anomaly detector (Akçay et al., IJCNN 2019).

    A U-Net generator learns to reconstruct normal data while a discriminator
    judges the reconstructions. A sample is scored by how badly it is
    reconstructed, in pixels and in the discriminator's feature space. Images use
    the convolutional networks of the paper; plain tables use dense networks of
    the same design.

    Parameters
    ----------
    contamination : float, default=0.1
        Expected share of outliers in the training data, in (0, 0.5]. Sets
        ``threshold_`` and so ``predict``.
    epochs : int, default=15
        Passes over the training data (15 in the paper).
    batch_size : int, default=64
        Samples per training step and per scoring batch.
    learning_rate : float, default=2e-4
        Adam learning rate of both networks (betas are fixed at (0.5, 0.999)).
    adversarial_weight : float, default=1.0
        Weight of the generator's adversarial loss.
    contextual_weight : float, default=50.0
        Weight of the L1 reconstruction loss (50 in the official code, 40 in the
        paper).
    latent_weight : float, default=1.0
        Weight of the latent (discriminator feature) loss, in both networks'
        losses as in the official code.
    anomaly_score : {"knn+lof", "knn", "lof", "official"}, default="knn+lof"
        How a sample is scored (see the user guide, "Anomaly scores"). The
        neighbour scores compare the discriminator features of a sample with
        those of the training data: "knn" is the log mean distance to its
        ``n_neighbors`` nearest training samples, "lof" its log local outlier
        factor (``sklearn.neighbors.LocalOutlierFactor``), and "knn+lof" the sum
        of both, each standardised on the training data; ``feature_snapshot``
        says which discriminators give the features. "official" is the
        paper's score, ``score_weight`` times the reconstruction error plus
        ``1 - score_weight`` times the feature error.
    n_neighbors : int, default=5
        Neighbours of the neighbour scores (at most the number of training
        samples minus one).
    feature_snapshot : {"all", "first", "last"}, default="all"
        Discriminators whose features the neighbour scores use. "all": the ones
        kept after epochs 1, 2, 4 and 8 (those before the last) and the fully
        trained one, each giving a neighbour score standardised on the training
        data, averaged. "first": the one after the first epoch. "last": the
        fully trained one.
    score_weight : float, default=0.9
        Weight of the reconstruction error in the "official" anomaly score; the
        feature error gets ``1 - score_weight``.
    skip_dropout : float in [0, 1), default=0.5
        Probability that a skip connection of the generator is cut for a
        training sample, so that it learns to reconstruct from its bottleneck
        instead of copying the input through the skips (against
        over-generalisation; chosen without the test split, see the user
        guide). Scoring always uses all skips. 0 trains the paper's network.
    width : int, default=64
        Width of the first layer of both networks (``ngf = ndf`` of the paper).
    latent_dim : int, default=100
        Size of the discriminator's feature vector.
    image_shape : tuple of int (C, H, W), default=None
        Shape of one image when ``X`` holds flattened images of shape
        ``(n_samples, C * H * W)``. Not needed for 4-D or 3-D ``(n, H, W)``
        arrays. With None, 2-D input is treated as a table.
    image_layout : {"auto", "NCHW", "NHWC"}, default="auto"
        Axis order of 4-D image arrays. "auto" takes the channels from axis 1
        or axis 3, whichever alone has size <= 4, and asks for this parameter
        when that is ambiguous.
    step_order : {"g_first", "d_first"}, default="g_first"
        "g_first" is the official training step (generator update, then
        discriminator update); "d_first" is the August 2019 release of the code,
        where the latent loss trains only the discriminator.
    device : str or torch.device, default="auto"
        "auto" picks CUDA, then Apple MPS, then the CPU.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Arithmetic of the forward passes: "bf16" runs them under bfloat16
        autocast (weights, optimizer state and losses stay float32) and
        computes image features in bfloat16. "auto" is fp32, so that a
        ``random_state`` gives the same model on every machine: bf16 is
        opt-in (on the quality benchmark it kept the mean ROC AUC within 0.005
        of fp32; where the CPU has native bf16 it fits about 1.4 times as
        fast).
    validation_fraction : float in (0, 1) or None, default=None
        Share of the training data held out to stop training early: after each
        epoch the mean "official" anomaly score of the held-out samples
        (``valid_loss`` in
        ``history_``) is computed, training stops once it has not improved for
        ``n_iter_no_change`` epochs, and the generator and discriminator of the
        best epoch are restored. None trains for ``epochs`` epochs on all data.
    validation_scoring : {"mean_score", "synthetic_auc"}, default="mean_score"
        Criterion of early stopping. "mean_score": the mean "official" score
        of the held-out samples, lower is better. "synthetic_auc": the ROC AUC
        of the held-out samples against synthetic anomalies made from them (a
        patch of another held-out image pasted in, or 30 % of another
        held-out row's features swapped in), both scored by their kNN
        distance to the training data in the current discriminator's
        features; higher is better (``valid_synthetic_auc`` in
        ``history_``). Used with ``validation_fraction``.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs; used with ``validation_fraction``.
    warm_start : bool, default=False
        When True and the detector is fitted, ``fit`` trains the existing
        networks (and optimizers) for ``epochs`` more epochs on ``X`` instead of
        starting afresh. The scaling and the other hyper-parameters of the first
        fit are kept; ``X`` must have the fitted shape.
    checkpoint_dir : str, path-like or None, default=None
        Directory where networks, optimizer states and history are saved after
        every epoch (skorch's ``Checkpoint``). When it already holds a
        checkpoint, ``fit`` resumes from it and trains the remaining epochs, so
        an interrupted fit finishes as if it had never stopped (with the same
        ``random_state`` and data).
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Extra skorch callbacks, run after the built-in ones. Each ``fit`` uses
        fresh copies, so refits and clones are independent.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling. The global torch and numpy
        random states are left untouched.
    verbose : int, default=0
        0 prints nothing; 1 prints a progress bar per epoch and a table of the
        loss terms.

    Attributes
    ----------
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training data (higher = more abnormal).
    threshold_ : float
        Score above which a sample is an outlier: the ``1 - contamination``
        quantile of ``decision_scores_``, or the one ``calibrate_threshold``
        set.
    labels_ : ndarray of shape (n_samples,)
        Training labels, 1 for outliers and 0 for inliers.
    neighbours_ : object or None
        The neighbour scores fitted on the training data's discriminator
        features, one set per snapshot (its ``reference_features_``); None for
        the "official" score.
    n_features_in_ : int
        Number of features of the (flattened) input.
    image_shape_ : tuple of int (C, H, W) or None
        Shape of one input image, or None for tabular input.
    network_shape_ : tuple of int or None
        Shape the convolutional networks work at, ``(C, S, S)`` with ``S`` a
        power of two >= 32. Images are resized to it (bilinear); None for tables.
    data_min_, data_range_ : ndarray
        Scaling to [-1, 1] learned in ``fit``: scalars for images, one value per
        feature for tables. Integer images are measured in units of their
        dtype's range (uint8 255 is 1.0), so the same picture in uint8 or float
        in [0, 1] scores the same.
    device_ : torch.device
        Device the networks live on.
    history_ : skorch.History
        Per-epoch training log: ``train_loss`` (generator total), ``loss_adv``,
        ``loss_con``, ``loss_lat``, ``loss_d``, ``loss_d_real``,
        ``loss_d_fake``, ``loss_d_lat`` and ``d_reinits``.
    net_ : skorch.NeuralNet
        The trained skorch net holding the generator (``net_.module_``) and the
        discriminator (``net_.discriminator_``).

    See Also
    --------
    sklearn.ensemble.IsolationForest : Tree-based outlier detector.
    pyod.models.auto_encoder.AutoEncoder : Dense autoencoder detector.

    Notes
    -----
    Scores follow PyOD: ``decision_function`` is higher for more abnormal
    samples and ``predict`` returns 1 for outliers, so sklearn's
    ``scoring="roc_auc"`` works with labels ``y = 1`` for anomalies.
    ``score_samples`` is sklearn's orientation, ``-decision_function``. Scores
    are computed per sample with BatchNorm in eval mode, so a sample's score does
    not depend on the other samples scored with it.

    Input is converted to float32 one batch at a time; an ``np.memmap`` is also
    streamed from disk during ``fit``. When ``fit`` runs inside a
    ``torch.distributed`` process group of two or more processes (e.g. under
    ``torchrun``), it trains data-parallel with ``DistributedDataParallel``;
    ``batch_size`` is then the global batch.

    References
    ----------
    .. [1] S. Akçay, A. Atapour-Abarghouei and T. P. Breckon, "Skip-GANomaly:
       Skip Connected and Adversarially Trained Encoder-Decoder Anomaly
       Detection", IJCNN 2019, arXiv:1901.08954.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_sganomaly import SkipGANomalyDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> det = SkipGANomalyDetector(epochs=2, width=16, random_state=0).fit(X)
    >>> det.decision_function(X[:3]).shape
    (3,)
    >>> det.predict([[0.0, 0.0, 0.0, 0.0], [9.0, 9.0, 9.0, 9.0]])
    array([0, 1])
    """

    _parameter_constraints: ClassVar[dict] = {
        "contamination": [Interval(Real, 0, 0.5, closed="right")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
        "contextual_weight": [Interval(Real, 0, None, closed="left")],
        "latent_weight": [Interval(Real, 0, None, closed="left")],
        "anomaly_score": [StrOptions({"official", *NEIGHBOUR_SCORES})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "feature_snapshot": [StrOptions({"all", "first", "last"})],
        "score_weight": [Interval(Real, 0, 1, closed="both")],
        "skip_dropout": [Interval(Real, 0, 1, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "image_layout": [StrOptions({"auto", "NCHW", "NHWC"})],
        "step_order": [StrOptions(set(STEP_ORDERS))],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "fp32", "bf16"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "validation_scoring": [StrOptions({"mean_score", "synthetic_auc"})],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        contamination=0.1,
        epochs=15,
        batch_size=64,
        learning_rate=2e-4,
        adversarial_weight=1.0,
        contextual_weight=50.0,
        latent_weight=1.0,
        anomaly_score="knn+lof",
        n_neighbors=5,
        feature_snapshot="all",
        score_weight=0.9,
        skip_dropout=0.5,
        width=64,
        latent_dim=100,
        image_shape=None,
        image_layout="auto",
        step_order="g_first",
        device="auto",
        precision="auto",
        validation_fraction=None,
        validation_scoring="mean_score",
        n_iter_no_change=5,
        warm_start=False,
        checkpoint_dir=None,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        # BaseDetector.__init__ is not called: it validates, which sklearn
        # reserves for fit.
        self.contamination = contamination
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.adversarial_weight = adversarial_weight
        self.contextual_weight = contextual_weight
        self.latent_weight = latent_weight
        self.anomaly_score = anomaly_score
        self.n_neighbors = n_neighbors
        self.feature_snapshot = feature_snapshot
        self.score_weight = score_weight
        self.skip_dropout = skip_dropout
        self.width = width
        self.latent_dim = latent_dim
        self.image_shape = image_shape
        self.image_layout = image_layout
        self.step_order = step_order
        self.device = device
        self.precision = precision
        self.validation_fraction = validation_fraction
        self.validation_scoring = validation_scoring
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the generator and discriminator on (mostly normal) data ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Training data: images, flattened images (with ``image_shape``) or a
            table. Integer images (e.g. uint8) are accepted.
        y : Ignored
            Present for API consistency.

        Returns
        -------
        self : SkipGANomalyDetector
            The fitted detector. If fitting fails or is interrupted, the
            detector keeps the state it had before the call.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(epochs=2, width=8, random_state=0).fit(X)
        >>> det.decision_scores_.shape, int(det.labels_.sum())
        ((100,), 10)
        """
        previous_state = self.__dict__.copy()
        try:
            return self._fit(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous_state)
            raise

    def _fit(self, X):
        warm = self.warm_start and hasattr(self, "net_")
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        # Further training keeps the scaling learned first.
        scaling = self._input_scaling() if warm else None
        scaling, data, train_data, valid = training_input(self, X, scaling, seed=seed)
        self._set_input_scaling(scaling)
        device = self.device_ if warm else resolve_device(self.device)
        shape = self.network_shape_ or (self.n_features_in_,)
        if warm:
            # A copy, so that a failed or interrupted fit leaves the old net intact.
            net = copy.deepcopy(self.net_)
        else:
            net = self._build_net(
                shape, device, seed, drop_last=len(train_data) > self.batch_size
            )
        validation = None
        if valid is not None and self.validation_scoring == "synthetic_auc":
            validation = SyntheticAnomalyAUC(
                train_data, valid, n_neighbors=self.n_neighbors, seed=seed
            )
        train(
            net,
            train_data,
            valid,
            epochs=self.epochs,
            seed=seed,
            warm_start=warm,
            verbose=self.verbose,
            patience=self.n_iter_no_change,
            validation=validation,
            checkpoint_dir=self.checkpoint_dir,
            callbacks=copy.deepcopy(self.callbacks or []),
        )
        self._set_model(net, device)
        # In-sample, as PyOD's detectors: equal to decision_function(X).
        if self.anomaly_score == "official":
            self._set_scores(None, self._official_scores(data))
        else:
            # The training features are the reference set and the training
            # scores' input alike: one pass of the discriminator gives both.
            features = self._features(data)
            neighbours = SnapshotNeighbours(self.anomaly_score, self.n_neighbors)
            neighbours.fit(features)
            self._set_scores(neighbours, _finite(neighbours.score(features)))
        return self

    # The fitted state has one writer each: the input scaling, the trained
    # model, the scores and the threshold. fit and load both go through them.

    def _set_model(self, net, device):
        self.net_ = net
        self.history_ = net.history
        self.device_ = device
        self._classes = 2  # PyOD's predict_proba needs it; y is never used

    def _set_scores(self, neighbours, decision_scores, threshold=None):
        self.neighbours_ = neighbours
        self.decision_scores_ = decision_scores
        self._set_threshold(threshold)

    def _set_threshold(self, threshold=None):
        """Set ``threshold_`` and ``labels_``: PyOD's ``contamination`` quantile
        of the training scores, or ``threshold``."""
        if threshold is None:
            self._process_decision_scores()
            return
        self.threshold_ = float(threshold)
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)

    def _build_net(self, shape, device, seed, *, drop_last):
        # In a process group of 2 or more (e.g. under torchrun), fit trains
        # data-parallel; the net is otherwise the plain one.
        return make_net(
            shape,
            width=self.width,
            latent_dim=self.latent_dim,
            seed=seed,
            net_class=DataParallelSkipGANomalyNet if data_parallel() else None,
            criterion__adversarial_weight=self.adversarial_weight,
            criterion__contextual_weight=self.contextual_weight,
            criterion__latent_weight=self.latent_weight,
            lr=self.learning_rate,
            max_epochs=self.epochs,
            batch_size=self.batch_size,
            step_order=self.step_order,
            precision=self.precision,
            score_weight=self.score_weight,
            module__skip_dropout=self.skip_dropout,
            # BatchNorm cannot train on a trailing batch of one sample.
            iterator_train__drop_last=drop_last,
            device=device,
            verbose=self.verbose,
        )

    def _scoring_net(self):
        """The fitted net, batching as ``batch_size`` says now.

        ``batch_size`` has one owner, this estimator: after
        ``set_params(batch_size=...)`` every scoring loop uses the new value.
        """
        self.net_.batch_size = self.batch_size
        return self.net_

    def _snapshot_epochs(self):
        """Epochs of the discriminators the neighbour scores use; None = last."""
        if self.feature_snapshot == "first":
            return [SNAPSHOT_EPOCHS[0]]
        if self.feature_snapshot == "last":
            return [None]
        return [*self.net_.snapshot_epochs(), None]

    def _features(self, data):
        """Discriminator features of network input, one array per snapshot."""
        return self._scoring_net().snapshot_features(data, self._snapshot_epochs())

    def _official_scores(self, data):
        return _finite(self._scoring_net().predict(data).astype(np.float64))

    def _score(self, data):
        """Scores of network input: an array, a tensor or a ``NetworkInput``."""
        if self.neighbours_ is None:
            return self._official_scores(data)
        return _finite(self.neighbours_.score(self._features(data)))

    def decision_function(self, X):
        """Anomaly score of each sample; higher means more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
            Data in the layout used in ``fit`` (images may also be given
            flattened).

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The ``anomaly_score`` of each sample, computed on its own: a
            sample's score does not depend on the others in ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(100, 3))
        >>> det = SkipGANomalyDetector(epochs=2, width=8, random_state=0).fit(X)
        >>> inlier, outlier = det.decision_function([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]])
        >>> bool(outlier > inlier)
        True
        """
        return self._score(self._network_input(X))

    def _network_input(self, X):
        """``NetworkInput`` of ``X``, validated against the fitted input."""
        check_is_fitted(self)
        return scoring_input(self, X, self._input_scaling())

    def _input_scaling(self):
        return InputScaling(
            self.image_shape_,
            self.data_min_,
            self.data_range_,
            # Model files before version 3 scale integer images in raw values.
            getattr(self, "_dtype_ranges", True),
        )

    def _set_input_scaling(self, scaling):
        self.image_shape_ = scaling.image_shape
        self.network_shape_ = network_shape(scaling.image_shape)
        self.data_min_ = scaling.data_min
        self.data_range_ = scaling.data_range
        self._dtype_ranges = scaling.dtype_ranges

    def calibrate_threshold(self, X_normal, *, fpr=0.05):
        """Set ``threshold_`` from a target false-positive rate on normal data.

        ``contamination`` sets the threshold from the training data, which may
        hold unknown anomalies. When held-out samples known to be normal are at
        hand, this sets it so that at most a share ``fpr`` of them is flagged.

        Parameters
        ----------
        X_normal : array-like
            Normal samples not used in ``fit``, as for ``decision_function``.
        fpr : float in (0, 1), default=0.05
            Largest share of ``X_normal`` that ``predict`` may flag.

        Returns
        -------
        self : SkipGANomalyDetector
            With ``threshold_`` and ``labels_`` updated; ``predict``,
            ``predict_confidence`` and ``fit_predict``-style labels follow it.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> rng = np.random.RandomState(0)
        >>> det = SkipGANomalyDetector(epochs=1, width=8, random_state=0)
        >>> det = det.fit(rng.normal(size=(100, 3)))
        >>> X_normal = rng.normal(size=(200, 3))
        >>> float(det.calibrate_threshold(X_normal, fpr=0.01).predict(X_normal).mean())
        0.005
        """
        check_is_fitted(self)
        if not isinstance(fpr, Real) or not 0 < fpr < 1:
            raise ValueError(f"fpr must be a float in (0, 1), got {fpr!r}.")
        scores = self.decision_function(X_normal)
        # "higher" takes an observed score, so that strictly fewer than
        # fpr * n_samples scores lie above it.
        self._set_threshold(np.quantile(scores, 1 - fpr, method="higher"))
        return self

    def anomaly_map(self, X, *, sigma=0.0):
        """Per-pixel anomaly maps: squared reconstruction error, channel mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, C, H, W) or (n_samples, H, W)
            Images as accepted by ``decision_function``.
        sigma : float, default=0.0
            Standard deviation, in input pixels, of a Gaussian filter applied to
            each map (``scipy.ndimage.gaussian_filter``); it merges the speckle
            of single badly reconstructed pixels into regions. 0 leaves the maps
            unsmoothed.

        Returns
        -------
        maps : ndarray of shape (n_samples, H, W)
            Maps at the input resolution. They are computed at
            ``network_shape_`` and resized back (bilinear), so their mean is
            close to, though not exactly, the pixel term of the "official"
            anomaly score.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> images = np.random.RandomState(0).uniform(size=(40, 1, 8, 8))
        >>> det = SkipGANomalyDetector(epochs=1, width=8, random_state=0).fit(images)
        >>> det.anomaly_map(images[:2], sigma=1.0).shape
        (2, 8, 8)
        """
        check_is_fitted(self)
        if not isinstance(sigma, Real) or not sigma >= 0:
            raise ValueError(f"sigma must be a number >= 0, got {sigma!r}.")
        if self.image_shape_ is None:
            raise ValueError(
                "anomaly_map needs a detector fitted on images; this one was fitted "
                f"on a table with {self.n_features_in_} features."
            )
        maps = self._scoring_net().reconstruction_error_maps(
            self._network_input(X), size=self.image_shape_[1:]
        )
        if sigma > 0:
            maps = ndimage.gaussian_filter(maps, sigma=(0, sigma, sigma))
        return maps

    def save(self, path):
        """Save the fitted detector to a file that runs no code when loaded.

        Parameters
        ----------
        path : str or path-like
            File to write. Read it back with :meth:`load`.

        Notes
        -----
        Unlike pickle or joblib files, which can execute arbitrary code while
        being loaded, this file holds only tensors and JSON, and :meth:`load`
        verifies its format version and a SHA-256 digest of its content.
        Optimizer state is not saved: the file is for scoring. The file is
        written beside ``path`` and moved onto it once complete, so an
        interrupted save leaves an existing file at ``path`` intact.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(50, 3))
        >>> det = SkipGANomalyDetector(epochs=1, width=8, random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "detector.pt")
        >>> det.save(path)
        >>> loaded = SkipGANomalyDetector.load(path)
        >>> bool(np.array_equal(loaded.decision_function(X), det.decision_function(X)))
        True
        """
        check_is_fitted(self)
        write_detector(self, path)

    @classmethod
    def load(cls, path, *, device="auto"):
        """Load a detector written by :meth:`save`, without running any code.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.
        device : str or torch.device, default="auto"
            Where to put the networks; a model trained on a GPU loads on a
            CPU-only machine.

        Returns
        -------
        detector : SkipGANomalyDetector
            A fitted detector that scores exactly like the saved one.

        Raises
        ------
        ValueError
            If the file is not a model file, has another format version, was
            modified, or does not match the networks its parameters describe.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from sklearn_sganomaly import SkipGANomalyDetector
        >>> X = np.random.RandomState(0).normal(size=(50, 3))
        >>> path = os.path.join(tempfile.mkdtemp(), "detector.pt")
        >>> SkipGANomalyDetector(epochs=1, width=8, random_state=0).fit(X).save(path)
        >>> SkipGANomalyDetector.load(path, device="cpu").anomaly_score
        'knn+lof'
        """
        return read_detector(cls, path, device)

    def __setstate__(self, state):
        super().__setstate__(state)
        if "net_" in state:
            # skorch moves a CUDA-trained net to the CPU when CUDA is missing.
            self.device_ = torch.device(self.net_.device)
