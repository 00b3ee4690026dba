"""Development provider: the SMS is written to the ``messaging.sms`` logger, nothing leaves the machine."""

from __future__ import annotations

import logging
import uuid

from messaging.sms.base import SendResult

logger = logging.getLogger("messaging.sms")


class LogProvider:
    name = "log"

    def __init__(self, credentials: dict | None = None):
        self.credentials = credentials or {}

    def send(self, *, sender: str, to: str, text: str) -> SendResult:
        message_id = str(uuid.uuid4())
        logger.info("SMS %s de %s à %s :\n%s", message_id, sender, to, text)
        return SendResult(provider_message_id=message_id)
