"""Errors raised by providers. Every message is safe to show to an end user."""

from __future__ import annotations


class ProviderError(Exception):
    """Base class: an upstream could not give us what we asked for.

    ``str(error)`` is a short sentence fit for a chat message; it never contains
    tokens, headers or raw response bodies.
    """

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider

    @property
    def user_message(self) -> str:
        """The text to show a user, naming the provider when known."""
        text = str(self)
        return f"{self.provider}: {text}" if self.provider else text


class ResponseError(ProviderError):
    """The upstream answered, but with a failure or with something we cannot read."""


class RateLimited(ProviderError):
    """The upstream asked us to slow down (HTTP 429 or a quota message)."""

    def __init__(
        self, message: str, *, provider: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """The upstream refused our credentials and getting new ones failed."""


class ProviderTimeout(ProviderError):
    """The upstream took longer than we allow."""


class ProviderUnavailable(ProviderError):
    """The upstream cannot be reached or answered with a server error."""


class UnknownModel(ProviderError):
    """No model matches the name; ``suggestions`` lists close matches."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown model '{name}'.{hint}")
        self.name = name
        self.suggestions = suggestions


class InvalidOption(ProviderError):
    """An option value is outside what the model accepts."""
