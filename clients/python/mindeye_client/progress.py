"""What ``progress=True`` draws on stderr: one line, redrawn in place."""

from __future__ import annotations

import sys


def bytes_bar(name: str):
    def report(sent: int, total: int) -> None:
        _draw(f"{name} {_bar(sent / total if total else 1)} {sent / 2**20:.1f}/{total / 2**20:.1f} MiB", sent >= total)

    return report


def job_bar(job: dict) -> None:
    done = job["status"] in ("succeeded", "failed", "canceled", "expired")
    message = job.get("progress_message") or ""
    _draw(f"{job['id']} {_bar(job.get('progress') or 0)} {job['status']} {message}", done)


def _bar(fraction: float, width: int = 30) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * width))
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:3.0f}%"


def _draw(line: str, final: bool) -> None:
    sys.stderr.write(f"\r{line:<79}" + ("\n" if final else ""))
    sys.stderr.flush()
