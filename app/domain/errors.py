"""Coded errors: what the caller did wrong, in a form the API can show as it is."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserError:
    """One thing the caller can fix. `field` is the path into the input."""

    code: str
    message: str
    field: tuple[str, ...] | None = None

    def under(self, *prefix: str) -> UserError:
        """The same error, its path placed under `prefix` (e.g. an input's name)."""
        return UserError(self.code, self.message, (*prefix, *(self.field or ())))


class InvalidInput(Exception):
    """Raised by validation with every problem found, so the caller sees them all at once."""

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__("; ".join(f"{e.code}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, code: str, message: str, *path: str) -> InvalidInput:
        return cls([UserError(code, message, path or None)])


@dataclass
class ErrorList:
    """Collects errors while validating several fields, then raises them together."""

    errors: list[UserError] = field(default_factory=list)

    def add(self, code: str, message: str, *path: str) -> None:
        self.errors.append(UserError(code, message, path or None))

    def extend(self, errors: list[UserError]) -> None:
        self.errors.extend(errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


def check_batch_size(size: int, limit: int) -> None:
    if size > limit:
        raise RequestError("BATCH_TOO_LARGE", f"{size} inputs in one call; at most {limit}.")


class RequestError(Exception):
    """A fault in the request itself (bad argument, bad cursor, missing key), with a stable code.

    Shown as a GraphQL error with `extensions.code`, never masked.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
