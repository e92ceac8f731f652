"""Generator and discriminator: sizes, layer layout, skips, fast paths, init.

References are the official network (spec sections 3-5), rebuilt here from raw
``torch.nn.functional`` calls on the modules' own weights.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_sganomaly._networks import (
    Discriminator,
    UNetGenerator,
    _Conv2d,
    _ConvTranspose2d,
    _InnermostConv2d,
    _InnermostConvTranspose2d,
    _KernelCentre,
    _WholeInputConv2d,
    init_dcgan_weights,
)

SLOPE = 0.2


pytestmark = pytest.mark.usefixtures("single_thread")


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def n_padding_taps(module):
    """Official kernel taps that only ever meet padding, which are not stored:
    12 of the 16 of each innermost kernel, whose 4 central taps are kept."""
    return sum(3 * m.weight.numel() for m in module.modules()
               if isinstance(m, _KernelCentre))  # fmt: skip


def official_kernel(layer, seed=0):
    """The official 4x4 kernel of ``layer``: for an innermost layer, its 2x2
    kernel as the centre and random outer taps, which must not matter."""
    w = layer.weight
    if tuple(w.shape[2:]) == (4, 4):
        return w
    gen = torch.Generator().manual_seed(seed)
    kernel = torch.randn(*w.shape[:2], 4, 4, generator=gen).to(w.dtype)
    kernel[:, :, 1:3, 1:3] = w
    return kernel


def randomize_batchnorm(module, seed=0):
    """Give every BatchNorm non-trivial affine parameters and running stats."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.3 * torch.randn(n, generator=gen))
                m.bias.copy_(0.3 * torch.randn(n, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(n, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(n, generator=gen))


def randomize_weights(module, seed=0):
    """Variance-preserving weights, so that no path of the network is negligible."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.ConvTranspose2d):
                # 4 of the 16 taps reach each output; 1 of an innermost 2x2.
                fan_in = m.in_channels * (m.kernel_size[0] // m.stride[0]) ** 2
            elif isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
            elif isinstance(m, nn.Linear):
                fan_in = m.in_features
            else:
                continue
            m.weight.normal_(0.0, fan_in**-0.5, generator=gen)
            if m.bias is not None:
                m.bias.normal_(0.0, 0.1, generator=gen)


# ---------------------------------------------------------------------------
# Parameter counts (spec 3.3 and 4.1)


@pytest.mark.parametrize(
    ("shape", "n_g", "n_d"),
    [
        ((3, 32, 32), 16_659_075, 1_069_700),
        ((3, 64, 64), 29_244_035, 3_577_476),
        # D for one channel: the first conv has 1*64*16 weights instead of 3*64*16.
        ((1, 32, 32), 16_652_929, 1_069_700 - 2 * 64 * 16),
    ],
)
def test_parameter_counts_match_official(shape, n_g, n_d):
    g = UNetGenerator(shape)
    assert n_params(g) + n_padding_taps(g) == n_g
    assert n_params(Discriminator(shape)) == n_d


def test_generator_stores_the_official_kernels_but_their_padding_taps():
    g = UNetGenerator((3, 32, 32))
    assert n_padding_taps(g) == 2 * 512 * 512 * 12
    assert n_params(g) == 10_367_619


def test_official_counts_need_default_width_and_latent_dim():
    assert n_params(UNetGenerator((3, 32, 32), width=32)) != 16_659_075
    assert n_params(Discriminator((3, 32, 32), latent_dim=50)) != 1_069_700
    # 100 features: the last conv is 256*100*16, the k3 classifier 100*9.
    d = Discriminator((3, 32, 32))
    assert d.features[-1].weight.shape == (100, 256, 4, 4)
    assert d.classifier.weight.shape == (1, 100, 3, 3)


def test_construction_applies_dcgan_init():
    g = UNetGenerator((3, 32, 32))
    weights = torch.cat(
        [
            m.weight.flatten()
            for m in g.modules()
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
        ]
    )
    assert abs(weights.mean().item()) < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert torch.count_nonzero(g.up[0].bias) == 0


# ---------------------------------------------------------------------------
# Shapes


@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("size", [32, 64])
def test_image_output_shapes(n_channels, size):
    torch.manual_seed(0)
    shape = (n_channels, size, size)
    g = UNetGenerator(shape, width=4)
    d = Discriminator(shape, width=4, latent_dim=7)
    x = torch.randn(3, *shape)
    fake = g(x)
    assert fake.shape == x.shape
    logit, features = d(x)
    assert logit.shape == (3,)
    assert features.shape == (3, 7)
    assert len(g.down) == len(g.up) == int(math.log2(size))


@pytest.mark.parametrize("n_features", [1, 5, 17])
@pytest.mark.parametrize("width", [1, 8])
def test_dense_output_shapes(n_features, width):
    torch.manual_seed(0)
    g = UNetGenerator((n_features,), width=width)
    d = Discriminator((n_features,), width=width, latent_dim=6)
    x = torch.randn(4, n_features)
    assert g(x).shape == x.shape
    logit, features = d(x)
    assert logit.shape == (4,)
    assert features.shape == (4, 6)


@pytest.mark.parametrize("shape", [(1, 32, 32), (4,)])
def test_generator_output_is_tanh_bounded(shape):
    torch.manual_seed(0)
    g = UNetGenerator(shape, width=4)
    with torch.no_grad():
        g.up[0].bias.fill_(5.0)  # without a Tanh the output would exceed 1
        out = g(100 * torch.randn(4, *shape))
    assert out.abs().max() <= 1.0
    assert out.abs().max() > 0.99


@pytest.mark.parametrize("size", [16, 48, 33])
@pytest.mark.parametrize("network", [UNetGenerator, Discriminator])
def test_invalid_image_size_raises(network, size):
    with pytest.raises(ValueError, match=rf"\b{size}\b"):
        network((3, size, size), width=4)


@pytest.mark.parametrize("shape", [(3, 32, 64), (3, 32, 33)])
@pytest.mark.parametrize("network", [UNetGenerator, Discriminator])
def test_non_square_image_shape_raises(network, shape):
    with pytest.raises(ValueError, match=str(shape[2])):
        network(shape, width=4)


# ---------------------------------------------------------------------------
# Layer layout (spec 3.1, 3.2, 4.1)


def _layer_and_norm(block):
    if isinstance(block, nn.Sequential):
        assert len(block) == 2
        return block[0], block[1]
    return block, None


@pytest.mark.parametrize(
    ("shape", "norm_type"),
    [((3, 32, 32), nn.BatchNorm2d), ((3, 64, 64), nn.BatchNorm2d), ((5,), None)],
)
def test_generator_norms_and_biases(shape, norm_type):
    norm_type = norm_type or nn.BatchNorm1d
    g = UNetGenerator(shape, width=8)
    n = len(g.down)
    for k, block in enumerate(g.down):
        layer, norm = _layer_and_norm(block)
        assert layer.bias is None
        if k in (0, n - 1):  # first and innermost encoder layers
            assert norm is None, k
        else:
            assert isinstance(norm, norm_type), k
    for k, block in enumerate(g.up):
        layer, norm = _layer_and_norm(block)
        if k == 0:  # output layer: bias, no norm
            assert norm is None
            assert layer.bias is not None
        else:
            assert isinstance(norm, norm_type), k
            assert layer.bias is None
    biased = [
        m
        for m in g.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)
        and m.bias is not None
    ]
    assert biased == [_layer_and_norm(g.up[0])[0]]
    assert not any(isinstance(m, nn.Dropout) for m in g.modules())


def test_generator_channel_layout_at_32():
    g = UNetGenerator((3, 32, 32))
    down = [_layer_and_norm(b)[0] for b in g.down]
    up = [_layer_and_norm(b)[0] for b in g.up]
    assert [(m.in_channels, m.out_channels) for m in down] == [
        (3, 64),
        (64, 128),
        (128, 256),
        (256, 512),
        (512, 512),
    ]
    # up[k] maps level k+1 back to level k, reading cat([skip_k, d_{k+1}]).
    assert [(m.in_channels, m.out_channels) for m in up] == [
        (128, 3),
        (256, 64),
        (512, 128),
        (1024, 256),
        (512, 512),
    ]
    for m in [*down[:-1], *up[:-1]]:
        assert (m.kernel_size, m.stride, m.padding) == ((4, 4), (2, 2), (1, 1))
    # The innermost layers keep the central 2x2 of the official 4x4 kernels.
    for m in (down[-1], up[-1]):
        assert isinstance(m, _KernelCentre)
        assert (m.kernel_size, m.stride, m.padding) == ((2, 2), (2, 2), (0, 0))


@pytest.mark.parametrize("size", [32, 64])
def test_discriminator_layout(size):
    d = Discriminator((3, size, size), width=8, latent_dim=10)
    kinds = [type(m) for m in d.features]
    stage = [nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU]
    n_stages = int(math.log2(size)) - 3
    # The last layer is a convolution that runs as a matrix product.
    assert kinds == [nn.Conv2d, nn.LeakyReLU, *stage * n_stages, _WholeInputConv2d]
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is None for m in convs)
    assert all(m.negative_slope == SLOPE for m in d.features[1::3])
    last = d.features[-1]
    assert (last.kernel_size, last.stride, last.padding) == ((4, 4), (1, 1), (0, 0))


def test_dense_discriminator_layout():
    d = Discriminator((5,), width=8, latent_dim=6)
    kinds = [type(m) for m in d.features]
    assert kinds == [
        nn.Linear,
        nn.LeakyReLU,
        nn.Linear,
        nn.BatchNorm1d,
        nn.LeakyReLU,
        nn.Linear,
    ]
    assert all(m.bias is None for m in d.modules() if isinstance(m, nn.Linear))


def test_discriminator_features_have_no_activation():
    # f(x) is the raw last conv output: it takes negative values.
    torch.manual_seed(0)
    d = Discriminator((1, 32, 32), width=4, latent_dim=16)
    _, features = d(torch.randn(4, 1, 32, 32))
    assert (features < 0).any()
    assert (features > 0).any()


def test_discriminator_logit_is_centre_tap_of_classifier():
    torch.manual_seed(0)
    d = Discriminator((1, 32, 32), width=4, latent_dim=5).eval()
    logit, features = d(torch.randn(3, 1, 32, 32))
    centre = d.classifier.weight[0, :, 1, 1]
    torch.testing.assert_close(logit, features @ centre)


# ---------------------------------------------------------------------------
# Skip semantics and a from-scratch reference forward (spec 3.1/3.2)


def _ref_layer(module, h, training):
    layer, norm = _layer_and_norm(module)
    w = official_kernel(layer) if h.dim() == 4 else layer.weight
    b = layer.bias
    if isinstance(layer, nn.ConvTranspose2d):
        out = F.conv_transpose2d(h, w, b, stride=2, padding=1)
    elif isinstance(layer, nn.Conv2d):
        out = F.conv2d(h, w, b, stride=2, padding=1)
    else:
        out = F.linear(h, w, b)
    if norm is None:
        return out
    if training:
        return F.batch_norm(
            out, None, None, norm.weight, norm.bias, training=True, eps=norm.eps
        )
    return F.batch_norm(
        out, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps
    )


def reference_generator(g, x, *, training, skip="activated"):
    """U-Net forward of spec 3.1, with the skip tensors chosen by ``skip``."""
    n = len(g.down)
    e = [_ref_layer(g.down[0], x, training)]
    for k in range(1, n):
        e.append(_ref_layer(g.down[k], F.leaky_relu(e[-1], SLOPE), training))
    if x.dim() == 4:
        assert e[-1].shape[-2:] == (1, 1)  # 1x1 bottleneck
    h = _ref_layer(g.up[n - 1], F.relu(e[-1]), training)
    for k in range(n - 2, -1, -1):
        if skip == "activated":
            s = F.leaky_relu(e[k], SLOPE)
        elif skip == "zero":
            s = torch.zeros_like(e[k])
        else:
            raise AssertionError(skip)
        h = _ref_layer(g.up[k], F.relu(torch.cat([s, h], dim=1)), training)
    return torch.tanh(h)


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 64, 64), (6,)])
@pytest.mark.parametrize("training", [False, True])
def test_generator_matches_reference_forward(shape, training):
    torch.manual_seed(0)
    g = UNetGenerator(shape, width=4)
    randomize_weights(g)
    randomize_batchnorm(g)
    g.train(training)
    x = torch.randn(4, *shape)
    with torch.no_grad():
        expected = reference_generator(g, x, training=training)
        actual = g(x)
        # The skips matter: dropping them changes the output.
        no_skip = reference_generator(g, x, training=training, skip="zero")
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(actual, no_skip, atol=1e-3)


@pytest.mark.parametrize("shape", [(3, 32, 32), (5,)])
def test_skips_concatenate_leaky_relu_of_encoder_output(shape, monkeypatch):
    """The skip half of each concatenation is LeakyReLU(0.2)(e_k), not e_k.

    The decoder's ReLU makes both choices give the same G(x) (ReLU(LReLU(e)) ==
    ReLU(e)), so the concatenated tensors themselves are checked.
    """
    torch.manual_seed(0)
    g = UNetGenerator(shape, width=4).eval()
    randomize_batchnorm(g)
    encoder_out = {}
    for k, block in enumerate(g.down):
        block.register_forward_hook(
            lambda _m, _i, out, k=k: encoder_out.__setitem__(k, out.detach())
        )
    concatenated = []
    real_cat = torch.cat

    def spy_cat(tensors, *args, **kwargs):
        concatenated.append([t.detach() for t in tensors])
        return real_cat(tensors, *args, **kwargs)

    monkeypatch.setattr(torch, "cat", spy_cat)
    with torch.no_grad():
        g(torch.randn(4, *shape))
    monkeypatch.undo()

    n = len(g.down)
    assert len(concatenated) == n - 1  # a skip at every level but the innermost
    # Deepest level first: the k-th concatenation joins level n - 2 - k.
    for parts, k in zip(concatenated, range(n - 2, -1, -1), strict=True):
        skip, decoded = parts
        e_k = encoder_out[k]
        assert (e_k < 0).any()
        torch.testing.assert_close(skip, F.leaky_relu(e_k, SLOPE))
        assert not torch.allclose(skip, e_k)
        assert decoded.shape == skip.shape


# ---------------------------------------------------------------------------
# Bottleneck fast paths


def _grads(out, *tensors, seed=1):
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    return torch.autograd.grad(out, tensors, upstream)


@pytest.mark.parametrize(
    ("layer", "reference", "size", "out_size"),
    [
        (_Conv2d, F.conv2d, 4, 2),
        (_ConvTranspose2d, F.conv_transpose2d, 2, 4),
    ],
    ids=["conv-4x4", "conv-transpose-2x2"],
)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_bottleneck_fast_path_matches_the_convolution(
    layer, reference, size, out_size, bias, batch
):
    torch.manual_seed(0)
    conv = layer(6, 5, 4, 2, 1, bias=bias)
    if bias:
        nn.init.normal_(conv.bias)
    x = torch.randn(batch, 6, size, size, requires_grad=True)
    w = conv.weight.detach().clone().requires_grad_()
    b = conv.bias.detach().clone().requires_grad_() if bias else None

    out = conv(x)
    ref = reference(x, w, b, stride=2, padding=1)
    assert out.shape == ref.shape == (batch, 5, out_size, out_size)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)

    params = [conv.weight, conv.bias] if bias else [conv.weight]
    ref_params = [w, b] if bias else [w]
    got = _grads(out, x, *params)
    want = _grads(ref, x, *ref_params)
    for g_got, g_want in zip(got, want, strict=True):
        torch.testing.assert_close(g_got, g_want, atol=1e-5, rtol=1e-5)


INNERMOST = pytest.mark.parametrize(
    ("layer", "official", "reference", "size"),
    [
        (_InnermostConv2d, nn.Conv2d, F.conv2d, 2),
        (_InnermostConvTranspose2d, nn.ConvTranspose2d, F.conv_transpose2d, 1),
    ],
    ids=["conv-2x2", "conv-transpose-1x1"],
)


@INNERMOST
@pytest.mark.parametrize("batch", [1, 3])
def test_innermost_layers_match_the_official_layer(
    layer, official, reference, size, batch
):
    torch.manual_seed(0)
    conv = layer(6, 5)
    x = torch.randn(batch, 6, size, size, requires_grad=True)
    w = official_kernel(conv).detach().requires_grad_()

    out = conv(x)
    ref = reference(x, w, stride=2, padding=1)
    assert out.shape == ref.shape == (batch, 5, 3 - size, 3 - size)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    got_x, got_w = _grads(out, x, conv.weight)
    want_x, want_w = _grads(ref, x, w)
    torch.testing.assert_close(got_x, want_x, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_w, want_w[:, :, 1:3, 1:3], atol=1e-5, rtol=1e-5)
    # The official outer taps get zero gradients: they only meet padding.
    outer = torch.ones(4, 4, dtype=torch.bool)
    outer[1:3, 1:3] = False
    assert torch.count_nonzero(want_w[:, :, outer]) == 0


@INNERMOST
def test_innermost_layers_draw_the_official_kernel_centre(
    layer, official, reference, size
):
    # Construction and DCGAN initialisation draw exactly what the official
    # layer draws, so a seed gives the same network as the official one.
    torch.manual_seed(0)
    ref = official(6, 5, 4, 2, 1, bias=False)
    after_construction = torch.get_rng_state()
    ref.apply(init_dcgan_weights)
    after_init = torch.get_rng_state()
    torch.manual_seed(0)
    conv = layer(6, 5)
    assert torch.equal(torch.get_rng_state(), after_construction)
    torch.manual_seed(1)
    ref_init = ref.weight.detach().clone()
    ref.apply(init_dcgan_weights)
    torch.manual_seed(1)
    conv.apply(init_dcgan_weights)
    assert torch.equal(conv.weight, ref.weight[:, :, 1:3, 1:3])
    assert not torch.equal(ref.weight, ref_init)
    assert not torch.equal(after_construction, after_init)


def test_adam_never_moves_official_taps_that_meet_only_padding():
    # Why the innermost layers need not store them: in the official network
    # their gradients are zero, so Adam's moments, and its updates, stay zero.
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, 4, 2, 1, bias=False)
    before = conv.weight.detach().clone()
    adam = torch.optim.Adam(conv.parameters(), 2e-4, betas=(0.5, 0.999))
    for _ in range(3):
        adam.zero_grad()
        conv(torch.randn(4, 6, 2, 2)).square().sum().backward()
        adam.step()
    moved = conv.weight.detach() != before
    assert moved[:, :, 1:3, 1:3].all()
    moved[:, :, 1:3, 1:3] = False
    assert not moved.any()


@INNERMOST
def test_innermost_layers_load_the_official_kernel(layer, official, reference, size):
    torch.manual_seed(0)
    ref = official(6, 5, 4, 2, 1, bias=False)
    conv = layer(6, 5)
    assert conv.state_dict().keys() == {"weight"}
    # State dicts written before the layers kept only the centre.
    conv.load_state_dict(ref.state_dict())
    assert torch.equal(conv.weight, ref.weight[:, :, 1:3, 1:3])
    with pytest.raises(RuntimeError, match="size mismatch"):
        conv.load_state_dict({"weight": torch.zeros(5, 6, 3, 3)})


@pytest.mark.parametrize("bias", [False, True])
def test_whole_input_convolution_matches_the_convolution(bias):
    torch.manual_seed(0)
    conv = _WholeInputConv2d(6, 5, 4, bias=bias)
    if bias:
        nn.init.normal_(conv.bias)
    x = torch.randn(3, 6, 4, 4, requires_grad=True)
    w = conv.weight.detach().clone().requires_grad_()
    b = conv.bias.detach().clone().requires_grad_() if bias else None

    out = conv(x)
    ref = F.conv2d(x, w, b)
    assert out.shape == ref.shape == (3, 5, 1, 1)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    params = [conv.weight, conv.bias] if bias else [conv.weight]
    got = _grads(out, x, *params)
    want = _grads(ref, x, *([w, b] if bias else [w]))
    for g_got, g_want in zip(got, want, strict=True):
        torch.testing.assert_close(g_got, g_want, atol=1e-5, rtol=1e-5)
    # Larger inputs take the convolution, as nn.Conv2d would.
    bigger = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(conv(bigger), F.conv2d(bigger, conv.weight, conv.bias))


def test_fast_paths_avoid_convolution_kernels(monkeypatch):
    conv = _Conv2d(3, 4, 4, 2, 1, bias=False)
    convt = _ConvTranspose2d(3, 4, 4, 2, 1, bias=True)
    whole = _WholeInputConv2d(3, 4, 4, bias=False)

    def fail(*args, **kwargs):
        raise AssertionError("convolution kernel called on the fast path")

    monkeypatch.setattr(F, "conv2d", fail)
    monkeypatch.setattr(F, "conv_transpose2d", fail)
    assert whole(torch.randn(2, 3, 4, 4)).shape == (2, 4, 1, 1)
    assert _InnermostConv2d(3, 4)(torch.randn(2, 3, 2, 2)).shape == (2, 4, 1, 1)
    assert conv(torch.randn(2, 3, 4, 4)).shape == (2, 4, 2, 2)
    innermost_t = _InnermostConvTranspose2d(3, 4)
    assert innermost_t(torch.randn(2, 3, 1, 1)).shape == (2, 4, 2, 2)
    assert convt(torch.randn(2, 3, 2, 2)).shape == (2, 4, 4, 4)


FAST_PATHS = pytest.mark.parametrize(
    ("make", "size"),
    [
        (lambda: _InnermostConv2d(3, 4), 2),
        (lambda: _Conv2d(3, 4, 4, 2, 1, bias=True), 4),
        (lambda: _InnermostConvTranspose2d(3, 4), 1),
        (lambda: _ConvTranspose2d(3, 4, 4, 2, 1, bias=True), 2),
    ],
    ids=["conv-2x2", "conv-4x4", "conv-transpose-1x1", "conv-transpose-2x2"],
)


@FAST_PATHS
@pytest.mark.parametrize("bf16", [False, True])
def test_fast_paths_use_one_matrix_product_in_inference(make, size, bf16):
    # Without gradients and under autocast, a 2-D @ 3-D matmul becomes a
    # batched product over a broadcast weight, ten times slower in bf16 scoring.
    conv = make()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    with torch.inference_mode(), autocast, torch.profiler.profile() as prof:
        conv(torch.randn(2, 3, size, size))
    ops = {event.key for event in prof.key_averages()}
    assert "aten::mm" in ops or "aten::addmm" in ops
    assert "aten::bmm" not in ops


@FAST_PATHS
def test_fast_paths_keep_the_autocast_dtype(make, size):
    # Under bf16 autocast the fast paths must hand on what a convolution
    # would, not a float32 tensor (the transposed one sums in float32).
    conv = make()
    x = torch.randn(2, 3, size, size)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv(x).dtype == torch.bfloat16


@pytest.mark.parametrize("size", [3, 8])
def test_conv2d_other_sizes_match_nn_conv2d(size):
    torch.manual_seed(0)
    conv = _Conv2d(3, 4, 4, 2, 1, bias=True)
    ref = nn.Conv2d(3, 4, 4, 2, 1, bias=True)
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(2, 3, size, size)
    torch.testing.assert_close(conv(x), ref(x))


@pytest.mark.parametrize("size", [3, 4])
def test_conv_transpose2d_other_sizes_match_nn_conv_transpose2d(size):
    torch.manual_seed(0)
    conv = _ConvTranspose2d(3, 4, 4, 2, 1, bias=True)
    ref = nn.ConvTranspose2d(3, 4, 4, 2, 1, bias=True)
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(2, 3, size, size)
    torch.testing.assert_close(conv(x), ref(x))


def test_fast_path_layers_keep_the_torch_state_dict():
    whole = _WholeInputConv2d(3, 4, 4, bias=False)
    assert whole.state_dict().keys() == {"weight"}
    assert whole.weight.shape == (4, 3, 4, 4)
    conv = _Conv2d(3, 4, 4, 2, 1, bias=False)
    convt = _ConvTranspose2d(3, 4, 4, 2, 1, bias=True)
    assert (
        conv.state_dict().keys()
        == nn.Conv2d(3, 4, 4, 2, 1, bias=False).state_dict().keys()
    )
    assert convt.state_dict().keys() == {"weight", "bias"}
    assert convt.weight.shape == (3, 4, 4, 4)


# ---------------------------------------------------------------------------
# DCGAN initialisation (spec 5)


@pytest.mark.parametrize(
    "layer",
    [
        nn.Conv2d(128, 128, 4),
        nn.ConvTranspose2d(128, 128, 4),
        nn.Linear(512, 512),
    ],
    ids=["conv", "conv_transpose", "linear"],
)
def test_dcgan_init_weights_and_biases(layer):
    torch.manual_seed(0)
    with torch.no_grad():
        layer.weight.fill_(3.0)
        layer.bias.fill_(3.0)
    layer.apply(init_dcgan_weights)
    w = layer.weight.detach()
    assert abs(w.mean().item()) < 1e-3
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize("norm_type", [nn.BatchNorm1d, nn.BatchNorm2d])
def test_dcgan_init_batchnorm_keeps_running_stats(norm_type):
    torch.manual_seed(0)
    bn = norm_type(20_000)
    with torch.no_grad():
        bn.weight.fill_(7.0)
        bn.bias.fill_(7.0)
        bn.running_mean.fill_(3.0)
        bn.running_var.fill_(5.0)
        bn.num_batches_tracked.fill_(11)
    bn.apply(init_dcgan_weights)
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=1e-3)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.count_nonzero(bn.bias) == 0
    assert torch.all(bn.running_mean == 3.0)
    assert torch.all(bn.running_var == 5.0)
    assert bn.num_batches_tracked.item() == 11


def test_dcgan_init_on_a_trained_discriminator_keeps_buffers():
    torch.manual_seed(0)
    d = Discriminator((1, 32, 32), width=4, latent_dim=8)
    d(torch.randn(6, 1, 32, 32))  # train mode: running stats move
    buffers = {k: v.clone() for k, v in d.named_buffers()}
    params = {k: v.detach().clone() for k, v in d.named_parameters()}
    assert any(
        k.endswith("running_mean") and v.abs().sum() > 0 for k, v in buffers.items()
    )
    d.apply(init_dcgan_weights)
    for k, v in d.named_buffers():
        assert torch.equal(v, buffers[k]), k
    assert any(not torch.equal(v, params[k]) for k, v in d.named_parameters())


@pytest.mark.parametrize("shape", [(1, 32, 32), (6,)])
def test_skip_dropout_leaves_eval_mode_and_p0_training_unchanged(shape):
    torch.manual_seed(0)
    plain = UNetGenerator(shape, width=4)
    cut = UNetGenerator(shape, width=4, skip_dropout=0.5)
    cut.load_state_dict(plain.state_dict())
    x = torch.randn(6, *shape)
    with torch.no_grad():
        torch.testing.assert_close(cut.eval()(x), plain.eval()(x), rtol=0, atol=0)
        plain.train()
        state = torch.get_rng_state()
        plain(x)
        # p = 0 draws nothing: the paper's network trains as without the option.
        assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("skip_shape", [(64, 3, 4, 4), (64, 5)])
def test_skip_dropout_keeps_or_cuts_a_whole_skip_per_sample(skip_shape):
    g = UNetGenerator((6,), width=4, skip_dropout=0.25).train()
    torch.manual_seed(0)
    out = g._cut(torch.ones(skip_shape))
    per_sample = out.flatten(1)
    kept = per_sample[:, 0] > 0
    # Each sample's skip is all zero or all 1 / (1 - p), both seen in 64 draws.
    assert torch.equal(per_sample[kept], torch.full_like(per_sample[kept], 4 / 3))
    assert torch.equal(per_sample[~kept], torch.zeros_like(per_sample[~kept]))
    assert 0 < int((~kept).sum()) < 64
