"""`Idempotency-Key` on POST: a repeated key returns the first request's response instead of acting again.

The first request with a key claims it in Redis (SET NX) while it runs; a successful (2xx)
response is then stored for 24 hours under the key, with a fingerprint of the request. A repeat
with the same fingerprint gets the stored response (`Idempotent-Replayed: true`); a repeat while
the first still runs gets 409; the same key with a different request gets 422. A refused request
(4xx or 5xx) wrote nothing, so its claim is released and the client may retry with the same key.
Keys are per API key: two organizations never see each other's entries.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import redis
from flask import Response, request

from admin_ui.api.body import ApiError
from status_platform.config import active_settings
from status_platform.jobs.queues import get_redis

HEADER = "Idempotency-Key"
KEEP_SECONDS = 24 * 3600
CLAIM_SECONDS = 300
_RUNNING = "running"


@dataclass(frozen=True)
class Claim:
    key: str
    fingerprint: str


def _redis_key(api_key_id: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"{active_settings().RQ_QUEUE_PREFIX}:idempotency:{api_key_id}:{digest}"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.full_path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def begin(api_key_id: str) -> Claim | Response | None:
    """Claim the request's Idempotency-Key, or answer it from the first request's result.

    None when the request carries no key. Raises ApiError for a malformed key, a key in use by
    a running request (409) or by a different request (422), and when Redis is unreachable
    (503: without it the promise cannot be kept).
    """
    value = request.headers.get(HEADER)
    if value is None or request.method != "POST":
        return None
    value = value.strip()
    if not re.fullmatch(r"[\x21-\x7e]{1,255}", value):
        raise ApiError(400, f"{HEADER} must be 1 to 255 visible ASCII characters.", field=HEADER)
    key, fingerprint = _redis_key(api_key_id, value), _fingerprint()
    try:
        client = get_redis()
        if client.set(
            key, json.dumps({"state": _RUNNING, "fingerprint": fingerprint}), nx=True, ex=CLAIM_SECONDS
        ):
            return Claim(key, fingerprint)
        stored = client.get(key)
    except redis.RedisError:
        raise ApiError(503, f"Requests with an {HEADER} cannot be taken right now; retry shortly.") from None
    if stored is None:  # the claim expired between the two calls: treat as new
        return begin(api_key_id)
    entry = json.loads(stored)
    if entry["fingerprint"] != fingerprint:
        raise ApiError(422, f"This {HEADER} was used for a different request; use a new key.", field=HEADER)
    if entry["state"] == _RUNNING:
        raise ApiError(409, f"A request with this {HEADER} is still running; retry shortly.", field=HEADER)
    response = Response(entry["body"], status=entry["status"], mimetype=entry.get("mimetype"))
    response.headers["Idempotent-Replayed"] = "true"
    return response


def finish(claim: Claim, response: Response) -> None:
    """Keep a successful response for repeats; release the claim of a refused request."""
    try:
        client = get_redis()
        if 200 <= response.status_code < 300:
            entry = {
                "state": "done",
                "fingerprint": claim.fingerprint,
                "status": response.status_code,
                "body": response.get_data(as_text=True),
                "mimetype": response.mimetype,
            }
            client.set(claim.key, json.dumps(entry), ex=KEEP_SECONDS)
        else:
            client.delete(claim.key)
    except redis.RedisError:
        # The write is committed; a repeat within CLAIM_SECONDS still gets 409, later ones act again.
        pass
