"""The skorch training net: optimizers, the G/D step (spec 6), re-init, scoring.

The optimised step computes what the plain one computes. ``SkipGANomalyNet``'s
"g_first" step runs the discriminator twice per step (on x and on G(x)) where the
official step runs it three times, differentiates each loss only with respect to
its own network, and steps fused Adam optimizers. These tests compare it with a
straightforward official step: gradients, updated weights and BatchNorm running
statistics. The running statistics of D are updated three times per step in
both, as in the official code: the update of the shared forward on G(x) is
applied twice.
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_net, uniform_inputs

from sklearn_sganomaly._networks import init_dcgan_weights
from sklearn_sganomaly._scoring import anomaly_score
from sklearn_sganomaly._training import STEP_ORDERS

DENSE = (5,)
IMAGE = (1, 32, 32)
W_ADV, W_CON, W_LAT = 1.5, 7.0, 3.0
BATCH_TERMS = (
    "loss_d",
    "loss_adv",
    "loss_con",
    "loss_lat",
    "loss_d_real",
    "loss_d_fake",
    "loss_d_lat",
    "d_reinit",
)


pytestmark = pytest.mark.usefixtures("single_thread")


def make_net(shape=DENSE, **kwargs):
    return tiny_net(shape, **kwargs)


def data(shape=DENSE, n=8, seed=0):
    return uniform_inputs(shape, n, seed)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(module, before):
    return {k for k, v in module.named_parameters() if not torch.equal(v, before[k])}


def run_train_step(net, X):
    net.history.new_epoch()
    net.history.new_batch()
    x = torch.from_numpy(X)
    return net.train_step((x, torch.zeros(len(x))))


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(
        logits, torch.full_like(logits, float(target))
    )


# ---------------------------------------------------------------------------
# Optimizers


def test_two_adam_optimizers_cover_g_and_d_separately():
    net = make_net()
    g_ids = {id(p) for p in net.module_.parameters()}
    d_ids = {id(p) for p in net.discriminator_.parameters()}
    opt_g = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    opt_d = {id(p) for group in net.optimizer_d_.param_groups for p in group["params"]}
    assert g_ids.isdisjoint(d_ids)
    assert opt_g == g_ids
    assert opt_d == d_ids
    for opt in (net.optimizer_, net.optimizer_d_):
        assert isinstance(opt, torch.optim.Adam)
        for group in opt.param_groups:
            assert group["lr"] == pytest.approx(2e-4)
            assert tuple(group["betas"]) == (0.5, 0.999)
            assert group["weight_decay"] == 0


def test_discriminator_learning_rate_can_be_overridden():
    net = make_net(lr=1e-3, optimizer_d__lr=5e-5)
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert net.optimizer_d_.param_groups[0]["lr"] == pytest.approx(5e-5)


# ---------------------------------------------------------------------------
# Gradient routing


def _step_inputs(net, X):
    net._set_training(True)
    x = torch.from_numpy(X)
    return x, net.module_(x), net.discriminator_(x)


@pytest.mark.parametrize("order", STEP_ORDERS)
@pytest.mark.parametrize("shape", [DENSE, IMAGE])
def test_generator_step_updates_g_only(order, shape):
    torch.manual_seed(0)
    net = make_net(shape, step_order=order)
    x, fake, real_out = _step_inputs(net, data(shape))
    g0, d0 = snapshot(net.module_), snapshot(net.discriminator_)
    net.generator_step(x, fake, real_out)
    assert changed(net.module_, g0) == set(g0)
    assert changed(net.discriminator_, d0) == set()


@pytest.mark.parametrize("shape", [DENSE, IMAGE])
def test_discriminator_step_updates_d_only(shape):
    torch.manual_seed(0)
    net = make_net(shape)
    _, fake, real_out = _step_inputs(net, data(shape))
    g0, d0 = snapshot(net.module_), snapshot(net.discriminator_)
    net.discriminator_step(fake, real_out)
    assert changed(net.discriminator_, d0) == set(d0)
    assert changed(net.module_, g0) == set()
    # The fake is detached: no gradient reaches G at all.
    assert all(p.grad is None for p in net.module_.parameters())


# ---------------------------------------------------------------------------
# The full step, checked against the losses computed by hand


def _record_step_grads(net, monkeypatch):
    """Capture the gradients each optimizer steps with."""
    seen = {}
    for name, module in (("g", net.module_), ("d", net.discriminator_)):
        opt = getattr(net, "optimizer_" if name == "g" else "optimizer_d_")
        step = opt.step

        def wrapped(*args, name=name, module=module, step=step, **kwargs):
            seen[name] = [
                None if p.grad is None else p.grad.clone() for p in module.parameters()
            ]
            seen[name + "_d_state"] = copy.deepcopy(net.discriminator_)
            return step(*args, **kwargs)

        monkeypatch.setattr(opt, "step", wrapped)
    return seen


def _assert_grads_equal(got, module, loss):
    want = torch.autograd.grad(loss, list(module.parameters()), allow_unused=True)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        w = torch.zeros_like(g) if w is None else w
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("order", STEP_ORDERS)
@pytest.mark.parametrize("shape", [DENSE, IMAGE])
def test_train_step_gradients_match_hand_computed_losses(order, shape, monkeypatch):
    w_adv, w_con, w_lat = 1.5, 7.0, 3.0
    torch.manual_seed(0)
    net = make_net(
        shape,
        step_order=order,
        criterion__adversarial_weight=w_adv,
        criterion__contextual_weight=w_con,
        criterion__latent_weight=w_lat,
    )
    X = data(shape)
    g0 = copy.deepcopy(net.module_).train()
    d0 = copy.deepcopy(net.discriminator_).train()
    seen = _record_step_grads(net, monkeypatch)
    run_train_step(net, X)
    assert net.history[-1, "batches", -1]["d_reinit"] == 0

    x = torch.from_numpy(X)
    fake = g0(x)  # both orders use G's output from before its update
    logit_real, f_real = d0(x)

    # D: BCE(D(x), 1) + BCE(D(G(x).detach()), 0) + w_lat * MSE(f), D before update.
    logit_fake_d, f_fake_d = d0(fake.detach())
    loss_d = (
        bce(logit_real, 1) + bce(logit_fake_d, 0) + w_lat * F.mse_loss(f_fake_d, f_real)
    )
    _assert_grads_equal(seen["d"], d0, loss_d)
    batch = net.history[-1, "batches", -1]
    assert batch["loss_d"] == pytest.approx(loss_d.item(), rel=1e-5)
    assert batch["loss_d_lat"] == pytest.approx(
        F.mse_loss(f_fake_d, f_real).item(), rel=1e-5
    )

    # G: adversarial + contextual, plus the latent term in "g_first" only.
    if order == "g_first":
        d_for_g = d0  # D has not stepped yet
    else:
        d_for_g = seen["g_d_state"].train()  # D after its update
        assert changed(d_for_g, snapshot(d0))
    logit_fake_g, f_fake_g = d_for_g(fake)
    loss_g = w_adv * bce(logit_fake_g, 1) + w_con * F.l1_loss(fake, x)
    if order == "g_first":
        loss_g = loss_g + w_lat * F.mse_loss(f_fake_g, f_real.detach())
    _assert_grads_equal(seen["g"], g0, loss_g)
    assert batch["loss_adv"] == pytest.approx(bce(logit_fake_g, 1).item(), rel=1e-5)
    assert batch["loss_con"] == pytest.approx(F.l1_loss(fake, x).item(), rel=1e-5)


@pytest.mark.parametrize("shape", [DENSE, IMAGE])
def test_latent_term_reaches_g_in_g_first_only(shape):
    """With the adversarial and contextual weights at 0, only L_lat is left for G."""
    X = data(shape)
    moved = {}
    for order in STEP_ORDERS:
        torch.manual_seed(0)
        net = make_net(
            shape,
            step_order=order,
            criterion__adversarial_weight=0.0,
            criterion__contextual_weight=0.0,
        )
        g0 = snapshot(net.module_)
        run_train_step(net, X)
        moved[order] = changed(net.module_, g0)
        assert net.history[-1, "batches", -1]["loss_lat"] > 0
    assert moved["g_first"] == set(g0)
    assert moved["d_first"] == set()


@pytest.mark.parametrize("order", STEP_ORDERS)
def test_train_step_records_finite_batch_terms(order):
    torch.manual_seed(0)
    net = make_net(IMAGE, step_order=order)
    out = run_train_step(net, data(IMAGE))
    batch = net.history[-1, "batches", -1]
    for name in BATCH_TERMS:
        assert np.isfinite(batch[name]), name
    assert batch["d_reinit"] == 0
    assert batch["loss_d"] == pytest.approx(
        batch["loss_d_real"] + batch["loss_d_fake"] + batch["loss_d_lat"], rel=1e-5
    )
    # The returned loss is the weighted generator total (defaults 1, 50, 1).
    expected_g = batch["loss_adv"] + 50 * batch["loss_con"] + batch["loss_lat"]
    assert out["loss"].item() == pytest.approx(expected_g, rel=1e-5)
    assert out["y_pred"].shape == (8, *IMAGE)
    assert not out["y_pred"].requires_grad


def test_fit_records_epoch_columns():
    torch.manual_seed(0)
    net = make_net(max_epochs=2, initialize=False)
    net.fit(data(n=16))
    assert len(net.history) == 2
    for column in (
        "train_loss",
        "loss_d",
        "loss_adv",
        "loss_con",
        "loss_lat",
        "loss_d_real",
        "loss_d_fake",
        "loss_d_lat",
        "d_reinits",
    ):
        values = net.history[:, column]
        assert len(values) == 2, column
        assert np.all(np.isfinite(values)), column
    assert net.history[:, "d_reinits"] == [0, 0]
    # Epoch values are the means of the batch values.
    for epoch in net.history:
        assert len(epoch["batches"]) == 2
        mean_d = np.mean([b["loss_d"] for b in epoch["batches"]])
        assert epoch["loss_d"] == pytest.approx(mean_d, rel=1e-6)
        mean_g = np.mean([b["train_loss"] for b in epoch["batches"]])
        assert epoch["train_loss"] == pytest.approx(mean_g, rel=1e-6)


# ---------------------------------------------------------------------------
# Discriminator re-initialisation


@pytest.mark.parametrize("order", STEP_ORDERS)
def test_reinit_every_step_is_counted(order):
    torch.manual_seed(0)
    net = make_net(
        step_order=order, reinit_threshold=1e9, max_epochs=2, initialize=False
    )
    net.fit(data(n=24))  # 3 batches of 8 per epoch
    assert net.history[:, "d_reinits"] == [3, 3]
    assert all(b["d_reinit"] == 1 for b in net.history[-1, "batches"])
    # Adam state survives: one step per batch, on D's current parameter objects.
    d_params = list(net.discriminator_.parameters())
    assert set(net.optimizer_d_.state) == set(d_params)
    assert all(s["step"].item() == 6 for s in net.optimizer_d_.state.values())


def test_default_threshold_does_not_reinit_on_a_short_run():
    torch.manual_seed(0)
    net = make_net(max_epochs=2, initialize=False)
    net.fit(data(n=24))
    assert net.reinit_threshold == 1e-5
    assert net.history[:, "d_reinits"] == [0, 0]


def test_reinit_resets_d_weights_but_keeps_adam_state_and_bn_statistics():
    X = data(IMAGE)
    nets = {}
    for threshold in (float("-inf"), 1e9):
        torch.manual_seed(0)
        nets[threshold] = make_net(IMAGE, reinit_threshold=threshold)
        run_train_step(nets[threshold], X)
    kept, reset = nets[float("-inf")], nets[1e9]
    assert kept.history[-1, "batches", -1]["d_reinit"] == 0
    assert reset.history[-1, "batches", -1]["d_reinit"] == 1
    # Same G update, D parameters re-drawn.
    for a, b in zip(kept.module_.parameters(), reset.module_.parameters(), strict=True):
        assert torch.equal(a, b)
    assert changed(reset.discriminator_, snapshot(kept.discriminator_))
    # BatchNorm running statistics are not reset ...
    buffers = dict(kept.discriminator_.named_buffers())
    assert any("running_mean" in k for k in buffers)
    for k, v in reset.discriminator_.named_buffers():
        assert torch.equal(v, buffers[k]), k
    # ... and neither is Adam's state.
    state_kept = list(kept.optimizer_d_.state.values())
    state_reset = list(reset.optimizer_d_.state.values())
    assert len(state_reset) == len(list(reset.discriminator_.parameters()))
    for a, b in zip(state_kept, state_reset, strict=True):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(a[key], b[key]), key


def test_init_dcgan_weights_keeps_trained_running_mean():
    torch.manual_seed(0)
    net = make_net(IMAGE, initialize=False)
    net.fit(data(IMAGE, n=16))
    d = net.discriminator_
    before = {k: v.clone() for k, v in d.named_buffers()}
    assert any(
        k.endswith("running_mean") and v.abs().sum() > 0 for k, v in before.items()
    )
    d.apply(init_dcgan_weights)
    for k, v in d.named_buffers():
        assert torch.equal(v, before[k]), k


# ---------------------------------------------------------------------------
# Scoring


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    net = make_net(IMAGE, initialize=False, score_weight=0.8)
    X = data(IMAGE, n=16, seed=1)
    net.fit(X)
    return net, X


def test_predict_returns_one_score_per_sample(fitted):
    net, X = fitted
    scores = net.predict(X)
    assert scores.shape == (len(X),)
    assert scores.dtype == np.float32
    assert np.all(np.isfinite(scores))
    assert np.all(scores >= 0)


def test_predict_is_the_eval_mode_anomaly_score(fitted):
    net, X = fitted
    g, d = net.module_.eval(), net.discriminator_.eval()
    x = torch.from_numpy(X)
    with torch.no_grad():
        fake = g(x)
        expected = anomaly_score(x, fake, d(x)[1], d(fake)[1], weight=0.8)
    np.testing.assert_allclose(net.predict(X), expected.numpy(), rtol=1e-5, atol=1e-7)


def test_eval_scores_do_not_depend_on_the_batch(fitted):
    net, X = fitted
    full = net.predict(X)
    alone = np.concatenate([net.predict(X[i : i + 1]) for i in range(3)])
    np.testing.assert_allclose(alone, full[:3], rtol=0, atol=1e-6)
    perm = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_allclose(net.predict(X[perm]), full[perm], rtol=0, atol=1e-6)


def test_train_mode_scores_depend_on_the_batch():
    torch.manual_seed(0)
    net = make_net(IMAGE, initialize=False, batch_size=16)
    X = data(IMAGE, n=16, seed=1)
    net.fit(X)
    head = net.forward(X[:4], training=True).detach().numpy()
    mixed = np.concatenate([X[:4], 3 * X[4:8]])
    head_mixed = net.forward(mixed, training=True).detach().numpy()[:4]
    assert head.shape == (4,)
    assert np.all(np.isfinite(head))
    assert not np.allclose(head, head_mixed, rtol=1e-3)


def test_train_mode_score_matches_official_separate_d_batches():
    torch.manual_seed(0)
    net = make_net(IMAGE, initialize=False, batch_size=16)
    X = data(IMAGE, n=8, seed=1)
    net.fit(X)
    # Compute the official score first: forward(training=True) moves BN stats.
    g, d = net.module_.train(), net.discriminator_.train()
    x = torch.from_numpy(X)
    with torch.no_grad():
        fake = g(x)
        official = anomaly_score(x, fake, d(x)[1], d(fake)[1], net.score_weight)
    scores = net.forward(X, training=True).detach()
    torch.testing.assert_close(scores, official, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Determinism


def _seeded_scores(seed, shuffle_seed, shape=IMAGE):
    X = data(shape, n=16, seed=2)
    torch.manual_seed(seed)
    net = make_net(
        shape,
        initialize=False,
        max_epochs=2,
        iterator_train__shuffle=True,
        iterator_train__generator=torch.Generator().manual_seed(shuffle_seed),
    )
    net.fit(X)
    return net.predict(X)


def test_same_seeds_give_identical_scores():
    a = _seeded_scores(0, 1)
    b = _seeded_scores(0, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _seeded_scores(1, 1))
    assert not np.array_equal(a, _seeded_scores(0, 2))


# ---------------------------------------------------------------------------
# The shared step, checked against a straightforward official step


# An image net by default, with loss weights other than the defaults.
def make_weighted_net(shape=IMAGE, **kwargs):
    return tiny_net(
        shape,
        **{
            "criterion__adversarial_weight": W_ADV,
            "criterion__contextual_weight": W_CON,
            "criterion__latent_weight": W_LAT,
            **kwargs,
        },
    )


def image_data(shape=IMAGE, n=8, seed=0):
    return uniform_inputs(shape, n, seed)


def official_bce(probability, target):
    # The official Sigmoid + BCELoss, not the logits form the package uses.
    return F.binary_cross_entropy(probability, torch.full_like(probability, target))


def official_step(g, d, opt_g, opt_d, x):
    """The official "g_first" step (spec 6): one G forward, three D forwards."""
    fake = g(x)
    logit_real, f_real = d(x)
    logit_fake, f_fake = d(fake)
    opt_g.zero_grad()
    loss_g = (
        W_ADV * official_bce(torch.sigmoid(logit_fake), 1.0)
        + W_CON * F.l1_loss(fake, x)
        + W_LAT * F.mse_loss(f_fake, f_real)
    )
    loss_g.backward(retain_graph=True)
    grads_g = [p.grad.clone() for p in g.parameters()]
    opt_g.step()
    opt_d.zero_grad()
    logit_fake, f_fake = d(fake.detach())
    loss_d = (
        official_bce(torch.sigmoid(logit_real), 1.0)
        + official_bce(torch.sigmoid(logit_fake), 0.0)
        + W_LAT * F.mse_loss(f_fake, f_real)
    )
    loss_d.backward()
    grads_d = [p.grad.clone() for p in d.parameters()]
    opt_d.step()
    return grads_g, grads_d, loss_g.item(), loss_d.item()


def _record_grads(net, monkeypatch):
    seen = {}
    for name, module, opt in (
        ("g", net.module_, net.optimizer_),
        ("d", net.discriminator_, net.optimizer_d_),
    ):
        step = opt.step

        def wrapped(*args, name=name, module=module, step=step, **kwargs):
            seen[name] = [p.grad.clone() for p in module.parameters()]
            return step(*args, **kwargs)

        monkeypatch.setattr(opt, "step", wrapped)
    return seen


def _assert_all_close(got, want, **tol):
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("shape", [DENSE, IMAGE])
def test_shared_step_equals_the_official_step(shape, monkeypatch):
    torch.manual_seed(0)
    net = make_weighted_net(shape)
    g, d = copy.deepcopy(net.module_), copy.deepcopy(net.discriminator_)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    seen = _record_grads(net, monkeypatch)
    for seed in range(3):  # later steps also check the Adam state
        x = torch.from_numpy(image_data(shape, seed=seed))
        net.history.new_epoch()
        net.history.new_batch()
        net.train_step((x, None))
        grads_g, grads_d, _, loss_d = official_step(g, d, opt_g, opt_d, x)

        _assert_all_close(seen["g"], grads_g, rtol=1e-4, atol=1e-6)
        _assert_all_close(seen["d"], grads_d, rtol=1e-4, atol=1e-6)
        batch = net.history[-1, "batches", -1]
        assert batch["loss_d"] == pytest.approx(loss_d, rel=1e-5)
        _assert_all_close(list(net.module_.parameters()), list(g.parameters()))
        _assert_all_close(list(net.discriminator_.parameters()), list(d.parameters()))
        # Running statistics moved as after the official three D forwards.
        _assert_all_close(list(net.discriminator_.buffers()), list(d.buffers()))
        _assert_all_close(list(net.module_.buffers()), list(g.buffers()))


def test_running_statistics_are_updated_three_times_per_step():
    net = make_weighted_net(IMAGE)
    norms = [
        m for m in net.discriminator_.modules() if isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert norms
    net.history.new_epoch()
    net.history.new_batch()
    net.train_step((torch.from_numpy(image_data()), None))
    assert all(int(m.num_batches_tracked) == 3 for m in norms)


def test_adam_is_fused_by_default_and_can_be_unfused():
    net = make_weighted_net()
    assert net.optimizer_.defaults["fused"] is True
    assert net.optimizer_d_.defaults["fused"] is True
    net = make_weighted_net(optimizer__fused=False)
    assert not net.optimizer_.defaults["fused"]


# ---------------------------------------------------------------------------
# Precision


def test_bf16_trains_and_scores_finite():
    X = image_data(n=16)
    torch.manual_seed(0)
    net = make_weighted_net(initialize=False, precision="bf16").fit(X)
    assert net.precision_ == "bf16"
    losses = [b["loss_d"] for b in net.history[-1, "batches"]]
    assert np.all(np.isfinite(losses))
    scores = net.predict(X)
    assert scores.dtype == np.float32
    assert np.all(np.isfinite(scores))


def test_bf16_runs_the_forward_passes_in_bf16(monkeypatch):
    seen = []
    net = make_weighted_net(precision="bf16")
    net.module_.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    net.predict(image_data())
    assert seen == [torch.bfloat16]
