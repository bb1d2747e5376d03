"""The project's exceptions: one base, so the CLI and handlers turn any into a one-line reason."""


class RecorderError(Exception):
    """Base of every error the package raises on purpose; str(e) is a one-line reason."""

    #: short machine-readable code (used as a FAILED reason and a metric dimension)
    code = "error"


class MediaError(RecorderError):
    """The media (Matroska/KVS) could not be read or decoded."""

    code = "media_error"


class KvsServiceError(MediaError):
    """KVS returned an AWS_KINESISVIDEO_ERROR_CODE tag or an API error."""

    code = "kvs_error"


class MetadataError(RecorderError):
    """SIPREC metadata (or the event that carries it) is invalid or hostile."""

    code = "metadata_error"


class EventError(RecorderError):
    """A Chime Streaming Status event or a queue job is not what the pipeline expects."""

    code = "event_error"


class StorageError(RecorderError):
    """Writing a recording failed (S3 access denied, KMS denial, missing bucket...).

    `code` names the cause (`s3_access_denied`, `kms_access_denied`, `bucket_missing`...): it
    becomes the call's FAILED reason and a metric, so a ghost recording is never silent.
    """

    code = "storage_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code
