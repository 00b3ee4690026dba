"""Development e-mail backend: print to the console and keep a copy that support staff read in the
console ("E-mails (développement)")."""

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.db import connection


class ConsoleAndDatabaseEmailBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        from .models import DevelopmentEmail

        sent = super().send_messages(email_messages)
        for message in email_messages:
            html = ""
            for content, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    html = content
            # DevelopmentEmail lives in the public schema, which is on every search path.
            DevelopmentEmail.objects.create(
                schema_name=connection.schema_name,
                from_email=message.from_email,
                to=", ".join(message.to),
                subject=message.subject,
                body=message.body,
                html=html,
            )
        return sent
