# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Plots of a fitted detector, in scikit-learn's Display style (needs matplotlib)."""

from __future__ import annotations

from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

__all__ = ["LossCurveDisplay"]

_DEFAULT_TERMS = ("train_loss", "loss_con", "loss_adv", "loss_lat", "loss_d")


class LossCurveDisplay:
    """Per-epoch loss curves of a fitted ``SkipGANomalyDetector``.

    Build it with :meth:`from_estimator`; its attributes are set by
    :meth:`plot`.

    Parameters
    ----------
    history : skorch.History
        The detector's ``history_``.
    terms : sequence of str or None, default=None
        Columns of ``history`` to draw. None draws the generator's
        ``train_loss`` and its parts, the discriminator's ``loss_d``, and
        ``valid_loss`` when early stopping recorded it.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        One line per term.
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_sganomaly import SkipGANomalyDetector
    >>> from sklearn_sganomaly.plotting import LossCurveDisplay
    >>> X = np.random.RandomState(0).normal(size=(60, 3))
    >>> det = SkipGANomalyDetector(epochs=3, width=8, random_state=0).fit(X)
    >>> display = LossCurveDisplay.from_estimator(det)
    >>> sorted(display.lines_)
    ['loss_adv', 'loss_con', 'loss_d', 'loss_lat', 'train_loss']
    """

    def __init__(self, *, history, terms=None):
        self.history = history
        self.terms = terms

    def plot(self, ax=None, *, log_scale=True):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        log_scale : bool, default=True
            Logarithmic y axis: ``loss_con`` is weighted by 50 and dwarfs the
            other terms on a linear one.

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        terms = self.terms
        if terms is None:
            terms = [
                t for t in (*_DEFAULT_TERMS, "valid_loss") if t in self.history[-1]
            ]
        missing = [t for t in terms if t not in self.history[-1]]
        if missing:
            raise ValueError(
                f"history_ has no column(s) {missing}; it has "
                f"{sorted(k for k in self.history[-1] if k != 'batches')}."
            )
        epochs = self.history[:, "epoch"]
        self.lines_ = {
            term: ax.plot(epochs, self.history[:, term], marker="o", label=term)[0]
            for term in terms
        }
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, terms=None, ax=None, log_scale=True):
        """Plot the loss curves of a fitted detector.

        Parameters
        ----------
        estimator : SkipGANomalyDetector
            A fitted detector.
        terms : sequence of str or None, default=None
            As for the class.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        log_scale : bool, default=True
            Logarithmic y axis.

        Returns
        -------
        display : LossCurveDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator, "history_")
        return cls(history=estimator.history_, terms=terms).plot(
            ax=ax, log_scale=log_scale
        )
