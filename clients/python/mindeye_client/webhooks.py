"""Standard Webhooks verification of the API's job events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Mapping, Optional, Union

from .errors import WebhookVerificationError

#: Webhooks older or newer than this (seconds) are refused, against replays.
TOLERANCE_SECONDS = 5 * 60


def verify_webhook(
    secret: str,
    body: Union[bytes, str],
    headers: Mapping[str, str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: Optional[float] = None,
) -> Any:
    """Checks a webhook's signature over its raw body and returns the parsed event.

    ``secret`` is your lab's ``whsec_...`` (``Client.webhook_secret()``; during a rotation try each).
    ``body`` must be the raw bytes received, before any JSON parsing. Raises WebhookVerificationError.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    timestamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not Unix seconds: {timestamp!r}") from None
    if abs((time.time() if now is None else now) - sent) > tolerance:
        raise WebhookVerificationError(f"webhook-timestamp {sent} is more than {tolerance} s from now")
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    key = base64.b64decode(secret[len("whsec_") :] if secret.startswith("whsec_") else secret)
    signed = msg_id.encode("utf-8") + b"." + timestamp.encode("utf-8") + b"." + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return json.loads(raw)
    raise WebhookVerificationError("no webhook-signature matches this secret and body")
