"""Errors raised by the delivery channels (SMS providers, webhooks).

The outbox decides what to do with a failed delivery from the class of the error alone:

- ``TemporaryProviderError``: the provider or the receiver may accept the same message later (timeout,
  connection refused, HTTP 5xx, 408, 429): the row is retried with backoff.
- ``PermanentProviderError``: sending the same message again cannot succeed (refused number, bad
  credentials, 4xx, a webhook target on a private address): the row ends ``failed`` with the reason.

The message of both is French and meant to be shown to agents and support staff as the reason.
"""


class ProviderError(Exception):
    """Base class: a message could not be delivered."""


class TemporaryProviderError(ProviderError):
    """The delivery failed but may succeed if retried later."""


class PermanentProviderError(ProviderError):
    """The delivery failed and retrying the same message would fail again."""
