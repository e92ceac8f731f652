# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Checks of the built documentation site (``tox -e docs`` builds it first).

Marked ``docs``: left out of the default test run. The browser checks use
Debian's headless Chromium (``/usr/bin/chromium``) and skip without it.
Screenshots are written to ``docs/_build/screenshots/`` to look at.
"""

import json
import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
SCREENSHOTS = ROOT / "docs" / "_build" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
GALLERY_PAGE = "auto_examples/index.html"
PAGES = [
    "index.html",
    "install.html",
    "quickstart.html",
    "user_guide.html",
    "scaling.html",
    "api.html",
    "changelog.html",
    "auto_examples/index.html",
    "gen_modules/sklearn_sganomaly.SkipGANomalyDetector.html",
    "gen_modules/sklearn_sganomaly.datasets.make_synthetic_defects.html",
]
EXAMPLES = [
    "plot_1_quickstart",
    "plot_2_digits_roc",
    "plot_3_grid_search",
    "plot_4_anomaly_maps",
    "plot_5_training_curves",
    "plot_6_pyod_comparison",
]


class _ImageSources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        src = dict(attrs).get("src")
        if tag == "img" and src and not src.startswith(("data:", "http")):
            self.sources.append(src)


def _images(page):
    parser = _ImageSources()
    parser.feed((SITE / page).read_text(encoding="utf-8"))
    return [((SITE / page).parent / src).resolve() for src in parser.sources]


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module", autouse=True)
def _site():
    if not (SITE / "index.html").is_file():
        pytest.skip(f"no built site in {SITE}; run tox -e docs (it builds first)")


def _chromium(tmp_path, *args, timeout=120):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found; on Debian: apt-get install chromium")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("page", PAGES + [f"auto_examples/{e}.html" for e in EXAMPLES])
def test_page_exists(page):
    assert (SITE / page).is_file(), page


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_has_a_figure(example):
    images = [
        p for p in _images(f"auto_examples/{example}.html") if "sphx_glr" in p.name
    ]
    assert images, f"{example} shows no figure"
    for path in images:
        assert path.is_file(), path
        width, height = _png_size(path)
        assert width > 0, path
        assert height > 0, path


def test_architecture_figure():
    images = [p for p in _images("user_guide.html") if "architecture" in p.name]
    assert images, "the user guide has no architecture figure"
    assert min(_png_size(images[0])) > 100


def test_gallery_images_load_in_chromium(tmp_path):
    """Chromium loads every image of the gallery with a non-zero natural size."""
    sources = []
    for page in [
        "auto_examples/index.html",
        *(f"auto_examples/{e}.html" for e in EXAMPLES),
    ]:
        sources += [p.as_uri() for p in _images(page)]
    sources = sorted(set(sources))
    assert len(sources) >= 2 * len(EXAMPLES)  # a thumbnail and a figure each
    harness = tmp_path / "harness.html"
    harness.write_text(
        "<!doctype html><html><body>"
        + "".join(f'<img src="{src}">' for src in sources)
        + "<pre id='out'></pre><script>window.addEventListener('load', () => {"
        "document.getElementById('out').textContent = JSON.stringify("
        "[...document.images].map(i => [i.src, i.naturalWidth, i.naturalHeight]));"
        "});</script></body></html>",
        encoding="utf-8",
    )
    dom = _chromium(
        tmp_path,
        "--allow-file-access-from-files",
        "--virtual-time-budget=10000",
        "--dump-dom",
        harness.as_uri(),
    )
    start = dom.index('<pre id="out">') + len('<pre id="out">')
    sizes = json.loads(dom[start : dom.index("</pre>", start)].replace("&quot;", '"'))
    assert len(sizes) == len(sources)
    broken = [src for src, width, height in sizes if not (width > 0 and height > 0)]
    assert not broken, f"images that did not load: {broken}"


@pytest.mark.parametrize(
    ("page", "name"), [("index.html", "landing"), (GALLERY_PAGE, "gallery")]
)
def test_screenshot_is_not_blank(tmp_path, page, name):
    Image = pytest.importorskip("PIL.Image")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = tmp_path / f"{name}.png"
    _chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        "--virtual-time-budget=5000",
        (SITE / page).as_uri(),
    )
    shutil.copy(shot, SCREENSHOTS / f"{name}.png")
    with Image.open(shot) as image:
        assert image.size == (1280, 1600)
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 50, f"{name} screenshot looks blank"
