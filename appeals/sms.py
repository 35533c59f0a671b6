"""The SMS interface. Production plugs in the city's SMS gateway by naming a backend class in
SMS_BACKEND; the default console backend writes the message to the log, with the number masked."""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from appeals.validators import mask_phone

logger = logging.getLogger("appeals.sms")


class ConsoleBackend:
    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), text)


class LocmemBackend:
    """Keeps messages in `outbox`, for tests."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


def send_sms(phone: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(phone, text)
