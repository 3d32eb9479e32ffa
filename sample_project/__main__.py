"""``python -m sample_project``: serve the weather-station API with waitress.

Settings from the environment: ``HOST`` (default 127.0.0.1), ``PORT`` (8080), ``THREADS`` (4),
``SAMPLE_DB`` (``sample.db`` in the working folder), ``SAMPLE_API_TOKEN`` (the bearer token for
writes; a random one is made and printed when unset) and ``SAMPLE_RATE_LIMIT`` (e.g.
``600/minute`` per client; off when unset).
"""

from __future__ import annotations

import logging
import os

import waitress

from .app import create_site


def _int_setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise SystemExit(f"{name} must not be negative, not {number}")
    return number


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host = os.environ.get("HOST", "").strip() or "127.0.0.1"
    port = _int_setting("PORT", 8080)
    threads = _int_setting("THREADS", 4) or 1
    db_path = os.path.abspath(os.environ.get("SAMPLE_DB", "").strip() or "sample.db")
    token = os.environ.get("SAMPLE_API_TOKEN", "").strip() or None
    rate_limit = os.environ.get("SAMPLE_RATE_LIMIT", "").strip() or None
    try:
        site = create_site(db_path, api_token=token, rate_limit=rate_limit)
    except ValueError as exc:  # a malformed SAMPLE_RATE_LIMIT
        raise SystemExit(f"SAMPLE_RATE_LIMIT: {exc}") from None
    shown_host = f"[{host}]" if ":" in host else host
    print(f"{site.title}: serving http://{shown_host}:{port}/ (database {db_path})", flush=True)
    if token is None:
        print(f"writes need: Authorization: Bearer {site.api_token}", flush=True)
    try:
        waitress.serve(site, host=host, port=port, threads=threads)
    finally:
        site.close()


if __name__ == "__main__":
    main()
