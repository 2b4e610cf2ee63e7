"""Server-sent events (the job event stream) read from a streamed ``requests`` response."""

from __future__ import annotations

import json
from typing import Iterator, Tuple

import requests


def job_events(response: requests.Response) -> Iterator[Tuple[str, dict]]:
    """Yields ``(event, job)`` per event; comments (heartbeats) and ids are skipped."""
    event, data = "message", []
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield event, json.loads("\n".join(data))
