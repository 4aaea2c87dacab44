"""`mnistgan demo`: the local page, started as a user starts it, answers drawn and dropped
digits in every domain, refuses what it must, and works in a real headless browser."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import zlib
from http.client import HTTPConnection
from pathlib import Path

import numpy as np
import pytest
import torch
from browser import Browser, find_browser
from PIL import Image

from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.demo.digits import drawn_digit
from mnist_cyclegan.evaluation import classifier
from mnist_cyclegan.evaluation.model_cache import bundled_folder

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "test-output" / "demo-page.png"  # kept after the run (git ignores it)
ORANGE = np.array([255, 136, 0])
DRAWN_SCRIPT = ROOT / "benchmarks" / "drawn_digits.py"
_spec = importlib.util.spec_from_file_location("drawn_digits", DRAWN_SCRIPT)
drawn_digits = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drawn_digits)  # benchmarks/ is no package: the script from its file
FLAT_LIMIT = 1.5  # a coloured output's background std (0-255); real images have 0
NEEDS_BROWSER = pytest.mark.skipif(
    find_browser() is None and not os.environ.get("MNISTGAN_REQUIRE_BROWSER"),
    reason="no Chromium here (CI installs it and sets MNISTGAN_REQUIRE_BROWSER)",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`mnistgan demo --port 0` in its own process, as a user runs it; its URL's host and port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mnist_cyclegan", "demo", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert match, line + process.stderr.read()
    yield "127.0.0.1", int(match.group(1))
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "demo stopped" in out and "Traceback" not in err, err


def request(address, method: str, path: str, body: bytes | None = None, headers=None):
    connection = HTTPConnection(*address, timeout=120)
    connection.request(method, path, body=body, headers=headers or {})
    reply = connection.getresponse()
    data = reply.read()
    connection.close()
    return reply.status, data


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def decoded(data_url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))))


def reader(domain: str) -> torch.nn.Module:
    """The bundled classifier of a domain: a reader independent of the models translating."""
    path = next(bundled_folder().glob(f"classifier-{domain}-threshold-*.safetensors"))
    return classifier.read_classifier(path, 3)


def read_digit(model: torch.nn.Module, data_url: str) -> int:
    predicted, _ = classifier.predict(model, decoded(data_url)[None], torch.device("cpu"))
    return int(predicted[0])


def as_drawing(digit: np.ndarray) -> np.ndarray:
    """An MNIST digit as the page's canvas sends a drawing: 280×280 RGB, off-centre."""
    big = np.asarray(Image.fromarray(digit).resize((200, 200), Image.Resampling.BICUBIC))
    canvas = np.zeros((280, 280, 3), dtype=np.uint8)
    canvas[70:270, 10:210] = big[..., None]
    return canvas


def test_a_drawing_is_placed_as_mnist_places_its_digits():
    mnist = load_mnist()
    for digit in mnist.x_test[:50]:
        placed = drawn_digit(as_drawing(digit))
        assert placed.shape == (28, 28)
        rows, cols = np.nonzero(placed > 32)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # the 20×20 box (one pixel of filter)
        weights = placed.astype(float)
        centre = [(weights.sum(axis=1 - a) * np.arange(28)).sum() / weights.sum() for a in (0, 1)]
        assert np.abs(np.array(centre) - 13.5).max() <= 1.0, centre


def test_the_page_and_models_are_served(demo):
    status, page = request(demo, "GET", "/")
    assert status == 200 and b"<canvas" in page
    status, listing = request(demo, "GET", "/api/models")
    models = json.loads(listing)
    assert status == 200 and len(models["models"]) == 3
    assert models["domains"] == ["colored-background", "colored-digit", "mnist"]
    assert request(demo, "GET", "/secret")[0] == 404


def test_drawn_digits_come_back_in_every_domain_as_the_same_digit(demo):
    """Twenty test digits sent as drawings: three outputs each (mnist -> colored-background,
    mnist -> colored-digit, and colored-background -> colored-digit from the first output),
    each read as the digit drawn by the target domain's classifier."""
    mnist = load_mnist()
    right, total = 0, 0
    readers = {d: reader(d) for d in ("colored-background", "colored-digit")}
    for digit, label in zip(mnist.x_test[:20], mnist.y_test[:20], strict=True):
        body = png_bytes(as_drawing(digit))
        status, data = request(demo, "POST", "/api/translate?domain=mnist&drawn=1", body)
        assert status == 200, data
        answer = json.loads(data)
        targets = sorted((o["target"], o["via"] or "") for o in answer["outputs"])
        assert targets == [("colored-background", ""), ("colored-digit", ""),
                           ("colored-digit", "colored-background")]  # fmt: skip
        for output in answer["outputs"]:
            right += int(read_digit(readers[output["target"]], output["image"]) == label)
            total += 1
    assert right / total >= 0.95, (right, total)


def test_a_chosen_colour_paints_every_output_that_takes_one(demo):
    digit = load_mnist().x_test[0]
    path = "/api/translate?domain=mnist&drawn=0&color=%23ff8800"
    status, data = request(demo, "POST", path, png_bytes(digit))
    assert status == 200, data
    for output in json.loads(data)["outputs"]:
        assert output["colourable"]
        image = decoded(output["image"])
        if output["target"] == "colored-background":
            assert np.abs(np.median(image[digit < 10], axis=0) - ORANGE).max() <= 6
        else:
            assert np.abs(np.median(image[digit > 200], axis=0) - ORANGE).max() <= 6


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width×height pixels, with one tiny compressed row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))  # fmt: skip


def test_uploads_are_bounded_and_checked(demo):
    digit = png_bytes(load_mnist().x_test[0])
    cases = [
        (b"not an image at all", "not an image Pillow can read"),
        (bomb_png(50_000, 50_000), "too many pixels"),
        (png_bytes(np.zeros((4, 4), np.uint8)), "too small"),
        (digit[: len(digit) // 2], "broken image"),
        (png_bytes(np.zeros((64, 64), np.uint8)), "the drawing is empty"),
    ]
    for body, message in cases:
        drawn = "1" if "empty" in message else "0"
        status, data = request(demo, "POST", f"/api/translate?drawn={drawn}", body)
        assert status == 400 and message in json.loads(data)["error"], data
    status, data = request(demo, "POST", "/api/translate?domain=fashion", digit)
    assert status == 400 and "choose one of" in json.loads(data)["error"]
    huge = {"Content-Length": str(64 * 1024 * 1024)}
    status, data = request(demo, "POST", "/api/translate", b"", huge)  # declared, never sent
    assert status == 413 and "over the limit" in json.loads(data)["error"]
    assert request(demo, "GET", "/api/models")[0] == 200  # still serving


def test_port_errors_are_one_line():
    from conftest import assert_one_line_process_error, run_process

    assert_one_line_process_error(run_process("demo", "--port", "70000"), "--port 70000")
    assert_one_line_process_error(
        run_process("demo", "--weights", "no-such-model"), "no-such-model"
    )


def open_pad(browser: Browser, demo) -> tuple[float, float, float]:
    """The demo page, loaded and ready: its pad's left, top and side in page coordinates."""
    browser.goto(f"http://{demo[0]}:{demo[1]}/")
    browser.wait_for("document.body.dataset.ready === '1'")
    return browser.evaluate(
        "(() => { const r = document.getElementById('pad').getBoundingClientRect();"
        " return [r.left, r.top, r.width]; })()"
    )


@NEEDS_BROWSER
def test_in_a_real_browser_strokes_give_three_translations_and_the_colour_picker_paints(
    demo, tmp_path
):
    browser = Browser(find_browser(), tmp_path / "profile")
    try:
        left, top, side = open_pad(browser, demo)
        # a 7: the top bar, then the stroke down to the left
        bar = [(left + side * (0.25 + 0.5 * i / 10), top + side * 0.25) for i in range(11)]
        leg = [(left + side * (0.75 - 0.3 * i / 10), top + side * (0.25 + 0.55 * i / 10))
               for i in range(11)]  # fmt: skip
        browser.drag(bar)
        browser.drag(leg)
        browser.wait_for("document.body.dataset.answers === '2'")
        targets = browser.evaluate(
            "[...document.querySelectorAll('img.output')].map(i => i.dataset.target)"
        )
        assert sorted(targets) == ["colored-background", "colored-digit", "colored-digit"]
        assert browser.evaluate("document.getElementById('status').textContent") == ""
        assert not browser.evaluate("document.getElementById('colour-controls').hidden")
        browser.evaluate(
            "(() => { const c = document.getElementById('color'); c.value = '#ff8800';"
            " c.dispatchEvent(new Event('input')); })()"
        )
        browser.wait_for("document.body.dataset.answers === '3'")
        corner = browser.evaluate(
            "new Promise((done) => { const img = document.querySelector("
            "'img.output[data-target=\"colored-background\"]');"
            " const c = document.createElement('canvas'); c.width = 28; c.height = 28;"
            " const x = c.getContext('2d'); const go = () => { x.drawImage(img, 0, 0);"
            " done([...x.getImageData(1, 1, 1, 1).data].slice(0, 3)); };"
            " img.complete ? go() : img.onload = go; })"
        )
        assert np.abs(np.array(corner) - ORANGE).max() <= 6, corner
        SCREENSHOT.parent.mkdir(exist_ok=True)
        browser.screenshot(SCREENSHOT)
        assert SCREENSHOT.stat().st_size > 10_000
    finally:
        browser.close()


@NEEDS_BROWSER
def test_digits_drawn_in_a_real_browser_come_back_on_flat_backgrounds(demo, tmp_path):
    """Ten digits drawn with the page's own pen (strokes far thicker than MNIST's, at two
    sizes): every coloured output's background, the pixels over 2 from the placed drawing's
    ink, varies by at most 1.5 of 255 per channel, as a real image's does (0)."""
    browser = Browser(find_browser(), tmp_path / "profile")
    scores = []  # (background std, digit) of every coloured output
    try:
        left, top, side = open_pad(browser, demo)
        for digit, strokes in drawn_digits.SKETCHES.items():
            scale = 0.5 if digit % 2 else 0.9  # a small drawing and a large one
            browser.evaluate("document.getElementById('clear').click()")
            answers = int(browser.evaluate("document.body.dataset.answers"))
            for stroke in strokes:
                at = [((x - 0.5) * scale + 0.5, (y - 0.5) * scale + 0.5) for x, y in stroke]
                browser.drag([(left + side * x, top + side * y) for x, y in at])
            browser.wait_for(f"document.body.dataset.answers === '{answers + len(strokes)}'")
            placed = decoded(browser.evaluate("document.getElementById('input').src"))
            placed = placed if placed.ndim == 2 else placed[..., 0]
            images = browser.evaluate(
                "[...document.querySelectorAll('img.output')].map(i => i.src)"
            )
            assert len(images) == 3, digit
            for image in images:
                pixels = decoded(image)
                if pixels.ndim == 3:
                    scores.append((drawn_digits.background_std(pixels[..., :3], placed), digit))
    finally:
        browser.close()
    assert len(scores) == 30  # three coloured outputs a drawing
    rough = [(round(std, 2), digit) for std, digit in scores if std > FLAT_LIMIT]
    assert not rough, rough


def test_a_given_weights_file_is_the_only_model_and_offers_no_colour_it_cannot_paint(weights):
    """`--weights`: one model of the user's (here a tiny reference run, which paints its own
    pixels); a colour asked for is ignored where no output takes one."""
    import threading

    from mnist_cyclegan.demo.server import start_server
    from mnist_cyclegan.demo.translations import load_models

    server = start_server(load_models(str(weights), torch.device("cpu")), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = server.server_address[:2]
        listing = json.loads(request(address, "GET", "/api/models")[1])
        assert [m["name"] for m in listing["models"]] == [str(weights)]
        assert listing["models"][0]["colour"] == {"a2b": False, "b2a": False}
        body = png_bytes(load_mnist().x_test[0])
        status, data = request(address, "POST", "/api/translate?color=%23ff8800", body)
        outputs = json.loads(data)["outputs"]
        assert status == 200 and [o["target"] for o in outputs] == ["colored-background"]
        assert not outputs[0]["colourable"]
    finally:
        server.shutdown()
        server.server_close()
