"""The sample API as ``resourcekit serve deployed_sample:site`` imports it in each worker.

Settings from the environment, as ``python -m sample_project`` reads them: ``DATABASE_URL``,
``REDIS_URL`` (idempotency keys and rate-limit counters shared by every worker and process),
``SAMPLE_API_TOKEN``, ``SAMPLE_TRUSTED_PROXIES`` and ``SAMPLE_IDEMPOTENCY_LOCK_TTL``.
"""

from __future__ import annotations

import os

from sample_project.app import create_site
from sample_project.stores import redis_stores

_idempotency, _rate_limits = redis_stores(
    os.environ["REDIS_URL"], lock_ttl=int(os.environ.get("SAMPLE_IDEMPOTENCY_LOCK_TTL", "60"))
)
site = create_site(
    os.environ["DATABASE_URL"],
    api_token=os.environ["SAMPLE_API_TOKEN"],
    trusted_proxies=[p for p in os.environ.get("SAMPLE_TRUSTED_PROXIES", "").split(",") if p],
    idempotency_store=_idempotency,
    rate_limit_store=_rate_limits,
)
