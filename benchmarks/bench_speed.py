"""Speed benchmark of SkipGANomaly training and scoring against a reference loop.

The reference is a straightforward implementation of the official training step
(spec ``skip-ganomaly.md`` section 6) written from the spec: fp32, a standard
``DataLoader`` over a ``TensorDataset``, plain ``nn.Conv2d``/``nn.ConvTranspose2d``
networks of the same architecture, Sigmoid + ``BCELoss``, and three discriminator
forwards per step. Its inference is the official one: train-mode G(x), D(x) and
D(G(x)) as separate batches, then the 0.9/0.1 score. Reference and ours run in the
same process in alternating blocks of steps, so the ratios of their medians hold
even on a noisy shared machine.

Sections (``--sections``):

- ``speed``: train and inference img/s of the reference and of each variant of
  ours, medians over ``--steps`` steps after ``--warmup``, peak memory, ratios.
- ``fit``: ``SkipGANomalyDetector.fit`` end to end versus the time spent inside
  ``train_step``, and fit time versus n_samples.
- ``scoring``: ``decision_function`` on 640 images with each anomaly score
  against the reference inference.
- ``fit-ratio``: ``fit`` end to end (4 epochs of 640 images, its training-score
  pass included) in fp32 and bf16 against the reference training loop.
``--smoke`` runs every section with a few steps on tiny sizes (for CI: it checks
that the benchmark runs and gives finite, positive numbers, not speed targets).
Results are written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import pathlib
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import RSSPeak, machine_info
from torch import nn

from sklearn_sganomaly import SkipGANomalyDetector
from sklearn_sganomaly._training import SkipGANomalyNet, make_net
from sklearn_sganomaly._training._data import _Batches

RESULTS = pathlib.Path(__file__).parent / "results"
SEED = 0

# ---------------------------------------------------------------------------
# Reference implementation, from the spec


def _ref_init(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class RefUNetBlock(nn.Module):
    """One pix2pix U-Net level: ``cat([a, up(down(a))])`` with ``a = LReLU(x)``."""

    def __init__(self, outer, inner, sub=None, *, outermost=False):
        super().__init__()
        self.outermost = outermost
        down = nn.Conv2d(outer, inner, 4, 2, 1, bias=False)
        if outermost:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1)
            self.model = nn.Sequential(down, sub, nn.ReLU(), up, nn.Tanh())
        elif sub is None:  # innermost: no norm on its conv, no skip inside
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
            self.model = nn.Sequential(down, nn.ReLU(), up, nn.BatchNorm2d(outer))
        else:
            up = nn.ConvTranspose2d(2 * inner, outer, 4, 2, 1, bias=False)
            self.model = nn.Sequential(
                down, nn.BatchNorm2d(inner), sub, nn.ReLU(), up, nn.BatchNorm2d(outer)
            )

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        x = F.leaky_relu(x, 0.2)
        return torch.cat([x, self.model(x)], 1)


def ref_generator(nc=3, ngf=64):
    """The official 32x32 U-Net generator (spec section 3.1)."""
    block = RefUNetBlock(8 * ngf, 8 * ngf)
    block = RefUNetBlock(4 * ngf, 8 * ngf, block)
    block = RefUNetBlock(2 * ngf, 4 * ngf, block)
    block = RefUNetBlock(ngf, 2 * ngf, block)
    net = RefUNetBlock(nc, ngf, block, outermost=True)
    return net.apply(_ref_init)


class RefDiscriminator(nn.Module):
    """The official 32x32 DCGAN discriminator (spec section 4.1)."""

    def __init__(self, nc=3, ndf=64, nz=100):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(4 * ndf),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * ndf, nz, 4, 1, 0, bias=False),
        )
        self.classifier = nn.Sequential(nn.Conv2d(nz, 1, 3, 1, 1, bias=False))
        self.apply(_ref_init)

    def forward(self, x):
        features = self.features(x)
        return torch.sigmoid(self.classifier(features)).flatten(), features


class Reference:
    """The official training step and inference, fp32, DataLoader-fed."""

    def __init__(self, X, batch_size, device, width=64):
        self.device = device
        self.G = ref_generator(nc=X.shape[1], ngf=width).to(device)
        self.D = RefDiscriminator(nc=X.shape[1], ndf=width).to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), 2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), 2e-4, betas=(0.5, 0.999))
        self.loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(X),
            batch_size=batch_size,
            shuffle=True,
            drop_last=True,
            generator=torch.Generator().manual_seed(SEED),
        )
        self.batches = iter(())
        self.bce, self.l1, self.l2 = nn.BCELoss(), nn.L1Loss(), nn.MSELoss()

    def next_batch(self):
        batch = next(self.batches, None)
        if batch is None:
            self.batches = iter(self.loader)
            batch = next(self.batches)
        return batch[0].to(self.device)

    def train_step(self):
        x = self.next_batch()
        self.G.train(), self.D.train()
        fake = self.G(x)
        p_real, f_real = self.D(x)
        p_fake, f_fake = self.D(fake)
        self.opt_g.zero_grad()
        loss_g = (
            self.bce(p_fake, torch.ones_like(p_fake))
            + 50 * self.l1(fake, x)
            + self.l2(f_fake, f_real)
        )
        loss_g.backward(retain_graph=True)
        self.opt_g.step()
        self.opt_d.zero_grad()
        p_fake, f_fake = self.D(fake.detach())
        loss_d = (
            self.bce(p_real, torch.ones_like(p_real))
            + self.bce(p_fake, torch.zeros_like(p_fake))
            + self.l2(f_fake, f_real)
        )
        loss_d.backward()
        self.opt_d.step()
        return loss_d.item()

    @torch.no_grad()
    def infer(self, x):
        fake = self.G(x)
        f_real, f_fake = self.D(x)[1], self.D(fake)[1]
        rec = (x - fake).pow(2).flatten(1).mean(1)
        lat = (f_real - f_fake).pow(2).flatten(1).mean(1)
        return 0.9 * rec + 0.1 * lat


# ---------------------------------------------------------------------------
# Ours


class UnsharedNet(SkipGANomalyNet):
    """Ours without the shared D forward: the official three D forwards."""

    def shared_step(self, x, fake, real_out):
        terms = self.generator_step(x, fake, real_out)
        return terms | self.discriminator_step(fake, real_out)


def variant_net(X, batch_size, device, precision, cls, width, **kw):
    net = make_net(
        tuple(X.shape[1:]),
        width=width,
        net_class=cls,
        batch_size=batch_size,
        precision=precision,
        device=device,
        verbose=0,
        **kw,
    ).initialize()
    batches = _Batches(
        net.get_dataset(X),
        batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(SEED),
        drop_last=True,
    )
    net.get_iterator(batches.dataset, training=True)  # moves X to the device
    state = {"it": iter(())}

    def step():
        batch = next(state["it"], None)
        if batch is None:
            state["it"] = iter(batches)
            batch = next(state["it"])
        net.history.new_epoch()
        net.history.new_batch()
        return net.train_step(batch)["loss"].item()

    def infer(x):
        return net.evaluation_step((x, None))

    return net, step, infer


# ---------------------------------------------------------------------------
# Measurement helpers


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _timed_block(fn, n, device):
    times = []
    for _ in range(n):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def _interleaved(variants, repeats, device, **row):
    """Time each variant once per repeat, in turn; medians and their ratio to
    the first variant's (the reference), with ``row`` added to each entry."""
    seconds = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            seconds[name] += _timed_block(run, 1, device)
    reference_s = statistics.median(next(iter(seconds.values())))
    out = {}
    for name, times in seconds.items():
        median = statistics.median(times)
        out[name] = {
            **row,
            "seconds_median": median,
            "ratio_to_reference": reference_s / median,
            "repeats": len(times),
        }
        print(f"  {name}: {median:.2f} s, {reference_s / median:.2f}x", flush=True)
    return out


# ---------------------------------------------------------------------------
# Sections


def bench_speed(args, device):
    """Interleaved blocks: reference, then each variant of ours, repeated."""
    gen = torch.Generator().manual_seed(SEED)
    n_images = args.batch_size * 8
    X = torch.rand(n_images, 3, args.size, args.size, generator=gen) * 2 - 1
    x_infer = X[: args.batch_size].to(device)
    torch.manual_seed(SEED)
    ref = Reference(X, args.batch_size, device, args.width)
    variants = {"reference": (ref.train_step, ref.infer, None)}
    for name, precision, cls, kw in (
        ("fp32", "fp32", SkipGANomalyNet, {}),
        (
            "fp32 unshared D, foreach Adam",
            "fp32",
            UnsharedNet,
            {"optimizer__fused": False, "optimizer_d__fused": False},
        ),
        ("bf16", "bf16", SkipGANomalyNet, {}),
    ):
        if name.startswith("bf16") and "bf16" not in args.precisions:
            continue
        if name.startswith("fp32") and "fp32" not in args.precisions:
            continue
        torch.manual_seed(SEED)
        net, step, infer = variant_net(
            X, args.batch_size, device, precision, cls, args.width, **kw
        )
        net.module_.eval(), net.discriminator_.eval()
        variants[name] = (step, infer, net)
    steps = {k: [] for k in variants}
    infers = {k: [] for k in variants}
    peak = dict.fromkeys(variants, 0)
    # bf16 without native instructions is so slow that it gets fewer steps.
    slow = {"bf16"} if device == "cpu" and args.slow_bf16 else set()
    n_blocks = max(1, -(-args.steps // args.block))
    for name, (step, infer, _) in variants.items():  # warm-up
        for _ in range(args.warmup if name not in slow else 1):
            step()
            infer(x_infer)
    for block in range(n_blocks):
        for name, (step, infer, _) in variants.items():
            n = args.block
            if name in slow:
                if block * args.block >= args.slow_steps:
                    continue
                n = min(args.block, args.slow_steps - block * args.block)
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            with RSSPeak() as rss:
                steps[name] += _timed_block(step, n, device)
                with torch.no_grad():
                    infers[name] += _timed_block(
                        functools.partial(infer, x_infer), n, device
                    )
            peak[name] = max(
                peak[name],
                torch.cuda.max_memory_allocated() if device == "cuda" else rss.peak,
            )
            print(
                f"  block {block + 1}/{n_blocks} {name}: "
                f"step {1e3 * statistics.median(steps[name][-n:]):.0f} ms, "
                f"infer {1e3 * statistics.median(infers[name][-n:]):.0f} ms",
                flush=True,
            )
    bs = args.batch_size
    out = {}
    for name in variants:
        step_s, infer_s = (
            statistics.median(steps[name]),
            statistics.median(infers[name]),
        )
        out[name] = {
            "train_img_per_s": bs / step_s,
            "infer_img_per_s": bs / infer_s,
            "train_step_ms_median": 1e3 * step_s,
            "infer_ms_median": 1e3 * infer_s,
            "n_steps": len(steps[name]),
            "peak_memory_bytes": peak[name],
            "peak_memory_kind": "cuda max_memory_allocated"
            if device == "cuda"
            else "process RSS (all variants share the process)",
        }
        net = variants[name][2]
        if net is not None:
            out[name]["precision_"] = net.precision_
    ref_out = out["reference"]
    for res in out.values():
        res["train_ratio"] = res["train_img_per_s"] / ref_out["train_img_per_s"]
        res["infer_ratio"] = res["infer_img_per_s"] / ref_out["infer_img_per_s"]
    return out


class _StepClock:
    """Wrap ``SkipGANomalyNet.train_step`` to add up the time spent inside it."""

    def __init__(self):
        self.seconds = 0.0
        self.steps = 0

    def __enter__(self):
        self._orig = SkipGANomalyNet.train_step
        clock = self

        def timed(net, batch, **kw):
            start = time.perf_counter()
            out = clock._orig(net, batch, **kw)
            clock.seconds += time.perf_counter() - start
            clock.steps += 1
            return out

        SkipGANomalyNet.train_step = timed
        return self

    def __exit__(self, *exc):
        SkipGANomalyNet.train_step = self._orig


def bench_fit(args, device):
    """Fit end to end versus the steps inside it, and fit time versus n."""
    rng = np.random.RandomState(SEED)
    out = {"scaling": []}
    for n in args.fit_sizes:
        X = rng.uniform(0, 1, size=(n, 3, args.size, args.size)).astype(np.float32)
        det = SkipGANomalyDetector(
            epochs=args.fit_epochs,
            batch_size=args.batch_size,
            precision="fp32",
            random_state=SEED,
            device=device,
            width=args.width,
        )
        with _StepClock() as clock:
            start = time.perf_counter()
            det.fit(X)
            total = time.perf_counter() - start
        epochs_s = float(sum(det.history_[:, "dur"]))
        images = clock.steps * args.batch_size
        row = {
            "n_samples": n,
            "epochs": args.fit_epochs,
            "fit_s": total,
            "epochs_s": epochs_s,
            "train_step_s": clock.seconds,
            "steps": clock.steps,
            "fit_train_img_per_s": images / epochs_s,
            "step_img_per_s": images / clock.seconds,
            "fit_over_step_rate": clock.seconds / epochs_s,
            "fit_s_per_sample": total / n,
        }
        print(
            f"  fit n={n}: {total:.1f} s, epochs {epochs_s:.1f} s, "
            f"steps {clock.seconds:.1f} s "
            f"({100 * row['fit_over_step_rate']:.1f}% of the epoch time)",
            flush=True,
        )
        out["scaling"].append(row)
    return out


def bench_scoring(args, device):
    """Scoring 10 batches of images: the reference inference (official code,
    train-mode BatchNorm, fp32) against ``decision_function`` with each anomaly
    score in each of ``--precisions``, interleaved repeats, medians and ratios.
    The detectors are fitted on the same images, in the precision they score
    in, for ``--scoring-epochs`` epochs (9: four snapshots and the last), so
    the default scores against five discriminators."""
    rng = np.random.RandomState(SEED)
    n, bs = 10 * args.batch_size, args.batch_size
    X = rng.uniform(0, 1, size=(n, 3, args.size, args.size)).astype(np.float32)
    x_net = torch.from_numpy(X * 2 - 1)
    torch.manual_seed(SEED)
    ref = Reference(x_net, bs, device, args.width)

    def reference():
        for start in range(0, n, bs):
            ref.infer(x_net[start : start + bs].to(device))

    variants = {"reference inference (official code)": reference}
    for precision in _precisions(args):
        for label, params in (
            ("official", {"anomaly_score": "official"}),
            ("knn+lof, all snapshots (default)", {}),
            ("knn+lof, first snapshot", {"feature_snapshot": "first"}),
        ):
            det = _detector(args, device, precision, args.scoring_epochs, **params)
            det.fit(X)
            # fp32 rows keep their earlier names, so results stay comparable.
            suffix = "" if precision == "fp32" else f" {precision}"
            variants[f"decision_function{suffix}, {label}"] = functools.partial(
                det.decision_function, X
            )
    return _interleaved(variants, args.scoring_repeats, device, n_images=n)


def bench_fit_ratio(args, device):
    """``fit`` end to end (its ``decision_scores_`` pass included) in fp32 and
    bf16 against the reference training loop for the same epochs over the same
    10 batches of images, interleaved repeats, medians and ratios."""
    rng = np.random.RandomState(SEED)
    n, bs = 10 * args.batch_size, args.batch_size
    X = rng.uniform(0, 1, size=(n, 3, args.size, args.size)).astype(np.float32)
    x_net = torch.from_numpy(X * 2 - 1)

    def reference():
        torch.manual_seed(SEED)
        ref = Reference(x_net, bs, device, args.width)
        for _ in range(args.fit_ratio_epochs * (n // bs)):
            ref.train_step()

    variants = {"reference training loop (official code)": reference}
    for precision in _precisions(args):
        det = _detector(args, device, precision, args.fit_ratio_epochs)
        variants[f"fit, {precision}"] = functools.partial(det.fit, X)
    return _interleaved(
        variants,
        args.fit_ratio_repeats,
        device,
        n_images=n,
        epochs=args.fit_ratio_epochs,
    )


def _precisions(args):
    # bf16 fits take minutes where bf16 is emulated; the "speed" section still
    # measures its steps.
    return [p for p in args.precisions if not (p == "bf16" and args.slow_bf16)]


def _detector(args, device, precision, epochs, **params):
    return SkipGANomalyDetector(
        epochs=epochs,
        batch_size=args.batch_size,
        precision=precision,
        width=args.width,
        random_state=SEED,
        device=device,
        **params,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few steps, for CI")
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["speed", "fit", "scoring", "fit-ratio"],
        choices=["speed", "fit", "scoring", "fit-ratio"],
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=64, help="ngf = ndf")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument(
        "--slow-steps",
        type=int,
        default=5,
        help="steps for bf16 on a CPU without native bf16",
    )
    parser.add_argument(
        "--fit-sizes", type=int, nargs="+", default=[1024, 2048, 4096, 8192]
    )
    parser.add_argument("--fit-epochs", type=int, default=1)
    parser.add_argument("--scoring-epochs", type=int, default=9)
    parser.add_argument("--scoring-repeats", type=int, default=7)
    parser.add_argument("--fit-ratio-epochs", type=int, default=4)
    parser.add_argument("--fit-ratio-repeats", type=int, default=5)
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--out", default=None, help="JSON file (default: results/)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch_size, args.steps, args.warmup, args.block = 8, 2, 1, 1
        args.width = 4
        # Two threads on tiny convolutions stall for seconds on a busy machine.
        args.threads = 1
        args.slow_steps, args.fit_sizes = 1, [32, 64]
        args.scoring_epochs, args.scoring_repeats = 3, 1
        args.fit_ratio_epochs, args.fit_ratio_repeats = 1, 1
    args.slow_bf16 = not _native_bf16(args.device)
    torch.set_num_threads(args.threads)
    result = {
        "machine": machine_info(),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "seed": SEED,
    }
    print(json.dumps(result["machine"]), flush=True)
    sections = {
        "speed": bench_speed,
        "fit": bench_fit,
        "scoring": bench_scoring,
        "fit-ratio": bench_fit_ratio,
    }
    for name in args.sections:
        print(f"[{name}]", flush=True)
        result[name] = sections[name](args, args.device)
    if "speed" in result:
        print(
            f"{'variant':32} {'train img/s':>11} {'ratio':>6} "
            f"{'infer img/s':>11} {'ratio':>6}"
        )
        for name, res in result["speed"].items():
            print(
                f"{name:32} {res['train_img_per_s']:11.1f} {res['train_ratio']:6.2f} "
                f"{res['infer_img_per_s']:11.1f} {res['infer_ratio']:6.2f}"
            )
    if args.smoke:
        _check_sane(result)
    if args.out != "-":
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        kind = "smoke" if args.smoke else "-".join(args.sections)
        path = pathlib.Path(
            args.out or RESULTS / f"speed-{args.device}-{kind}-{stamp}.json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    return result


def _native_bf16(device):
    # Without AVX512-BF16 or AMX, oneDNN emulates bf16 (10-30x slower than fp32).
    if device != "cpu":
        return True
    try:
        flags = set(pathlib.Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def _check_sane(result):
    for name, res in result.get("speed", {}).items():
        for key in ("train_img_per_s", "infer_img_per_s"):
            assert np.isfinite(res[key]), (name, key)
            assert res[key] > 0, (name, key)
    for row in result.get("fit", {}).get("scaling", []):
        assert 0 < row["fit_over_step_rate"] <= 1.0, row
    for section in ("scoring", "fit-ratio"):
        for name, res in result.get(section, {}).items():
            assert np.isfinite(res["seconds_median"]), name
            assert res["seconds_median"] > 0, name


if __name__ == "__main__":
    main()
