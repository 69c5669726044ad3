"""Errors a user can act on, in Chinese first with English alongside.

The engine says what went wrong by the class it raises, never by an HTTP status: the web
adapter maps classes to statuses in one table (web/errors.py), the CLI prints the message.
Every class is a DataError, so "any problem with what the user gave us" is one except clause.
"""


class DataError(Exception):
    """Bad input data: the message says what is wrong and how to fix it. ogc_type: the OGC API
    exception type URI an /ogcapi answer names (e.g. no-such-job), where the standard defines one."""

    ogc_type: str | None = None

    def __init__(self, message_zh: str, message_en: str, details: dict | None = None):
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details or {}


class NotFoundError(DataError):
    """An unknown district, layer kind, section, version or result."""


class TooLargeError(DataError):
    """An upload or archive over a configured limit."""


class UnsupportedFormatError(DataError):
    """A file type or request body the service does not read."""


class ConflictError(DataError):
    """The thing to create exists already."""


class AuthRequiredError(DataError):
    """The action needs a logged-in user."""


class ForbiddenError(DataError):
    """The logged-in user's role does not allow the action."""


class RateLimitedError(DataError):
    """Too many requests from one client in the window."""


class UnavailableError(DataError):
    """A component the answer needs is not installed on this server (fonts, PDF renderer)."""


class StorageFullError(UnavailableError):
    """The disk (or the database's space) is full: nothing was saved; reads go on."""

    def __init__(self, message_zh: str = "服务器存储空间已满，本次操作未保存（已有数据未受影响）；请联系管理员清理磁盘后重试",
                 message_en: str = "the server's storage is full: nothing was saved (existing data are unaffected); "
                                   "free disk space and retry", **kw):
        super().__init__(message_zh, message_en, **kw)


def is_disk_full(exc: BaseException) -> bool:
    """An OS or GDAL write error that means the disk is full (ENOSPC, EDQUOT, GDAL's 'No space left on device')."""
    import errno

    return (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or "No space left on device" in str(exc)


class DatabaseUnavailableError(UnavailableError):
    """The state database cannot be reached just now (the answer comes back once it can)."""


class ConfigError(Exception):
    """A shipped or configured file fails validation: start-up must stop, naming file and field."""

    def __init__(self, path, field: str, problem: str):
        super().__init__(f"{path}: 字段 {field!s}: {problem}")
        self.path = str(path)
        self.field = field
        self.problem = problem
