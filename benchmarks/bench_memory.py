"""Peak memory of fitting and scoring: in-memory arrays and uint8 memmaps.

Two measurements, each in this process with RSS sampled every 2 ms:

- scoring an in-memory float32 array: resident memory should grow by the input
  and the output only, since rows are converted and scored one batch at a time;
- ``fit`` (1 epoch) and ``decision_function`` on a uint8 ``np.memmap`` larger
  than a float32 copy would comfortably fit: pages of the file count in RSS as
  they are read (the kernel can drop them), so anonymous memory (``RssAnon``)
  is reported separately; it must stay far below one float32 copy.

Speed is not the point: tiny networks keep the run short. Usage::

    python benchmarks/bench_memory.py                # 100k in memory, 1M memmap
    python benchmarks/bench_memory.py --smoke --out -
"""

import argparse
import json
import pathlib
import sys
import tempfile
import time

import numpy as np
import torch
from _common import RSSPeak, machine_info

from sklearn_sganomaly import SkipGANomalyDetector

SEED = 0
SHAPE = (3, 32, 32)
MiB = 2**20


def _detector(args):
    return SkipGANomalyDetector(
        epochs=1,
        width=args.width,
        latent_dim=8,
        batch_size=args.batch_size,
        device="cpu",
        random_state=SEED,
    )


def bench_in_memory(args):
    rng = np.random.RandomState(SEED)
    det = _detector(args).fit(rng.uniform(0, 1, size=(256, *SHAPE)).astype(np.float32))
    X = rng.uniform(0, 1, size=(args.n_memory, *SHAPE)).astype(np.float32)
    det.decision_function(X[:64])  # warm-up
    with RSSPeak() as rss:
        start = time.perf_counter()
        scores = det.decision_function(X)
        seconds = time.perf_counter() - start
    growth, anon = rss.peak - rss.start, rss.peak_anon - rss.start_anon
    print(
        f"  scoring {len(X):,} in-memory images: RSS +{growth / MiB:.0f} MiB "
        f"(anonymous +{anon / MiB:.0f} MiB) for {X.nbytes / MiB:.0f} MiB of input, "
        f"{seconds:.0f} s",
        flush=True,
    )
    return {
        "n_images": len(X),
        "dtype": "float32",
        "input_bytes": X.nbytes,
        "output_bytes": scores.nbytes,
        "rss_growth_bytes": growth,
        "rss_growth_over_input": growth / X.nbytes,
        "rss_anon_growth_bytes": anon,
        "seconds": seconds,
    }


def bench_memmap(args, directory):
    path = pathlib.Path(directory) / "images.uint8"
    shape = (args.n_memmap, *SHAPE)
    mapped = np.memmap(path, dtype=np.uint8, mode="w+", shape=shape)
    rng = np.random.RandomState(SEED)
    for start in range(0, len(mapped), 65536):
        stop = min(start + 65536, len(mapped))
        mapped[start:stop] = rng.randint(0, 256, size=(stop - start, *SHAPE))
    mapped.flush()
    del mapped
    X = np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
    _detector(args).fit(X[:512])  # warm-up
    float32_copy = X.size * 4
    with RSSPeak() as rss:
        start = time.perf_counter()
        det = _detector(args).fit(X)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        det.decision_function(X)
        score_seconds = time.perf_counter() - start
    growth, anon = rss.peak - rss.start, rss.peak_anon - rss.start_anon
    print(
        f"  fit + scoring a {X.nbytes / MiB:,.0f} MiB uint8 memmap of {len(X):,} "
        f"images: RSS +{growth / MiB:,.0f} MiB, of which anonymous "
        f"+{anon / MiB:,.0f} MiB; a float32 copy would be {float32_copy / MiB:,.0f} "
        f"MiB; fit {fit_seconds:.0f} s, scoring {score_seconds:.0f} s",
        flush=True,
    )
    return {
        "n_images": len(X),
        "dtype": "uint8",
        "file_bytes": X.nbytes,
        "float32_copy_bytes": float32_copy,
        "rss_growth_bytes": growth,
        "rss_anon_growth_bytes": anon,
        "fit_seconds": fit_seconds,
        "score_seconds": score_seconds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI")
    parser.add_argument("--n-memory", type=int, default=100_000)
    parser.add_argument("--n-memmap", type=int, default=1_000_000)
    parser.add_argument("--width", type=int, default=4, help="ngf = ndf")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where to write the memmap file")
    parser.add_argument(
        "--sections", nargs="+", default=["in_memory", "memmap"], help="what to run"
    )
    parser.add_argument("--out", default=None, help="JSON file, or - for stdout")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n_memory, args.n_memmap = 2_000, 2_000
    torch.set_num_threads(args.threads)
    result = {
        "benchmark": "memory",
        "machine": machine_info(),
        "seed": SEED,
        "settings": {
            k: v for k, v in vars(args).items() if k not in ("out", "dir", "sections")
        },
    }
    if "in_memory" in args.sections:
        print("in-memory scoring", flush=True)
        result["in_memory_scoring"] = bench_in_memory(args)
    if "memmap" in args.sections:
        print("memmap fit and scoring", flush=True)
        with tempfile.TemporaryDirectory(dir=args.dir) as directory:
            result["memmap_fit_and_scoring"] = bench_memmap(args, directory)
    text = json.dumps(result, indent=2)
    if args.out == "-":
        print(text)
        return
    out = (
        args.out
        or pathlib.Path(__file__).parent / "results" / "memory-streaming-cpu.json"
    )
    pathlib.Path(out).write_text(text + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
