# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Skip-GANomaly generator and discriminator, in plain torch.

The convolutional networks follow the official implementation layer by layer (see
``docs/user_guide.rst``): a pix2pix U-Net generator whose skips concatenate the
LeakyReLU-activated encoder features, and a DCGAN discriminator that returns a logit
and its 100-d pre-classifier features. Tabular data gets dense networks of the same
design, with ``Linear`` and ``BatchNorm1d`` in place of convolutions.

Losses live in ``_losses.py``, the anomaly score in ``_scoring.py``, and nothing here
knows about skorch or scikit-learn.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Discriminator", "UNetGenerator", "init_dcgan_weights", "is_image_shape"]

_SLOPE = 0.2
_DENSE_DEPTH = 3


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """Return True for a ``(C, H, W)`` image shape, False for ``(n_features,)``."""
    return len(shape) == 3


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation, applied with ``net.apply(init_dcgan_weights)``.

    Convolutions and linear layers get weights from N(0, 0.02) and zero bias;
    BatchNorm gets scales from N(1, 0.02) and zero shift. Running statistics are
    left alone, as the official discriminator re-initialisation does.
    """
    if isinstance(module, _KernelCentre):
        module.draw_official(nn.init.normal_, 0.0, 0.02)
    elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _image_levels(shape: tuple[int, ...], width: int) -> list[int]:
    _, height, image_width = shape
    if height != image_width or height < 32 or height & (height - 1):
        raise ValueError(
            "Image networks need square images whose side is a power of two "
            f">= 32, got (C, H, W) = {tuple(shape)}."
        )
    n_levels = int(math.log2(height))
    return [width * min(2**k, 8) for k in range(n_levels)]


def _dense_levels(width: int) -> list[int]:
    return [max(width // 2**k, 1) for k in range(_DENSE_DEPTH)]


class _Conv2d(nn.Conv2d):
    """4x4/stride 2/padding 1 convolution, as one matrix product on 4x4 inputs.

    CPU convolution kernels run far below their usual speed on the few pixels
    near the bottom of the U-Net, so the product runs over the unfolded 4x4
    windows. Same output and gradients up to rounding; parameters and state
    dict are those of ``nn.Conv2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (4, 4):
            return super().forward(x)
        # One 2-D product, rows = (sample, output pixel): a 2-D @ 3-D matmul
        # would become a batched product, many times slower in inference.
        windows = F.unfold(x, 4, padding=1, stride=2).transpose(1, 2)
        out = F.linear(windows.flatten(0, 1), self.weight.flatten(1), self.bias)
        return out.view(len(x), 4, -1).transpose(1, 2).unflatten(-1, (2, 2))


class _ConvTranspose2d(nn.ConvTranspose2d):
    """4x4/stride 2/padding 1 transposed convolution, as one matrix product on
    2x2 inputs.

    The mirror of ``_Conv2d``: one matrix product gives every input pixel's
    4x4 output patch, which ``fold`` sums into the 4x4 output (in float32, so
    that overlapping taps round once, as in a convolution kernel).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if tuple(x.shape[-2:]) != (2, 2):
            return super().forward(x)
        pixels = x.flatten(2).transpose(1, 2).reshape(-1, x.shape[1])
        patches = (pixels @ self.weight.flatten(1)).view(len(x), 4, -1)
        patches = patches.transpose(1, 2)  # (batch, C_out * 16, 4)
        out = F.fold(patches.float(), (4, 4), 4, padding=1, stride=2)
        out = out.to(patches.dtype)
        return _add_bias(out, self.bias)


class _WholeInputConv2d(nn.Conv2d):
    """Unpadded convolution whose kernel covers its whole input, as one matrix
    product: the discriminator's last layer, 4x4 features to a 1x1 map.

    CPU convolution kernels run this one-output-pixel case at a fraction of
    their speed on the other layers; same output and gradients up to
    rounding, parameters and state dict those of ``nn.Conv2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.kernel_size:
            return super().forward(x)
        out = F.linear(x.flatten(1), self.weight.flatten(1), self.bias)
        return out[..., None, None]


class _KernelCentre:
    """The central 2x2 taps of an official 4x4/stride 2/padding 1 kernel, as a
    2x2/stride 2 kernel without padding: the U-Net's innermost layers.

    From the 2x2 bottleneck to the 1x1 code and back, only the central taps
    meet pixels; the other 12 of each kernel meet zero padding, so in the
    official network they get zero gradients and Adam never moves them from
    their initial values. They are 6.3 million of its 16.7 million
    parameters, and computing and applying their zero gradients took a tenth
    of a training step. The kernel is drawn as the official 4x4 kernel is
    (``draw_official``), so a seed gives that kernel's centre and training is
    the same to the bit; a state dict holding the 4x4 kernel loads its centre.
    """

    def reset_parameters(self) -> None:
        # nn.Conv2d's own initialisation, drawn over the official kernel.
        self.draw_official(nn.init.kaiming_uniform_, a=math.sqrt(5))

    @torch.no_grad()
    def draw_official(self, init, *args, **kwargs) -> None:
        """Draw the official 4x4 kernel with ``init`` and keep its centre."""
        kernel = self.weight.new_empty(*self.weight.shape[:2], 4, 4)
        init(kernel, *args, **kwargs)
        self.weight.copy_(kernel[:, :, 1:3, 1:3])

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        weight = state_dict.get(prefix + "weight")
        if weight is not None and tuple(weight.shape[2:]) == (4, 4):
            state_dict[prefix + "weight"] = weight[:, :, 1:3, 1:3]
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class _InnermostConv2d(_KernelCentre, _WholeInputConv2d):
    """The encoder's last layer, 2x2 to 1x1, as one matrix product."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__(n_in, n_out, 2, 2, bias=False)


class _InnermostConvTranspose2d(_KernelCentre, nn.ConvTranspose2d):
    """The decoder's first layer, 1x1 to 2x2: each output pixel is one tap."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__(n_in, n_out, 2, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if tuple(x.shape[-2:]) != (1, 1):
            return super().forward(x)
        return (x.flatten(1) @ self.weight.flatten(1)).view(len(x), -1, 2, 2)


def _add_bias(out: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    # In the output's dtype, as a convolution adds it: under autocast a
    # float32 bias would otherwise promote a bf16 output.
    return out if bias is None else out + bias.to(out.dtype)[:, None, None]


def _down(
    n_in: int, n_out: int, *, norm: bool, innermost: bool, image: bool
) -> nn.Module:
    # Bias-free wherever a BatchNorm follows or the official network has none.
    if image:
        layer: nn.Module = (
            _InnermostConv2d(n_in, n_out)
            if innermost
            else _Conv2d(n_in, n_out, 4, 2, 1, bias=False)
        )
        return nn.Sequential(layer, nn.BatchNorm2d(n_out)) if norm else layer
    layer = nn.Linear(n_in, n_out, bias=False)
    return nn.Sequential(layer, nn.BatchNorm1d(n_out)) if norm else layer


def _up(
    n_in: int, n_out: int, *, outermost: bool, innermost: bool, image: bool
) -> nn.Module:
    if image:
        layer: nn.Module = (
            _InnermostConvTranspose2d(n_in, n_out)
            if innermost
            else _ConvTranspose2d(n_in, n_out, 4, 2, 1, bias=outermost)
        )
        return layer if outermost else nn.Sequential(layer, nn.BatchNorm2d(n_out))
    layer = nn.Linear(n_in, n_out, bias=outermost)
    return layer if outermost else nn.Sequential(layer, nn.BatchNorm1d(n_out))


class UNetGenerator(nn.Module):
    """U-Net generator with concatenating skip connections.

    Parameters
    ----------
    shape : tuple of int
        ``(C, H, W)`` with ``H == W`` a power of two >= 32 for the convolutional
        U-Net of the paper, or ``(n_features,)`` for the dense variant.
    width : int, default=64
        Channels of the first encoder level (``ngf`` in the official code). The
        convolutional encoder doubles it per level up to ``8 * width``; the dense
        encoder halves it over three levels.
    skip_dropout : float in [0, 1), default=0.0
        In training only, the probability that a skip connection is cut for a
        sample (its tensor zeroed, the kept ones scaled by ``1 / (1 - p)``), so
        that the decoder cannot rely on copying the input through the skips.
        0 is the paper's network.

    Notes
    -----
    Level ``k`` of the encoder produces ``e_k``; the decoder at that level reads
    ``ReLU(cat([LeakyReLU(e_k), d_{k+1}]))``. The skip carries the *activated*
    encoder tensor because the official code applies its LeakyReLU in place before
    concatenating. There is no norm on the first and the innermost encoder layers,
    and only the output layer has a bias.
    """

    def __init__(
        self, shape: tuple[int, ...], width: int = 64, skip_dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.skip_dropout = skip_dropout
        image = is_image_shape(shape)
        levels = _image_levels(shape, width) if image else _dense_levels(width)
        n_levels = len(levels)
        ins = [shape[0], *levels[:-1]]
        self.down = nn.ModuleList(
            _down(
                ins[k],
                levels[k],
                norm=0 < k < n_levels - 1,
                innermost=k == n_levels - 1,
                image=image,
            )
            for k in range(n_levels)
        )
        # up[k] maps level k+1 back to level k; the innermost reads no skip.
        self.up = nn.ModuleList(
            _up(
                levels[k] if k == n_levels - 1 else 2 * levels[k],
                ins[k],
                outermost=k == 0,
                innermost=k == n_levels - 1,
                image=image,
            )
            for k in range(n_levels)
        )
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct ``x``.

        Parameters
        ----------
        x : Tensor of shape (batch, *shape)
            Input scaled to [-1, 1].

        Returns
        -------
        Tensor of shape (batch, *shape)
            Reconstruction in [-1, 1] (Tanh output).
        """
        skips = []
        h = self.down[0](x)
        for layer in self.down[1:]:
            h = F.leaky_relu(h, _SLOPE)
            skips.append(h)
            h = layer(h)
        h = self.up[-1](F.relu(h))
        for layer, skip in zip(self.up[-2::-1], reversed(skips), strict=True):
            h = layer(F.relu(torch.cat([self._cut(skip), h], dim=1)))
        return torch.tanh(h)

    def _cut(self, skip: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.skip_dropout:
            return skip
        # One draw per sample and skip: the whole tensor is kept or zeroed.
        keep = skip.new_ones((len(skip),) + (1,) * (skip.dim() - 1))
        return skip * F.dropout(keep, self.skip_dropout, training=True)


class Discriminator(nn.Module):
    """DCGAN discriminator returning a logit and latent features.

    Parameters
    ----------
    shape : tuple of int
        ``(C, H, W)`` with ``H == W`` a power of two >= 32, or ``(n_features,)``.
    width : int, default=64
        Channels of the first layer (``ndf``); doubled per stride-2 stage.
    latent_dim : int, default=100
        Size of the feature vector ``f(x)`` used by the latent loss and the score.

    Notes
    -----
    Convolutional: Conv + LeakyReLU, then Conv + BatchNorm + LeakyReLU stages down to
    4x4, then a 4x4 valid convolution to ``latent_dim`` features with no activation.
    The classifier is the official bias-free 3x3 convolution on the 1x1 feature map
    (only its centre tap matters, so it acts as a linear layer); its output is
    returned as a logit, so the Sigmoid lives inside the BCE-with-logits loss.
    """

    def __init__(
        self, shape: tuple[int, ...], width: int = 64, latent_dim: int = 100
    ) -> None:
        super().__init__()
        if is_image_shape(shape):
            _image_levels(shape, width)  # validates the shape
            layers: list[nn.Module] = [
                nn.Conv2d(shape[0], width, 4, 2, 1, bias=False),
                nn.LeakyReLU(_SLOPE),
            ]
            size, channels = shape[1] // 2, width
            while size > 4:
                layers += [
                    nn.Conv2d(channels, 2 * channels, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(2 * channels),
                    nn.LeakyReLU(_SLOPE),
                ]
                size, channels = size // 2, 2 * channels
            layers.append(_WholeInputConv2d(channels, latent_dim, 4, bias=False))
            self.classifier: nn.Module = nn.Conv2d(latent_dim, 1, 3, 1, 1, bias=False)
        else:
            hidden = max(width // 2, 1)
            layers = [
                nn.Linear(shape[0], width, bias=False),
                nn.LeakyReLU(_SLOPE),
                nn.Linear(width, hidden, bias=False),
                nn.BatchNorm1d(hidden),
                nn.LeakyReLU(_SLOPE),
                nn.Linear(hidden, latent_dim, bias=False),
            ]
            self.classifier = nn.Linear(latent_dim, 1, bias=False)
        self.features = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classify ``x`` as real or reconstructed.

        Parameters
        ----------
        x : Tensor of shape (batch, *shape)

        Returns
        -------
        logit : Tensor of shape (batch,)
            Pre-sigmoid "real" score.
        features : Tensor of shape (batch, latent_dim)
            The latent features ``f(x)``.
        """
        features = self.features(x)
        return self.classifier(features).flatten(), features.flatten(1)
