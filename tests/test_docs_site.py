# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026 the sklearn_sganomaly developers
"""Checks of the built documentation site (``tox -e docs`` builds it first).

Marked ``docs``: left out of the default test run. The browser checks drive
Debian's headless Chromium (``/usr/bin/chromium``, or ``$CHROMIUM``) over the
DevTools protocol on a pipe, so they need no driver and no network. They load
every page of the site and fail on console errors, uncaught exceptions,
resources that do not load, broken links and broken images, and they check
that every gallery figure is shown at its size and is not blank on screen.

Without Chromium (or without a built site) these tests skip, unless
``SKLEARN_SGANOMALY_REQUIRE_BROWSER=1``: then they fail. ``.ci/run`` sets it,
so CI never passes without having checked the pages in a browser.
Screenshots are written to ``docs/_build/screenshots/`` to look at.
"""

import base64
import fcntl
import io
import json
import os
import select
import struct
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
SCREENSHOTS = ROOT / "docs" / "_build" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("SKLEARN_SGANOMALY_REQUIRE_BROWSER", "").strip() not in {
    "",
    "0",
}
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
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
]
WINDOW = (1280, 1600)


def _unavailable(reason):
    """Skip, or fail when ``SKLEARN_SGANOMALY_REQUIRE_BROWSER`` is set (CI)."""
    if REQUIRED:
        pytest.fail(f"{reason} (SKLEARN_SGANOMALY_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


# --------------------------------------------------------------- static checks


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag in {"a", "link"} and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script" and attrs.get("src"):
            self.links.append(attrs["src"])


def _parse(page):
    parser = _Links()
    parser.feed((SITE / page).read_text(encoding="utf-8"))
    return parser


def _images(page):
    return [
        ((SITE / page).parent / unquote(src)).resolve()
        for src in _parse(page).images
        if not src.startswith(("data:", "http:", "https:"))
    ]


def _png_size(path):
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def _all_pages():
    """Every page of the site (``_static`` holds the theme's template files)."""
    pages = (p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html"))
    return sorted(p for p in pages if not p.startswith("_static/"))


@pytest.fixture(scope="module", autouse=True)
def _site():
    if not (SITE / "index.html").is_file():
        _unavailable(f"no built site in {SITE}; run tox -e docs (it builds first)")


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


def test_no_broken_links():
    """Every local link, script, stylesheet and image of every page resolves.

    Links within the site must point to an existing file, and a ``#fragment``
    to an element with that id. External links are not followed (CI has no
    network).
    """
    ids = {}
    broken = []
    for page in _all_pages():
        parsed = _parse(page)
        for target in parsed.links + parsed.images:
            if target.startswith(("http:", "https:", "mailto:", "data:", "//")):
                continue
            if target.startswith("javascript:"):
                continue
            path, fragment = urldefrag(target)
            path = unquote(urlsplit(path).path)
            file = ((SITE / page).parent / path).resolve() if path else SITE / page
            if file.is_dir():
                file = file / "index.html"
            if not file.is_file():
                broken.append(f"{page}: {target} (no such file)")
                continue
            if fragment and file.suffix == ".html":
                key = file.relative_to(SITE).as_posix()
                if key not in ids:
                    ids[key] = _parse(key).ids
                if unquote(fragment) not in ids[key]:
                    broken.append(f"{page}: {target} (no element with that id)")
    assert not broken, "\n".join(broken)


# --------------------------------------------------------------- the browser


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe.

    Chromium reads commands from its file descriptor 3 and writes replies and
    events to descriptor 4 (``--remote-debugging-pipe``), each message a JSON
    text ended by a NUL byte.
    """

    def __init__(self, profile):
        to_chromium = os.pipe()
        from_chromium = os.pipe()
        # Descriptors >= 10, so that bash can put them on 3 and 4 safely.
        child_in = fcntl.fcntl(to_chromium[0], fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_chromium[1], fcntl.F_DUPFD, 10)
        command = [
            "bash",
            "-c",
            f'exec "$0" "$@" 3<&{child_in} 4>&{child_out}',
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            command,
            pass_fds=(child_in, child_out),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for fd in (to_chromium[0], from_chromium[1], child_in, child_out):
            os.close(fd)
        self._write = os.fdopen(to_chromium[1], "wb", buffering=0)
        self._read = os.fdopen(from_chromium[0], "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0
        self.events = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send(
            "Target.attachToTarget", targetId=target, flatten=True
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=True)
        # The viewport itself, not the window around it, is WINDOW.
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=WINDOW[0],
            height=WINDOW[1],
            deviceScaleFactor=1,
            mobile=False,
        )

    def _message(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._read], [], [], 1.0)
            if ready:
                chunk = self._read.read(1 << 16)
                if not chunk:
                    stderr = self.process.stderr.read().decode(errors="replace")
                    raise RuntimeError(f"Chromium exited: {stderr[-2000:]}")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, *, session=False, timeout=60, **params):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self._write.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message(timeout)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method, timeout=60):
        """Collect events until one named ``method`` arrives."""
        deadline = time.monotonic() + timeout
        while not any(e["method"] == method for e in self.events):
            self.events.append(self._message(deadline - time.monotonic()))

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def load(self, url):
        """Load ``url``; return the errors it reported while loading."""
        self.events = []
        self.send("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")
        # Let scripts that run after "load" finish (theme, search, gallery).
        self.evaluate("new Promise(r => setTimeout(r, 300))")
        return self.errors()

    def errors(self):
        errors = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description")
                errors.append(f"uncaught: {text or details.get('text')}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in {
                "error",
                "assert",
            }:
                values = [a.get("value", a.get("description")) for a in params["args"]]
                errors.append(f"console.{params['type']}: {values}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                errors.append(f"log: {entry['text']} {entry.get('url', '')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append(f"failed to load: {params.get('errorText')}")
        return errors

    def screenshot(self, clip=None):
        params = {"format": "png", "captureBeyondViewport": False}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        data = self.send("Page.captureScreenshot", session=True, **params)["data"]
        return base64.b64decode(data)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._write.close()
        self._read.close()
        self.process.stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} not found; on Debian: apt-get install chromium")
    # A fresh profile: no state from earlier runs, nothing fetched (no network).
    browser = Browser(tmp_path_factory.mktemp("chromium") / "profile")
    yield browser
    browser.close()


_IMAGES_JS = """
[...document.images].map(i => {
  const r = i.getBoundingClientRect();
  return {src: i.currentSrc || i.src, complete: i.complete,
          natural: [i.naturalWidth, i.naturalHeight], shown: [r.width, r.height]};
})
"""


def test_every_page_loads_without_errors(browser):
    """Every page of the site loads with no console error and no broken image."""
    pages = _all_pages()
    assert set(PAGES) <= set(pages)
    problems = []
    for page in pages:
        errors = browser.load((SITE / page).as_uri())
        problems += [f"{page}: {error}" for error in errors]
        for image in browser.evaluate(_IMAGES_JS):
            if not (image["complete"] and min(image["natural"]) > 0):
                problems.append(f"{page}: image did not load: {image['src']}")
        title = browser.evaluate("document.title")
        if not title:
            problems.append(f"{page}: no title")
    assert not problems, "\n".join(problems)


def _nonblank(png, what):
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        colors = rgb.getcolors(maxcolors=1 << 20)
        extrema = rgb.getextrema()
    assert colors is None or len(colors) > 20, f"{what} looks blank: {len(colors)}"
    assert any(high - low > 64 for low, high in extrema), f"{what} has no contrast"


@pytest.mark.parametrize("example", EXAMPLES)
def test_gallery_figures_render(browser, example):
    """Each figure is shown at its own size (not scaled) and is not blank on screen."""
    pytest.importorskip("PIL.Image")
    page = f"auto_examples/{example}.html"
    assert not browser.load((SITE / page).as_uri()), page
    figures = [
        image
        for image in browser.evaluate(_IMAGES_JS)
        if "sphx_glr_" in image["src"] and "thumb" not in image["src"]
    ]
    assert figures, f"{example} shows no figure"
    for index, figure in enumerate(figures):
        path = Path(unquote(urlsplit(figure["src"]).path))
        assert tuple(figure["natural"]) == _png_size(path), figure
        width, height = figure["natural"]
        shown_w, shown_h = figure["shown"]
        assert min(width, height) >= 100, f"{path.name} is tiny: {width}x{height}"
        # Shown whole, in its own aspect ratio, and neither shrunk to a stamp
        # nor blown up beyond the PNG's pixels.
        assert shown_w >= min(width, 300), figure
        assert shown_w <= width + 1, figure
        assert abs(shown_h / shown_w - height / width) < 0.02, figure
        box = browser.evaluate(
            f"(() => {{ const i = [...document.images].filter(i => "
            f"(i.currentSrc || i.src) === {json.dumps(figure['src'])})[0];"
            "i.scrollIntoView({block: 'start'});"
            "const r = i.getBoundingClientRect();"
            "return {x: r.x + window.scrollX, y: r.y + window.scrollY,"
            "width: r.width, height: r.height}; })()"
        )
        png = browser.screenshot(clip=box)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{example}_{index}.png").write_bytes(png)
        _nonblank(png, f"{example} figure {index} on screen")


@pytest.mark.parametrize(
    ("page", "name"), [("index.html", "landing"), (GALLERY_PAGE, "gallery")]
)
def test_screenshot_is_not_blank(browser, page, name):
    pytest.importorskip("PIL.Image")
    assert not browser.load((SITE / page).as_uri()), page
    browser.evaluate("window.scrollTo(0, 0)")
    png = browser.screenshot()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.png").write_bytes(png)
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        assert image.size == WINDOW
    _nonblank(png, f"{name} screenshot")


def test_the_browser_checks_catch_errors(browser, tmp_path):
    """The checks are not vacuous: a broken page and a blank image are caught."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!doctype html><title>t</title><img src='missing.png'>"
        "<script>console.error('logged'); undefined_function();</script>",
        encoding="utf-8",
    )
    errors = "\n".join(browser.load(page.as_uri()))
    assert "logged" in errors
    assert "undefined_function" in errors
    assert "missing.png" in errors
    (image,) = browser.evaluate(_IMAGES_JS)
    assert image["natural"] == [0, 0]
    from PIL import Image

    blank = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(blank, format="PNG")
    with pytest.raises(AssertionError, match="blank"):
        _nonblank(blank.getvalue(), "a white image")
