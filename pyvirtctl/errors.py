"""The error classes every layer raises; `cli.main` is the only place that prints them.

A `CLIError`'s text is printed exactly as it is (one line on stderr, exit status 1), so commands
build virtctl's message, prefix included, and raise it; they never print errors themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CLIError(Exception):
    """An error virtctl would print as-is: the message is the whole line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def wrap(self, prefix: str) -> CLIError:
        """The same error with virtctl's command prefix in front (keeps the class and fields)."""
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        clone.message = prefix + self.message
        Exception.__init__(clone, clone.message)
        return clone


class ConfigError(CLIError):
    """The client could not be built: kubeconfig, context, credentials, certificates."""


class ApiError(CLIError):
    """A non-2xx answer from the API server, with client-go's text for it."""

    def __init__(self, message: str, status: int = 0, reason: str = "", body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.body = body

    @property
    def not_found(self) -> bool:
        return self.status == 404


class TransportError(CLIError):
    """No HTTP answer at all: refused, reset, timed out, TLS failure. Text: `<Method> "<url>": <reason>`."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class InputError(CLIError):
    """The command line itself is wrong (a usage error, a name that cannot be part of a URL).

    Found before anything is sent, and reported without contacting the server (no version probe).
    """


class UsageError(InputError):
    """A command-line error found while parsing (cobra/pflag wording)."""


@contextmanager
def prefixed(prefix: str) -> Iterator[None]:
    """Put virtctl's command prefix in front of any CLIError raised inside the block.

    Used around building a request, so a name the URL builder refuses gets the same words the
    failed call would have had (`Error starting VirtualMachine invalid resource name ...`).
    """
    try:
        yield
    except CLIError as e:
        if not prefix:
            raise
        raise e.wrap(prefix) from None
