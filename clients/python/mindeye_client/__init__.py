"""Python client for the mindeye-serve API (see docs/api.md)."""

from .client import Client, betas_of
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeadlineExceededError,
    InternalServerError,
    JobCanceledError,
    MethodNotAllowedError,
    MindEyeError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    UpstreamError,
    WebhookVerificationError,
)
from .webhooks import verify_webhook

__version__ = "0.1.0"

__all__ = [
    "Client",
    "betas_of",
    "verify_webhook",
    "MindEyeError",
    "APIError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "MethodNotAllowedError",
    "ConflictError",
    "DeadlineExceededError",
    "PayloadTooLargeError",
    "UnsupportedMediaTypeError",
    "UnprocessableError",
    "RateLimitError",
    "InternalServerError",
    "UpstreamError",
    "ServiceUnavailableError",
    "UnexpectedResponseError",
    "JobCanceledError",
    "WebhookVerificationError",
]
