"""Typed errors: each problem+json ``code`` of the API (core/contracts/errors.ts) maps to one class."""

from __future__ import annotations

from typing import Any, Mapping, Optional


class MindEyeError(Exception):
    """Base of every error this client raises."""


class APIError(MindEyeError):
    """The API answered with an RFC 9457 problem. ``detail`` says what to change."""

    def __init__(self, problem: Mapping[str, Any], retry_after: Optional[float] = None):
        self.problem = dict(problem)
        self.code: Optional[str] = self.problem.get("code")
        self.status: Optional[int] = self.problem.get("status")
        self.title: str = self.problem.get("title", "")
        self.detail: str = self.problem.get("detail", "")
        self.request_id: Optional[str] = self.problem.get("request_id")
        #: Seconds to wait before retrying (429 and 503), from the Retry-After header.
        self.retry_after = retry_after
        #: The job whose failure this is, when raised by ``Client.wait``.
        self.job: Optional[dict] = None
        super().__init__(f"{self.detail or self.title} ({self.code}, request {self.request_id})")


class BadRequestError(APIError):
    """400: the request's shape is wrong (``problem["errors"]`` lists the fields)."""


class AuthenticationError(APIError):
    """401: the API key is missing, unknown or revoked."""


class PermissionDeniedError(APIError):
    """403: not allowed, or a signed URL is invalid or expired."""


class NotFoundError(APIError):
    """404: no such resource in your lab (or model, index)."""


class MethodNotAllowedError(APIError):
    """405."""


class ConflictError(APIError):
    """409: the resource is not in a state that allows this (e.g. an upload not completed)."""


class PayloadTooLargeError(APIError):
    """413: the body, file or synchronous request is too large (``problem["limit_bytes"]``)."""


class UnsupportedMediaTypeError(APIError):
    """415: an unsupported content type or file format."""


class UnprocessableError(APIError):
    """422: the input was read but does not fit (voxel count, grid, preprocessing, NaNs, ...)."""


class RateLimitError(APIError):
    """429: too many requests; wait ``retry_after`` seconds."""


class InternalServerError(APIError):
    """500: the service failed; retrying with the same Idempotency-Key is safe."""


class UpstreamError(APIError):
    """502: a backing service did not answer."""


class ServiceUnavailableError(APIError):
    """503: at capacity or still starting; wait ``retry_after`` seconds."""


class DeadlineExceededError(APIError):
    """504: a job's error when it did not finish by its deadline (it is ``expired``; ``.job`` is set)."""


#: The API's closed list of codes: code -> (HTTP status, class raised).
ERROR_CODES: dict = {
    "invalid_request": (400, BadRequestError),
    "unauthorized": (401, AuthenticationError),
    "forbidden": (403, PermissionDeniedError),
    "invalid_signature": (403, PermissionDeniedError),
    "not_found": (404, NotFoundError),
    "method_not_allowed": (405, MethodNotAllowedError),
    "conflict": (409, ConflictError),
    "payload_too_large": (413, PayloadTooLargeError),
    "sync_limit_exceeded": (413, PayloadTooLargeError),
    "unsupported_media_type": (415, UnsupportedMediaTypeError),
    "idempotency_key_reused": (422, UnprocessableError),
    "idempotency_key_in_use": (409, ConflictError),
    "unsupported_format": (415, UnsupportedMediaTypeError),
    "invalid_file": (422, UnprocessableError),
    "truncated_file": (422, UnprocessableError),
    "file_too_large": (413, PayloadTooLargeError),
    "decompression_bomb": (413, PayloadTooLargeError),
    "voxel_count_mismatch": (422, UnprocessableError),
    "betas_transposed": (422, UnprocessableError),
    "grid_mismatch": (422, UnprocessableError),
    "non_finite_values": (422, UnprocessableError),
    "invalid_preprocessing": (422, UnprocessableError),
    "betas_transposed": (422, UnprocessableError),
    "upload_not_ready": (409, ConflictError),
    "model_not_found": (404, NotFoundError),
    "model_cannot_reconstruct": (422, UnprocessableError),
    "index_not_found": (404, NotFoundError),
    "invalid_bundle": (500, InternalServerError),
    "invalid_vector": (422, UnprocessableError),
    "webhook_url_refused": (422, UnprocessableError),
    "job_not_cancelable": (409, ConflictError),
    "deadline_exceeded": (504, DeadlineExceededError),
    "rate_limited": (429, RateLimitError),
    "overloaded": (503, ServiceUnavailableError),
    "not_ready": (503, ServiceUnavailableError),
    "upstream_unavailable": (502, UpstreamError),
    "internal_error": (500, InternalServerError),
}

_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableError,
    429: RateLimitError,
    500: InternalServerError,
    502: UpstreamError,
    503: ServiceUnavailableError,
    504: DeadlineExceededError,
}


def error_from_problem(problem: Mapping[str, Any], retry_after: Optional[float] = None) -> APIError:
    """The error for a problem object (a response body, or a failed job's ``error``).

    A code this client does not know yet (a newer server) still gets the class of its HTTP status.
    """
    known = ERROR_CODES.get(problem.get("code"))
    cls = known[1] if known else _BY_STATUS.get(problem.get("status"), APIError)
    return cls(problem, retry_after)


class UnexpectedResponseError(MindEyeError):
    """An answer that is not the API's (a proxy's error page, another server at that URL)."""

    def __init__(self, status: int, text: str, url: str):
        self.status = status
        self.text = text
        super().__init__(f"{url} answered {status} without a problem object: {text[:200]!r}")


class JobCanceledError(MindEyeError):
    """The job was canceled (or expired without an error) instead of finishing."""

    def __init__(self, job: dict):
        self.job = job
        super().__init__(f"job {job.get('id')} was {job.get('status')}")


class WebhookVerificationError(MindEyeError):
    """A webhook's signature or timestamp does not check out: do not trust its body."""
