"""The demo's web server: the page, the models' list and a translate endpoint, on the standard
library's HTTP server (no dependency beyond the package's own).

It listens on 127.0.0.1 unless told otherwise, so the page is only for this machine. An upload
is refused before it is read when its declared length passes MAX_UPLOAD_BYTES (or is missing),
then decoded with the same checks as every image file (user_images.py); one translation runs
at a time, so a burst of requests queues rather than multiplying memory.
"""

from __future__ import annotations

import base64
import io
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlparse

import numpy as np
from PIL import Image

from mnist_cyclegan.demo.digits import drawn_digit, dropped_image
from mnist_cyclegan.demo.translations import LoadedModel, domains, translate_everywhere
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.user_images import read_image_bytes

MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # a digit's PNG is a few KB; a large photo still fits


def png_data_url(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L" if pixels.ndim == 2 else "RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class DemoServer(ThreadingHTTPServer):
    """An HTTP server that holds the loaded models and the page."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], models: list[LoadedModel]):
        super().__init__(address, DemoHandler)
        self.models = models
        self.page = resources.files("mnist_cyclegan.demo").joinpath("page.html").read_bytes()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def models_json(self) -> dict:
        return {"models": [m.describe() for m in self.models], "domains": domains(self.models)}

    def translate(self, data: bytes, query: dict[str, str]) -> dict:
        """An uploaded image, drawn (light on dark, normalised as MNIST's digits were) or
        dropped (taken as it is), in every domain the models reach."""
        domain = query.get("domain", "mnist")
        colour = query.get("color", "random")
        pixels = read_image_bytes(data, "the uploaded image")
        side = self.models[0].side
        drawn = query.get("drawn", "0") == "1"
        digit = drawn_digit(pixels, side) if drawn else dropped_image(pixels, side)
        with self.lock:
            outputs = translate_everywhere(self.models, digit, domain, colour)
        return {
            "input": {"domain": domain, "image": png_data_url(digit)},
            "outputs": [
                {
                    "model": o.model,
                    "source": o.source,
                    "target": o.target,
                    "via": o.via,
                    "colourable": o.colourable,
                    "image": png_data_url(o.pixels),
                }
                for o in outputs
            ],  # fmt: skip
        }


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "mnistgan-demo"
    timeout = 60  # seconds a connection may stall mid-request before it is dropped

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        """Quiet: a page makes a request per stroke; errors are answered to the page."""

    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        path = urlparse(self.path).path
        if path in ("/", "/index.html"):
            self.reply(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        elif path == "/api/models":
            self.reply_json(HTTPStatus.OK, self.server.models_json())
        else:
            self.reply_json(HTTPStatus.NOT_FOUND, {"error": f"{path}: no such page"})

    def do_POST(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path != "/api/translate":
            self.reply_json(HTTPStatus.NOT_FOUND, {"error": f"{url.path}: no such endpoint"})
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.reply_json(HTTPStatus.LENGTH_REQUIRED, {"error": "say the upload's length"})
            return
        if int(length) > MAX_UPLOAD_BYTES:
            self.close_connection = True  # the body is never read
            limit = MAX_UPLOAD_BYTES // (1024 * 1024)
            message = f"the upload is {int(length):,} bytes, over the limit of {limit} MB"
            self.reply_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": message})
            return
        data = self.rfile.read(int(length))
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            answer = self.server.translate(data, query)
        except MnistganError as error:
            self.reply_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        except Exception as error:  # a bug of ours: the page says so, the server goes on
            message = f"the demo failed on this image ({type(error).__name__}: {error})"
            print(f"error: {message}", file=sys.stderr)
            self.reply_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message})
            return
        self.reply_json(HTTPStatus.OK, answer)

    def reply_json(self, status: HTTPStatus, value: dict) -> None:
        self.reply(status, json.dumps(value).encode(), "application/json")

    def reply(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)


def start_server(models: list[LoadedModel], host: str, port: int) -> DemoServer:
    """A server bound to host:port (0: any free port), not yet serving."""
    try:
        return DemoServer((host, port), models)
    except OSError as error:
        raise MnistganError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
