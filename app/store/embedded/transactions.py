"""A transaction on the embedded store: it cannot roll back, but it fails as the server's does.

On a replica set a write error inside a transaction aborts it: every later command of that
transaction, and its commit, get NoSuchTransaction. Code that catches the error and carries on
(say, swallowing a DuplicateKeyError) therefore fails there, and `with_transaction` retries it
until it gives up. An `EmbeddedTransaction` marks itself aborted on the first error a command
raises and makes every later command, and the end of the work, raise the same error, so such
code fails here too. The first error reaches the caller as it was; nothing is retried, since the
writes before it stay (the embedded store keeps single-process ordered writes).
"""

from __future__ import annotations

from pymongo.errors import OperationFailure

NO_SUCH_TRANSACTION = 251


class EmbeddedTransaction:
    def __init__(self) -> None:
        self.aborted_by: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        """A command of this transaction failed: the transaction is aborted."""
        if self.aborted_by is None:
            self.aborted_by = error

    def check(self) -> None:
        """Before each command and at the commit: refuse when aborted, as the server does."""
        if self.aborted_by is not None:
            raise OperationFailure(
                "Transaction has been aborted: an earlier command of it failed "
                f"({self.aborted_by!r}).",
                NO_SUCH_TRANSACTION,
                {
                    "code": NO_SUCH_TRANSACTION,
                    "codeName": "NoSuchTransaction",
                    "errorLabels": ["TransientTransactionError"],
                },
            )
