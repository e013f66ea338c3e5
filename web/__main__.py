"""``python -m web [--host H] [--port P]``: serve the chat page and the API on the settings' index.

``rag serve`` builds a missing index and then hands over to this (the library never imports the web app:
``web`` imports ``rag``, not the reverse).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web", description=__doc__.splitlines()[0])
    parser.add_argument("--host", help="address to bind (default: RAG_HOST)")
    parser.add_argument("--port", type=int, help="port (default: RAG_PORT)")
    args = parser.parse_args(argv)

    import uvicorn

    from rag.config import get_settings
    from rag.engine import Engine
    from rag.index import IndexUnavailable

    from .app import create_app

    settings = get_settings()
    try:
        engine = Engine(settings, allow_empty=True)  # an empty base serves, so documents can be uploaded
    except IndexUnavailable as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(create_app(settings, engine), host=args.host or settings.host, port=args.port or settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
