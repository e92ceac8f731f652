"""The optimised training and scoring paths compute what the plain ones compute.

``SkipGANomalyNet``'s "g_first" step runs the discriminator twice per step (on x
and on G(x)) where the official step runs it three times, differentiates each
loss only with respect to its own network, and steps fused Adam optimizers. These
tests compare it with a straightforward official step: gradients, updated
weights and BatchNorm running statistics. The running statistics of D are updated
three times per step in both, as in the official code: the update of the shared
forward on G(x) is applied twice.
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_net, uniform_inputs

from sklearn_sganomaly._training import resolve_precision
from sklearn_sganomaly._training._data import _Batches, _Tensors

DENSE = (5,)
IMAGE = (1, 32, 32)
W_ADV, W_CON, W_LAT = 1.5, 7.0, 3.0


pytestmark = pytest.mark.usefixtures("single_thread")


def make_net(shape=IMAGE, **kwargs):
    return tiny_net(
        shape,
        **{
            "criterion__adversarial_weight": W_ADV,
            "criterion__contextual_weight": W_CON,
            "criterion__latent_weight": W_LAT,
            **kwargs,
        },
    )


def data(shape=IMAGE, n=8, seed=0):
    return uniform_inputs(shape, n, seed)


def bce(probability, target):
    # The official Sigmoid + BCELoss, not the logits form the package uses.
    return F.binary_cross_entropy(probability, torch.full_like(probability, target))


def official_step(g, d, opt_g, opt_d, x):
    """The official "g_first" step (spec 6): one G forward, three D forwards."""
    fake = g(x)
    logit_real, f_real = d(x)
    logit_fake, f_fake = d(fake)
    opt_g.zero_grad()
    loss_g = (
        W_ADV * bce(torch.sigmoid(logit_fake), 1.0)
        + W_CON * F.l1_loss(fake, x)
        + W_LAT * F.mse_loss(f_fake, f_real)
    )
    loss_g.backward(retain_graph=True)
    grads_g = [p.grad.clone() for p in g.parameters()]
    opt_g.step()
    opt_d.zero_grad()
    logit_fake, f_fake = d(fake.detach())
    loss_d = (
        bce(torch.sigmoid(logit_real), 1.0)
        + bce(torch.sigmoid(logit_fake), 0.0)
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
    net = make_net(shape)
    g, d = copy.deepcopy(net.module_), copy.deepcopy(net.discriminator_)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    seen = _record_grads(net, monkeypatch)
    for seed in range(3):  # later steps also check the Adam state
        x = torch.from_numpy(data(shape, seed=seed))
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
    net = make_net(IMAGE)
    norms = [
        m for m in net.discriminator_.modules() if isinstance(m, torch.nn.BatchNorm2d)
    ]
    assert norms
    net.history.new_epoch()
    net.history.new_batch()
    net.train_step((torch.from_numpy(data()), None))
    assert all(int(m.num_batches_tracked) == 3 for m in norms)


def test_adam_is_fused_by_default_and_can_be_unfused():
    net = make_net()
    assert net.optimizer_.defaults["fused"] is True
    assert net.optimizer_d_.defaults["fused"] is True
    net = make_net(optimizer__fused=False)
    assert not net.optimizer_.defaults["fused"]


# ---------------------------------------------------------------------------
# Precision


def test_bf16_trains_and_scores_finite():
    X = data(n=16)
    torch.manual_seed(0)
    net = make_net(initialize=False, precision="bf16").fit(X)
    assert net.precision_ == "bf16"
    losses = [b["loss_d"] for b in net.history[-1, "batches"]]
    assert np.all(np.isfinite(losses))
    scores = net.predict(X)
    assert scores.dtype == np.float32
    assert np.all(np.isfinite(scores))


def test_bf16_runs_the_forward_passes_in_bf16(monkeypatch):
    seen = []
    net = make_net(precision="bf16")
    net.module_.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    net.predict(data())
    assert seen == [torch.bfloat16]


def test_auto_precision_resolves_to_fp32_when_the_net_initializes():
    # bf16's effect on ROC AUC is not measured, so "auto" keeps fp32 everywhere.
    net = make_net(precision="auto")
    assert net.precision_ == "fp32"
    assert net.precision == "auto"
    assert make_net(precision="bf16").precision_ == "bf16"


def test_auto_precision_is_fp32_on_every_device():
    for device in ("cpu", "cuda", "mps"):
        assert resolve_precision("auto", device) == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"


def test_unknown_precision_is_rejected():
    with pytest.raises(ValueError, match="precision"):
        make_net(precision="fp16")


# ---------------------------------------------------------------------------
# The batch iterator


def _passes(generator_seed, n=10, batch_size=4, drop_last=False, n_passes=2):
    data = torch.arange(n)
    batches = _Batches(
        _Tensors(data),
        batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(generator_seed),
        drop_last=drop_last,
    )
    return [[b.tolist() for b, _ in batches] for _ in range(n_passes)]


def test_shuffling_is_deterministic_from_the_generator_only():
    state = torch.random.get_rng_state()
    first = _passes(0)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert first == _passes(0)
    assert first != _passes(1)
    assert first[0] != first[1]  # a new order on every pass
    expected = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    assert [i for batch in first[0] for i in batch] == expected.tolist()


@pytest.mark.parametrize(("drop_last", "sizes"), [(False, [4, 4, 2]), (True, [4, 4])])
def test_drop_last_is_honoured(drop_last, sizes):
    for batches in _passes(0, drop_last=drop_last):
        assert [len(b) for b in batches] == sizes
        assert len({i for batch in batches for i in batch}) == sum(sizes)


def test_unshuffled_batches_are_slices_in_order():
    data = torch.arange(10.0)
    batches = list(_Batches(_Tensors(data), 4))
    assert [b.tolist() for b, _ in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].data_ptr() == data.data_ptr()  # a view, not a copy


def test_net_defaults_to_the_slicing_iterator():
    net = make_net(initialize=False)
    assert net.iterator_train is _Batches
    assert net.iterator_valid is _Batches


def test_scoring_batches_bound_memory(monkeypatch):
    """Scoring never holds more than ``batch_size`` rows' activations at once."""
    X = data(n=21)
    torch.manual_seed(0)
    net = make_net(initialize=False, batch_size=4).fit(X[:8])
    sizes = []
    score = net.official_scores
    monkeypatch.setattr(
        net, "official_scores", lambda x: sizes.append(len(x)) or score(x)
    )
    scores = net.predict(X)
    assert sizes == [4, 4, 4, 4, 4, 1]
    assert scores.shape == (21,)
    # The array to score is wrapped, not copied (nor moved as a whole).
    assert net.get_dataset(X).data.data_ptr() == X.ctypes.data
