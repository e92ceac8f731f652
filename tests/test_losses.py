"""Training losses (spec 6) and the per-sample anomaly score (spec 7.1)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from sklearn_sganomaly._losses import SkipGANomalyLoss
from sklearn_sganomaly._scoring import anomaly_score

LN2 = math.log(2.0)

# A 2-sample batch with hand-checkable terms.
FAKE = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
REAL = torch.tensor([[1.0, 1.0], [0.0, 3.0]])  # |fake - real| = 1, 0, 2, 0: L1 0.75
F_FAKE = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
F_REAL = torch.zeros(2, 2)  # squared differences 0, 0, 4, 0: MSE 1.0


def test_generator_terms_known_values():
    terms = SkipGANomalyLoss().generator(torch.zeros(2), FAKE, REAL, F_FAKE, F_REAL)
    assert set(terms) == {"loss_g", "loss_adv", "loss_con", "loss_lat"}
    assert terms["loss_adv"].item() == pytest.approx(LN2)
    assert terms["loss_con"].item() == pytest.approx(0.75)
    assert terms["loss_lat"].item() == pytest.approx(1.0)
    # Defaults 1, 50, 1.
    assert terms["loss_g"].item() == pytest.approx(LN2 + 50 * 0.75 + 1.0)
    assert all(t.dim() == 0 for t in terms.values())


def test_generator_total_uses_the_weights_and_terms_stay_unweighted():
    loss = SkipGANomalyLoss(
        adversarial_weight=2.0, contextual_weight=3.0, latent_weight=5.0
    )
    terms = loss.generator(torch.zeros(2), FAKE, REAL, F_FAKE, F_REAL)
    assert terms["loss_g"].item() == pytest.approx(2 * LN2 + 3 * 0.75 + 5 * 1.0)
    assert terms["loss_adv"].item() == pytest.approx(LN2)
    assert terms["loss_con"].item() == pytest.approx(0.75)
    assert terms["loss_lat"].item() == pytest.approx(1.0)


def test_generator_adversarial_target_is_real():
    # A confident "real" logit gives ~0 loss, a confident "fake" logit a big one.
    loss = SkipGANomalyLoss()
    high = loss.generator(torch.full((2,), 30.0), FAKE, REAL, F_FAKE, F_REAL)
    low = loss.generator(torch.full((2,), -30.0), FAKE, REAL, F_FAKE, F_REAL)
    assert high["loss_adv"].item() == pytest.approx(0.0, abs=1e-6)
    assert low["loss_adv"].item() == pytest.approx(30.0, rel=1e-4)


def test_discriminator_terms_known_values():
    loss = SkipGANomalyLoss(
        adversarial_weight=7.0, contextual_weight=11.0, latent_weight=5.0
    )
    # sigmoid(log 3) = 0.75, so BCE against "fake" is -log(0.25) = log 4.
    logit_fake = torch.full((2,), math.log(3.0))
    terms = loss.discriminator(torch.zeros(2), logit_fake, F_REAL, F_FAKE)
    assert set(terms) == {"loss_d", "loss_d_real", "loss_d_fake", "loss_d_lat"}
    assert terms["loss_d_real"].item() == pytest.approx(LN2)
    assert terms["loss_d_fake"].item() == pytest.approx(math.log(4.0))
    assert terms["loss_d_lat"].item() == pytest.approx(1.0)
    # Only the latent weight enters D's total.
    assert terms["loss_d"].item() == pytest.approx(LN2 + math.log(4.0) + 5.0)


@pytest.mark.parametrize("latent_weight", [0.0, 1.0, 2.5])
def test_discriminator_total_is_bce_real_plus_bce_fake_plus_latent(latent_weight):
    gen = torch.Generator().manual_seed(0)
    logit_real, logit_fake = torch.randn(2, 6, generator=gen)
    f_real, f_fake = torch.randn(2, 6, 4, generator=gen)
    terms = SkipGANomalyLoss(latent_weight=latent_weight).discriminator(
        logit_real, logit_fake, f_real, f_fake
    )
    bce = nn.BCEWithLogitsLoss()
    expected = (
        bce(logit_real, torch.ones(6))
        + bce(logit_fake, torch.zeros(6))
        + latent_weight * ((f_real - f_fake) ** 2).mean()
    )
    torch.testing.assert_close(terms["loss_d"], expected)
    torch.testing.assert_close(
        terms["loss_d"],
        terms["loss_d_real"]
        + terms["loss_d_fake"]
        + latent_weight * terms["loss_d_lat"],
    )


@settings(deadline=None, max_examples=20)
@given(st.lists(st.floats(-8.0, 8.0, width=32), min_size=1, max_size=8))
def test_bce_with_logits_equals_official_sigmoid_bce(logits):
    x = torch.tensor(logits)
    ones, zeros = torch.ones_like(x), torch.zeros_like(x)
    official = nn.BCELoss()
    loss = SkipGANomalyLoss()
    feats = torch.zeros(len(x), 3)
    real = torch.zeros(len(x), 2)
    adv = loss.generator(x, real, real, feats, feats)["loss_adv"]
    d_terms = loss.discriminator(x, x, feats, feats)
    sig = torch.sigmoid(x)
    torch.testing.assert_close(adv, official(sig, ones), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(
        d_terms["loss_d_real"], official(sig, ones), rtol=1e-4, atol=1e-5
    )
    torch.testing.assert_close(
        d_terms["loss_d_fake"], official(sig, zeros), rtol=1e-4, atol=1e-5
    )


def test_zero_contextual_and_latent_loss_when_reconstruction_is_perfect():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(3, 1, 4, 4, generator=gen)
    feats = torch.randn(3, 5, generator=gen)
    terms = SkipGANomalyLoss().generator(
        torch.randn(3, generator=gen), real.clone(), real, feats.clone(), feats
    )
    assert terms["loss_con"].item() == 0.0
    assert terms["loss_lat"].item() == 0.0
    assert terms["loss_g"].item() == pytest.approx(terms["loss_adv"].item())
    assert terms["loss_adv"].item() > 0


def test_terms_are_means_not_sums():
    # Repeating the batch leaves every term unchanged.
    loss = SkipGANomalyLoss()
    logits = torch.tensor([0.3, -1.2])
    once = loss.generator(logits, FAKE, REAL, F_FAKE, F_REAL)
    twice = loss.generator(
        logits.repeat(2),
        FAKE.repeat(2, 1),
        REAL.repeat(2, 1),
        F_FAKE.repeat(2, 1),
        F_REAL.repeat(2, 1),
    )
    for key in once:
        torch.testing.assert_close(once[key], twice[key])


def test_generator_loss_backpropagates_to_its_inputs():
    fake = FAKE.clone().requires_grad_()
    f_fake = F_FAKE.clone().requires_grad_()
    logit = torch.zeros(2, requires_grad=True)
    terms = SkipGANomalyLoss().generator(logit, fake, REAL, f_fake, F_REAL)
    terms["loss_g"].backward()
    # d/dfake of 50 * mean|fake - real| is 50 * sign / 4 (zero where equal).
    torch.testing.assert_close(
        fake.grad, 50 / 4 * torch.sign(FAKE - REAL), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(f_fake.grad, 2 * (F_FAKE - F_REAL) / 4)
    # d/dx BCE(sigmoid(x), 1) = sigmoid(x) - 1, averaged over 2.
    torch.testing.assert_close(logit.grad, torch.full((2,), -0.25))


def test_losses_are_float32_under_bfloat16_autocast():
    torch.manual_seed(0)
    head = nn.Linear(8, 8)
    x = torch.randn(4, 8)
    loss = SkipGANomalyLoss()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(x)
        assert out.dtype == torch.bfloat16
        logits = out[:, 0]
        fake, feats_fake = out, out[:, :5]
        g_terms = loss.generator(logits, fake, x, feats_fake, x[:, :5])
        d_terms = loss.discriminator(logits, -logits, x[:, :5], feats_fake)
        scores = anomaly_score(x, fake, x[:, :5], feats_fake)
    for name, value in {**g_terms, **d_terms}.items():
        assert value.dtype == torch.float32, name
        assert torch.isfinite(value), name
    assert scores.dtype == torch.float32
    assert torch.isfinite(scores).all()


def test_losses_are_float32_for_bfloat16_inputs():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, generator=gen).bfloat16()
    fake, real = torch.randn(2, 4, 3, generator=gen).bfloat16()
    f_fake, f_real = torch.randn(2, 4, 5, generator=gen).bfloat16()
    loss = SkipGANomalyLoss()
    g_terms = loss.generator(logits, fake, real, f_fake, f_real)
    d_terms = loss.discriminator(logits, logits, f_real, f_fake)
    for name, value in {**g_terms, **d_terms}.items():
        assert value.dtype == torch.float32, name


# ---------------------------------------------------------------------------
# Anomaly score


def _score_inputs():
    real = torch.zeros(2, 1, 2, 2)
    fake = torch.tensor([[[[1.0, 1.0], [1.0, 1.0]]], [[[1.0, 1.0], [0.0, 0.0]]]])
    f_real = torch.zeros(2, 3)
    f_fake = torch.tensor([[3.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    # Per sample: R = (1, 0.5), L = (3, 1).
    return real, fake, f_real, f_fake


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        (0.9, [0.9 * 1 + 0.1 * 3, 0.9 * 0.5 + 0.1 * 1]),
        (0.25, [0.25 * 1 + 0.75 * 3, 0.25 * 0.5 + 0.75 * 1]),
        (1.0, [1.0, 0.5]),
        (0.0, [3.0, 1.0]),
    ],
)
def test_anomaly_score_known_values(weight, expected):
    scores = anomaly_score(*_score_inputs(), weight=weight)
    assert scores.shape == (2,)
    assert scores.dtype == torch.float32
    torch.testing.assert_close(scores, torch.tensor(expected))


def test_anomaly_score_default_weight_is_point_nine():
    torch.testing.assert_close(
        anomaly_score(*_score_inputs()), anomaly_score(*_score_inputs(), weight=0.9)
    )


def test_anomaly_score_matches_hand_formula_on_random_images():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(2, 5, 3, 8, 8, generator=gen)
    f_real, f_fake = torch.randn(2, 5, 10, generator=gen)
    scores = anomaly_score(real, fake, f_real, f_fake, weight=0.7)
    for i in range(5):
        r = ((real[i] - fake[i]) ** 2).sum() / (3 * 8 * 8)
        lat = ((f_real[i] - f_fake[i]) ** 2).sum() / 10
        assert scores[i].item() == pytest.approx((0.7 * r + 0.3 * lat).item(), 1e-5)


def test_anomaly_score_is_float32_for_double_input():
    real, fake, f_real, f_fake = (t.double() for t in _score_inputs())
    assert anomaly_score(real, fake, f_real, f_fake).dtype == torch.float32


@settings(deadline=None, max_examples=15)
@given(
    batch=st.integers(2, 5),
    seed=st.integers(0, 2**16),
    dense=st.booleans(),
)
def test_anomaly_score_of_a_sample_ignores_the_rest_of_the_batch(batch, seed, dense):
    gen = torch.Generator().manual_seed(seed)
    shape = (6,) if dense else (2, 4, 4)
    real, fake, other_real, other_fake = torch.randn(4, batch, *shape, generator=gen)
    f_real, f_fake, other_fr, other_ff = torch.randn(4, batch, 7, generator=gen)
    scores = anomaly_score(real, fake, f_real, f_fake)
    # Replace every sample but the first.
    real2, fake2 = (
        torch.cat([real[:1], other_real[1:]]),
        torch.cat([fake[:1], other_fake[1:]]),
    )
    fr2, ff2 = (
        torch.cat([f_real[:1], other_fr[1:]]),
        torch.cat([f_fake[:1], other_ff[1:]]),
    )
    scores2 = anomaly_score(real2, fake2, fr2, ff2)
    alone = anomaly_score(real[:1], fake[:1], f_real[:1], f_fake[:1])
    torch.testing.assert_close(scores2[0], scores[0], rtol=1e-6, atol=0)
    torch.testing.assert_close(alone[0], scores[0], rtol=1e-6, atol=0)
    assert not torch.allclose(scores2[1:], scores[1:])


def test_anomaly_score_weight_one_ignores_features_and_zero_ignores_pixels():
    real, fake, f_real, f_fake = _score_inputs()
    w1 = anomaly_score(real, fake, f_real, f_fake, weight=1.0)
    w1_other = anomaly_score(real, fake, f_real + 10, f_fake - 3, weight=1.0)
    torch.testing.assert_close(w1, w1_other)
    w0 = anomaly_score(real, fake, f_real, f_fake, weight=0.0)
    w0_other = anomaly_score(real + 5, fake - 2, f_real, f_fake, weight=0.0)
    torch.testing.assert_close(w0, w0_other)
    # And the other half does count.
    assert not torch.allclose(w1, anomaly_score(real + 5, fake, f_real, f_fake, 1.0))
    assert not torch.allclose(w0, anomaly_score(real, fake, f_real + 10, f_fake, 0.0))


def test_anomaly_score_uses_squared_not_absolute_error():
    real = torch.zeros(1, 4)
    fake = torch.full((1, 4), 3.0)
    feats = torch.zeros(1, 2)
    assert anomaly_score(real, fake, feats, feats, weight=1.0).item() == 9.0
