"""A reader over HTTP with the standard library alone: the light install's server (no MLflow, no Keras).

It answers the same requests as `mlflow models serve` of a zoo model (zoo.inference.serving), so a
client never knows which of the two it talks to:

    POST /invocations   {"dataframe_split": {"columns": ["image"], "data": [["<base64 png>"], ...]}}
                        {"dataframe_records": [{"image": "<base64 png>"}, ...]}
                        {"inputs": ["<base64 png>", ...]}   (or "instances")
    -> 200 {"predictions": [{"text": ..., "confidence": ..., "error": ...}, ...]}
    GET /ping, /health  -> 200 (the model is loaded)

A request that is not one of those gets 400 with {"error_code": "BAD_REQUEST", "message": why}, as
MLflow answers; a body over `max_bytes` gets 413. One image that cannot be read gets its `error` and
null text and confidence; the others are answered (Reader.answer).
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from zoo.inference.reader import Reader

INPUT_COLUMN = "image"  # as the MLflow model's signature (zoo.inference.serving)
MAX_BYTES = 64 << 20  # a request body larger than this is refused (413)


class BadRequest(ValueError):
    """The request body is not one of the accepted shapes; says which are."""


ACCEPTED = ('{"dataframe_split": {"columns": ["image"], "data": [[b64], ...]}}, '
            '{"dataframe_records": [{"image": b64}, ...]} or {"inputs": [b64, ...]}')


def images_of(body: bytes) -> list:
    """The base64 images of a request body in any accepted shape."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the body is not JSON ({error}); send {ACCEPTED}") from None
    if not isinstance(request, dict):
        raise BadRequest(f"expected a JSON object: {ACCEPTED}")
    if "dataframe_split" in request:
        split = request["dataframe_split"]
        columns = split.get("columns") if isinstance(split, dict) else None
        if not isinstance(columns, list) or INPUT_COLUMN not in columns or not isinstance(split.get("data"), list):
            raise BadRequest(f"dataframe_split needs columns with {INPUT_COLUMN!r} and data rows: {ACCEPTED}")
        where = columns.index(INPUT_COLUMN)
        if not all(isinstance(row, list) and len(row) == len(columns) for row in split["data"]):
            raise BadRequest(f"every dataframe_split row needs {len(columns)} values (the columns)")
        return [row[where] for row in split["data"]]
    if "dataframe_records" in request:
        records = request["dataframe_records"]
        if not isinstance(records, list) or not all(isinstance(r, dict) and INPUT_COLUMN in r for r in records):
            raise BadRequest(f"dataframe_records needs a list of objects with {INPUT_COLUMN!r}: {ACCEPTED}")
        return [record[INPUT_COLUMN] for record in records]
    for key in ("inputs", "instances"):
        if key in request:
            items = request[key]
            if isinstance(items, dict) and INPUT_COLUMN in items:
                items = items[INPUT_COLUMN]
            if not isinstance(items, list):
                raise BadRequest(f"{key} needs a list of base64 images: {ACCEPTED}")
            return items
    raise BadRequest(f"no images in the request (keys {', '.join(map(str, request)) or 'none'}): send {ACCEPTED}")


def answers(reader: Reader, items: list) -> list[dict]:
    """Reader.answer, with a value that is not text (a number, null) answered by its own error."""
    texts = [i for i, item in enumerate(items) if isinstance(item, str)]
    rows = [{"text": None, "confidence": None, "error": f"expected base64 text of an image file, got "
             f"{type(item).__name__}"} for item in items]
    for index, row in zip(texts, reader.answer([items[i] for i in texts])):
        rows[index] = row
    return rows


def handler(reader: Reader, max_bytes: int = MAX_BYTES) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # one model call at a time: ONNX Runtime already uses every core

    class Handler(BaseHTTPRequestHandler):
        server_version = "captcha-zoo"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path in ("/ping", "/health"):
                self._send(HTTPStatus.OK, {"status": "ok", "model": reader.source})
            else:
                self._send(HTTPStatus.NOT_FOUND, {"error_code": "NOT_FOUND", "message": "GET /ping, /health; POST /invocations"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/invocations":
                self._send(HTTPStatus.NOT_FOUND, {"error_code": "NOT_FOUND", "message": "POST /invocations"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > max_bytes:  # answered before the body is read; the connection is then closed
                self.close_connection = True
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           {"error_code": "BAD_REQUEST", "message": f"body of {length:,} bytes; at most {max_bytes:,}"})
                return
            try:
                items = images_of(self.rfile.read(length))
            except BadRequest as error:
                self._send(HTTPStatus.BAD_REQUEST, {"error_code": "BAD_REQUEST", "message": str(error)})
                return
            with lock:
                rows = answers(reader, items)
            self._send(HTTPStatus.OK, {"predictions": rows})

        def _send(self, status: HTTPStatus, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - one plain line per request
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def server(reader: Reader, host: str = "127.0.0.1", port: int = 5001, max_bytes: int = MAX_BYTES) -> ThreadingHTTPServer:
    """A started-on-demand server (call `serve_forever()`); port 0 picks a free one (`server_address`)."""
    return ThreadingHTTPServer((host, port), handler(reader, max_bytes))
