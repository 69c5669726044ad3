"""Errors a user can act on, in Chinese first with English alongside."""


class DataError(Exception):
    """Bad input data: the message says what is wrong and how to fix it."""

    def __init__(self, message_zh: str, message_en: str, status: int = 400, details: dict | None = None):
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en
        self.status = status
        self.details = details or {}

    def to_dict(self) -> dict:
        out = {"error": self.message_zh, "error_en": self.message_en, "status": self.status}
        if self.details:
            out["details"] = self.details
        return out


class ConfigError(Exception):
    """A shipped or configured file fails validation: start-up must stop, naming file and field."""

    def __init__(self, path, field: str, problem: str):
        super().__init__(f"{path}: 字段 {field!s}: {problem}")
        self.path = str(path)
        self.field = field
        self.problem = problem
