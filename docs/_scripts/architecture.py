"""Draw the Skip-GANomaly architecture (run by the plot directive at build time)."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

fig, ax = plt.subplots(figsize=(11, 5.2))
ax.set_xlim(0, 22.4)
ax.set_ylim(0, 11.3)
ax.axis("off")


def block(x, y, w, h, text, color):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=color, edgecolor="0.2", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)


def arrow(x0, y0, x1, y1, style="-|>", color="0.2", ls="-"):
    ax.add_patch(
        FancyArrowPatch(
            (x0, y0),
            (x1, y1),
            arrowstyle=style,
            mutation_scale=10,
            color=color,
            lw=1.2,
            linestyle=ls,
        )
    )


# Encoder (left column going down) and decoder (right column going up).
enc = [
    "Conv 3→64\n32×32→16×16",
    "Conv 64→128\n+BN, 8×8",
    "Conv 128→256\n+BN, 4×4",
    "Conv 256→512\n+BN, 2×2",
    "Conv 512→512\n1×1 (bottleneck)",
]
dec = [
    "ConvT 128→3\nTanh, 32×32",
    "ConvT 256→64\n+BN, 16×16",
    "ConvT 512→128\n+BN, 8×8",
    "ConvT 1024→256\n+BN, 4×4",
    "ConvT 512→512\n+BN, 2×2",
]
ys = [8.4, 6.8, 5.2, 3.6, 2.0]
for i, (e, d, y) in enumerate(zip(enc, dec, ys, strict=True)):
    block(2.0, y, 3.0, 1.1, e, "#cfe2f3")
    block(8.5, y, 3.0, 1.1, d, "#d9ead3")
    if i < 4:
        # Skip connection: LeakyReLU-activated encoder features, concatenated.
        arrow(5.0, y + 0.55, 8.5, y + 0.55, color="#b45f06", ls="--")
    if i < 4:
        arrow(3.5, y, 3.5, ys[i + 1] + 1.1)
        arrow(10.0, ys[i + 1] + 1.1, 10.0, y)
arrow(5.0, 2.55, 8.5, 2.55)
ax.text(6.75, 2.75, "ReLU", ha="center", fontsize=8)
ax.text(6.75, 9.6, "skip: concat LReLU(e)", color="#b45f06", ha="center", fontsize=8)
ax.text(
    3.5, 9.85, "generator G (U-Net): encoder", ha="center", fontsize=9, weight="bold"
)
ax.text(10.0, 10.8, "decoder", ha="center", fontsize=9, weight="bold")

# Input and output.
block(0.1, 8.4, 1.4, 1.1, "x", "#fff2cc")
arrow(1.5, 8.95, 2.0, 8.95)
block(12.3, 8.4, 1.4, 1.1, "G(x)", "#fff2cc")
arrow(11.5, 8.95, 12.3, 8.95)

# Discriminator.
block(
    15.0,
    5.6,
    3.2,
    2.4,
    "Discriminator D\n(DCGAN encoder,\nwidth 64)",
    "#f4cccc",
)
arrow(13.7, 8.95, 15.0, 7.4)
ax.plot([0.8, 0.8, 16.6], [9.5, 10.15, 10.15], color="0.2", lw=1.2, ls=":")
arrow(16.6, 10.15, 16.6, 8.0, ls=":")
ax.text(14.0, 10.3, "x (real)", fontsize=8)
block(18.9, 7.0, 3.1, 1.0, "real / fake\n(BCE, adversarial)", "#ead1dc")
block(18.9, 5.0, 3.1, 1.2, "features f(·)\n(100-d, latent loss)", "#ead1dc")
arrow(18.2, 7.2, 18.9, 7.5)
arrow(18.2, 6.2, 18.9, 5.6)

# Losses and score.
ax.text(
    12.5,
    3.2,
    "generator loss:  1·adv  +  50·|x − G(x)|₁  +  1·|f(x) − f(G(x))|²\n"
    "discriminator loss:  BCE(D(x), real) + BCE(D(G(x)), fake) + latent\n"
    "score(x) = 0.9·mean((x − G(x))²) + 0.1·mean((f(x) − f(G(x)))²)",
    fontsize=8.5,
    va="top",
    family="monospace",
)
ax.set_title(
    "Skip-GANomaly at 32×32×3, width=64 (larger images add 512-channel levels)",
    fontsize=10,
)
