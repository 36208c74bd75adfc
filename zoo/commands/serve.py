"""`python -m zoo.serve [--model NAME|PATH] [--host H] [--port P] [--runtime auto|keras|onnx]`

Serves a reader over HTTP with the standard library alone: with the light install (`pip install -e .`:
numpy, Pillow, ONNX Runtime) a shipped model is served from its model.onnx, no MLflow, TensorFlow or
Keras. It answers what `mlflow models serve` of a zoo model answers (zoo.inference.http_server):

    python -m zoo.serve --port 5001 &
    curl -s localhost:5001/invocations -H 'Content-Type: application/json' \\
         -d "{\\"inputs\\": [\\"$(base64 -w0 captcha.png)\\"]}"
    # {"predictions": [{"text": "<what it read>", "confidence": <0..1>, "error": null}]}

Listens on 127.0.0.1 unless --host says otherwise (0.0.0.0: every interface). Ctrl-C stops it.
Exit status: 2 for a bad model or an address that cannot be bound.
"""

from __future__ import annotations

import sys

from zoo import cli
from zoo.inference.export import RUNTIMES
from zoo.inference.pretrained import DEFAULT_MODEL


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("python -m zoo.serve", __doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"shipped name, model folder, .keras file, models:/... "
                        f"or runs:/... (default {DEFAULT_MODEL})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port (default 5001; 0 picks a free one)")
    parser.add_argument("--runtime", choices=RUNTIMES, default="auto", help="as zoo.predict's (default auto)")
    args = parser.parse_args(argv)
    from zoo import loading
    from zoo.inference import http_server

    try:
        reader = loading.load(args.model, runtime=args.runtime)
        httpd = http_server.server(reader, args.host, args.port)
    except (ValueError, ImportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    host, port = httpd.server_address[:2]
    print(f"serving {reader.source} on http://{host}:{port}/invocations (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
