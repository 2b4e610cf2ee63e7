"""The mindeye-serve API for a lab's scripts: upload sessions, embed, retrieve, follow jobs."""

from __future__ import annotations

import io
import json
import math
import os
import struct
import time
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import requests

from . import progress as bars
from .arrays import array_of, load_npy, npy_bytes, tensor_of
from .errors import JobCanceledError, UnexpectedResponseError, error_from_problem
from .events import job_events
from .webhooks import verify_webhook

DEFAULT_URL = "http://127.0.0.1:8787"
TERMINAL = ("succeeded", "failed", "canceled", "expired")

#: What ``upload`` takes: a file path, a nibabel image (sent as NIfTI) or an array (sent as .npy).
Uploadable = Union[str, "os.PathLike[str]", np.ndarray, Any]
#: Betas: an array ([trials, voxels] or [voxels]), an upload (its id or the dict ``upload`` returns), a list
#: of uploads or ``{"upload_id", "dataset"?, "trials"?}`` dicts (sessions, each z-scored on its own), or a
#: ``betas`` object of the API as it is.
Betas = Any
Progress = Union[bool, Callable[..., None], None]


class Client:
    """One lab's view of the API.

    ``base_url`` defaults to ``$MINDEYE_API_URL`` (else the local ``mindeye serve``), ``api_key`` to
    ``$MINDEYE_API_KEY``. Every failure the API reports is raised as the ``APIError`` subclass of its
    code (``mindeye_client.errors``); network failures are ``requests`` exceptions.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = 120,
        session: Optional[requests.Session] = None,
    ):
        self.base_url = (base_url or os.environ.get("MINDEYE_API_URL") or DEFAULT_URL).rstrip("/")
        key = api_key or os.environ.get("MINDEYE_API_KEY")
        if not key:
            raise ValueError("pass api_key=, or set MINDEYE_API_KEY (the local key is in .mindeye/local-api-key)")
        self.timeout = timeout
        self._api = session or requests.Session()
        self._api.headers["Authorization"] = f"Bearer {key}"
        # Signed URLs (uploads, outputs) carry their own authorization: the key never goes there.
        self._signed = requests.Session()

    def close(self) -> None:
        self._api.close()
        self._signed.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- models, indexes -------------------------------------------------------------------------

    def models(self) -> list:
        return self._json("GET", "/v1/models")["data"]

    def model(self, model_id: str) -> dict:
        return self._json("GET", f"/v1/models/{model_id}")

    def mask(self, model_id: str) -> np.ndarray:
        """The model's voxel mask over its grid, as booleans: ``volume[..., mask]`` in C order are its voxels."""
        response = self._request("GET", f"/v1/models/{model_id}/mask")
        return load_npy(response.content) > 0

    def indexes(self) -> list:
        return self._json("GET", "/v1/indexes")["data"]

    # -- uploads ---------------------------------------------------------------------------------

    def upload(
        self,
        data: Uploadable,
        *,
        filename: Optional[str] = None,
        model: Optional[str] = None,
        dataset: Optional[str] = None,
        layout: Optional[str] = None,
        progress: Progress = None,
    ) -> dict:
        """Uploads a whole session and has the API inspect it; returns the ready upload.

        ``data`` is a file path (streamed from disk), a nibabel image (sent as NIfTI) or a numpy array
        (sent as .npy: [trials, voxels] already masked, or a volume). ``model`` also reports how many of
        that model's voxels it holds. ``progress=True`` draws a bar on stderr, or pass ``f(sent, total)``.
        """
        body, name = _upload_body(data, filename)
        created = self._json("POST", "/v1/uploads", {"filename": name, "size": len(body)})
        report = bars.bytes_bar(name) if progress is True else progress or None
        target = created["upload"]
        headers = {**target.get("headers", {}), "Content-Length": str(len(body))}
        with body:
            self._check(self._signed.put(target["url"], data=_Counted(body, report), headers=headers, timeout=None))
        options = {k: v for k, v in (("model", model), ("dataset", dataset), ("layout", layout)) if v is not None}
        return self._json("POST", f"/v1/uploads/{created['id']}/complete", options)

    def get_upload(self, upload_id: str) -> dict:
        return self._json("GET", f"/v1/uploads/{upload_id}")

    def delete_upload(self, upload_id: str) -> None:
        self._request("DELETE", f"/v1/uploads/{upload_id}")

    # -- embeddings and retrievals ---------------------------------------------------------------

    def embed(
        self,
        model: str,
        betas: Betas,
        *,
        preprocessing: Optional[Mapping[str, Any]] = None,
        outputs: Sequence[str] = ("retrieval",),
        progress: Progress = None,
    ) -> dict:
        """Brain embeddings; the response with each of ``outputs`` as an array [trials, tokens, dim].

        Small requests answer at once; a whole session runs as a job, waited for here.
        """
        body = _without_none(
            {"model": model, "betas": betas_of(betas), "preprocessing": preprocessing,
             "outputs": list(outputs), "encoding": "base64"}
        )
        response = self._request("POST", "/v1/embeddings", body)
        if response.status_code == 202:
            job = self.wait(response.json(), progress=progress)
            files = job["outputs"]["files"]
            arrays = {name: load_npy(self.download(files[name])) for name in outputs}
            return {**job["outputs"], "model": model, "outputs": arrays, "job": job}
        result = response.json()
        result["outputs"] = {name: array_of(t) for name, t in result["outputs"].items()}
        return result

    def retrieve(
        self,
        index: str,
        *,
        betas: Betas = None,
        model: Optional[str] = None,
        embedding: Any = None,
        k: int = 10,
        preprocessing: Optional[Mapping[str, Any]] = None,
        filter: Optional[Mapping[str, Any]] = None,
        rerank: Optional[Mapping[str, Any]] = None,
        progress: Progress = None,
    ) -> dict:
        """The ``k`` nearest images of each trial (or ``average`` group), or of each ``embedding`` row.

        Returns ``{"index", "results": [[{"id", "score", "payload"}, ...] per row], ...}``; a whole
        session runs as a job, waited for here.
        """
        body = _without_none(
            {
                "index": index,
                "k": k,
                "model": model,
                "betas": None if betas is None else betas_of(betas),
                "embedding": None if embedding is None else tensor_of(embedding),
                "preprocessing": preprocessing,
                "filter": filter,
                "rerank": rerank,
            }
        )
        response = self._request("POST", "/v1/retrievals", body)
        if response.status_code == 202:
            job = self.wait(response.json(), progress=progress)
            # The results with each index image as a fresh signed URL (the stored file keeps only keys).
            return {**self._json("GET", f"/v1/jobs/{job['id']}/results"), "job": job}
        return response.json()

    # -- reconstructions -------------------------------------------------------------------------

    def reconstruct(
        self,
        model: str,
        betas: Betas,
        *,
        preprocessing: Optional[Mapping[str, Any]] = None,
        samples: Optional[int] = None,
        seed: Optional[int] = None,
        prior_steps: Optional[int] = None,
        decoder_steps: Optional[int] = None,
        guidance_scale: Optional[float] = None,
        img2img_strength: Optional[float] = None,
        outputs: Optional[Sequence[str]] = None,
        previews: Optional[bool] = None,
        deadline_seconds: Optional[int] = None,
        webhook: Optional[Mapping[str, Any]] = None,
        idempotency_key: Optional[str] = None,
        wait: bool = True,
        timeout: Optional[float] = None,
        progress: Progress = None,
    ) -> dict:
        """Reconstructs the seen image of each input (a row of betas after ``average``): always a job.

        Options left out take the model's ``reconstruction_defaults`` (MindEye1: 16 samples, seed 42,
        20 decoder steps, guidance 3.5, img2img 0.85) and every output. Waits for the job and returns its outputs,
        ``{"reconstructions": [{"input", "best": {"url", "width", "height", "clip_score"}, "candidates",
        "blurry", "seed"}, ...], "files": {..., "scores.json"}, ..., "job"}``: fetch a picture with
        ``download(r["best"])``. ``progress`` (True for a bar, or a callable given the job at each event,
        with ``progress_detail``) watches it; ``wait=False`` returns the queued job instead.
        """
        body = _without_none(
            {
                "model": model,
                "betas": betas_of(betas),
                "preprocessing": preprocessing,
                "samples": samples,
                "seed": seed,
                "prior_steps": prior_steps,
                "decoder_steps": decoder_steps,
                "guidance_scale": guidance_scale,
                "img2img_strength": img2img_strength,
                "outputs": None if outputs is None else list(outputs),
                "previews": previews,
                "deadline_seconds": deadline_seconds,
                "webhook": None if webhook is None else dict(webhook),
            }
        )
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        queued = self._json("POST", "/v1/reconstructions", body, headers=headers)
        if not wait:
            return queued
        job = self.wait(queued, timeout=timeout, progress=progress)
        return {**job["outputs"], "job": job}

    # -- jobs ------------------------------------------------------------------------------------

    def job(self, job_id: str) -> dict:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def jobs(self, status: Optional[str] = None, limit: int = 20) -> Iterator[dict]:
        """The lab's jobs, newest first, page by page."""
        cursor = None
        while True:
            params = _without_none({"status": status, "limit": limit, "cursor": cursor})
            page = self._json("GET", "/v1/jobs", params=params)
            yield from page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def cancel(self, job: Union[str, Mapping[str, Any]]) -> dict:
        return self._json("POST", f"/v1/jobs/{_job_id(job)}/cancel")

    def events(self, job: Union[str, Mapping[str, Any]]) -> Iterator[Tuple[str, dict]]:
        """The job's server-sent events as ``(event, job)``: ``status`` first, ``progress`` in between."""
        with self._request("GET", f"/v1/jobs/{_job_id(job)}/events", stream=True, timeout=(10, 60)) as response:
            yield from job_events(response)

    def wait(
        self,
        job: Union[str, Mapping[str, Any]],
        *,
        timeout: Optional[float] = None,
        progress: Progress = None,
    ) -> dict:
        """Follows the job until it ends; returns it once succeeded.

        ``progress=True`` draws a bar on stderr; a callable gets the job at each event. A failed job raises
        the error of its ``error`` code (with ``.job`` set), and so does an expired one (``deadline_exceeded``);
        a canceled one raises JobCanceledError.
        """
        job_id = _job_id(job)
        report = bars.job_bar if progress is True else progress or None
        deadline = None if timeout is None else time.monotonic() + timeout
        current: Mapping[str, Any] = job if isinstance(job, Mapping) else self.job(job_id)
        while current["status"] not in TERMINAL:
            try:
                for _, current in self.events(job_id):
                    if report:
                        report(current)
                    if current["status"] in TERMINAL or (deadline and time.monotonic() > deadline):
                        break
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError):
                # A dropped stream is no verdict: poll once and reconnect.
                current = self.job(job_id)
            if current["status"] not in TERMINAL and deadline and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {current['status']} after {timeout} s")
        if current["status"] == "succeeded":
            # The events carry no inputs and the outputs' URLs were signed then: fetch them fresh.
            return self.job(job_id)
        if current["status"] == "failed" or (current["status"] == "expired" and current.get("error")):
            error = error_from_problem(current.get("error") or {})
            error.job = dict(current)
            raise error
        raise JobCanceledError(dict(current))

    # -- files and webhooks ----------------------------------------------------------------------

    def download(self, file: Union[str, Mapping[str, Any]], dest: Optional[str] = None) -> Union[bytes, str]:
        """A job's output file (an entry of ``outputs.files``, or its URL): its bytes, or written to ``dest``."""
        url = file if isinstance(file, str) else file["url"]
        with self._signed.get(url, stream=dest is not None, timeout=self.timeout) as response:
            self._check(response)
            if dest is None:
                return response.content
            with open(dest, "wb") as out:
                for chunk in response.iter_content(1 << 20):
                    out.write(chunk)
        return dest

    def webhook_secret(self) -> dict:
        """``{"secret": "whsec_...", "previous": [...]}``: what ``verify_webhook`` checks signatures with."""
        return self._json("GET", "/v1/webhooks/secret")

    verify_webhook = staticmethod(verify_webhook)

    # -- plumbing --------------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self._request(method, path, body, **kwargs).json()

    def _request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        response = self._api.request(method, self.base_url + path, json=body, **kwargs)
        return self._check(response)

    @staticmethod
    def _check(response: requests.Response) -> requests.Response:
        if response.ok:
            return response
        retry_after = response.headers.get("retry-after")
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            try:
                problem = response.json()
            except ValueError:
                problem = None
            if isinstance(problem, dict) and "code" in problem:
                raise error_from_problem(problem, float(retry_after) if retry_after else None)
        raise UnexpectedResponseError(response.status_code, response.text, response.url)


def betas_of(betas: Betas) -> dict:
    """The API's ``betas`` object for what a script holds (see ``Betas``)."""
    if isinstance(betas, str):
        return {"upload_id": betas}
    if isinstance(betas, Mapping):
        if any(k in betas for k in ("upload_id", "sessions", "values", "base64")):
            return dict(betas)
        if "id" in betas:  # an upload as returned by Client.upload
            return {"upload_id": betas["id"]}
    if isinstance(betas, (list, tuple)) and betas and all(isinstance(s, (str, Mapping)) for s in betas):
        return {"sessions": [_session(s) for s in betas]}
    return tensor_of(betas)


def _session(session: Union[str, Mapping[str, Any]]) -> dict:
    if isinstance(session, str):
        return {"upload_id": session}
    if "upload_id" in session:
        return dict(session)
    return {"upload_id": session["id"]}


def _job_id(job: Union[str, Mapping[str, Any]]) -> str:
    return job if isinstance(job, str) else job["id"]


def _without_none(body: Mapping[str, Any]) -> dict:
    return {k: v for k, v in body.items() if v is not None}


def _upload_body(data: Uploadable, filename: Optional[str]):
    """(a sized, readable body, filename) for what ``upload`` was given."""
    if isinstance(data, (str, os.PathLike)):
        return _Sized(open(data, "rb"), os.path.getsize(data)), filename or os.path.basename(os.fspath(data))
    if isinstance(data, np.ndarray):
        raw = npy_bytes(data)
        return _Sized.of(raw), filename or "array.npy"
    if hasattr(data, "to_bytes") and hasattr(data, "header"):  # a nibabel single-file image
        return _Sized.of(_nifti_bytes(data)), filename or "volume.nii"
    raise TypeError(f"upload takes a path, a nibabel image or a numpy array; got {type(data).__name__}")


def _nifti_bytes(image: Any) -> bytes:
    """A nibabel image as one NIfTI file, with its scaling as it was.

    nibabel writes scl_slope 1 / scl_inter 0 for an unscaled image; the API reads "no scaling" (NaN or 0)
    on int16 as NSD's x300 storage, and an explicit 1 as values to use as they are. So an image that had no
    scaling keeps none.
    """
    raw = bytearray(image.to_bytes())
    if image.header.get_slope_inter()[0] is None:
        endian = image.header.endianness
        if struct.unpack(endian + "i", raw[:4])[0] == 348:  # NIfTI-1: float32 slope, inter at byte 112
            struct.pack_into(endian + "ff", raw, 112, math.nan, math.nan)
        else:  # NIfTI-2: float64 at byte 176
            struct.pack_into(endian + "dd", raw, 176, math.nan, math.nan)
    return bytes(raw)


class _Sized:
    """A readable body of known length, so it is sent with Content-Length (S3 needs it), not chunked."""

    def __init__(self, stream: Any, size: int):
        self.stream, self.size = stream, size

    @classmethod
    def of(cls, raw: bytes) -> "_Sized":
        return cls(io.BytesIO(raw), len(raw))

    def __len__(self) -> int:
        return self.size

    def __enter__(self) -> "_Sized":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stream.close()


class _Counted:
    """Reads a _Sized body for requests, reporting bytes sent."""

    def __init__(self, body: _Sized, report: Optional[Callable[[int, int], None]]):
        self.body, self.report, self.sent = body, report, 0

    def __len__(self) -> int:
        return self.body.size

    def read(self, n: int = -1) -> bytes:
        chunk = self.body.stream.read(n if n and n > 0 else 1 << 20)
        self.sent += len(chunk)
        if self.report and chunk:
            self.report(self.sent, self.body.size)
        return chunk


