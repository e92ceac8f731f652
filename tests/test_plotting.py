"""LossCurveDisplay draws the history it is given."""

import numpy as np
import pytest
from conftest import FAST
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly.plotting import LossCurveDisplay

matplotlib = pytest.importorskip("matplotlib", reason="LossCurveDisplay needs it")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_lines_are_the_history(table):
    det = SkipGANomalyDetector(**{**FAST, "epochs": 3}, random_state=0).fit(table)
    display = LossCurveDisplay.from_estimator(det)
    assert set(display.lines_) == {
        "train_loss", "loss_con", "loss_adv", "loss_lat", "loss_d"
    }  # fmt: skip
    for term, line in display.lines_.items():
        assert_allclose(line.get_xdata(), [1, 2, 3])
        assert_allclose(line.get_ydata(), det.history_[:, term])
    assert display.ax_.get_yscale() == "log"
    assert display.figure_ is display.ax_.figure


def test_valid_loss_is_drawn_when_recorded(table):
    det = SkipGANomalyDetector(
        **{**FAST, "epochs": 2}, validation_fraction=0.2, random_state=0
    ).fit(table)
    display = LossCurveDisplay.from_estimator(det, log_scale=False)
    assert_allclose(
        display.lines_["valid_loss"].get_ydata(), det.history_[:, "valid_loss"]
    )
    assert display.ax_.get_yscale() == "linear"


def test_chosen_terms_on_given_axes(fitted_table):
    _, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(fitted_table, terms=["loss_d"], ax=ax)
    assert list(display.lines_) == ["loss_d"]
    assert display.ax_ is ax


def test_unknown_terms_are_named(fitted_table):
    with pytest.raises(ValueError, match=r"no column\(s\) \['loss_x'\]"):
        LossCurveDisplay.from_estimator(fitted_table, terms=["loss_x"])


def test_unfitted_detector_is_refused():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(SkipGANomalyDetector())


def test_history_of_a_loaded_model_plots(fitted_table, tmp_path):
    fitted_table.save(tmp_path / "det.pt")
    loaded = SkipGANomalyDetector.load(tmp_path / "det.pt")
    display = LossCurveDisplay.from_estimator(loaded)
    assert np.isfinite(display.lines_["loss_d"].get_ydata()).all()
