"""What can go wrong with a request, in the app's own words: no HTTP here.

Lower layers raise these; ``errors.py``, at the edge, maps each to its status code. The message
is what the client is told, so it says what was wrong and what to do.
"""


class KneeGradeError(Exception):
    """A request that cannot be served as asked."""


class UploadTooLarge(KneeGradeError):
    """A body, file or image above its limit."""


class UnsupportedFormat(KneeGradeError):
    """An image, but of a format or DICOM compression that is not read."""


class InvalidUpload(KneeGradeError):
    """Empty, corrupt or not an image at all; a malformed DICOM or zip."""


class ModelUnavailable(KneeGradeError):
    """The model asked for is configured but not loaded (it failed to load, or is missing)."""


class UnknownModel(ModelUnavailable):
    """No model of that id was ever configured on this server."""


class TooManyRequests(KneeGradeError):
    """Over a rate limit: the message says which, ``retry_after`` when to try again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(f"{message}; try again in {retry_after} s")
        self.retry_after = retry_after


class NotFound(KneeGradeError):
    """No such record among the caller's own."""


class Conflict(KneeGradeError):
    """The request clashes with what was done before (a deleted upload's idempotency key)."""
