"""The one-time-code steps shared by every page where someone without an account proves an e-mail address or a
mobile number (the booking journey, registering to a collective session): change the contact, send a code,
check it. The confirmed contact is kept in the session for ``VERIFIED_FOR`` seconds."""

from __future__ import annotations

import time

from django.contrib import messages
from django.shortcuts import redirect

from .. import otp, ratelimit
from ..forms import CodeForm, ContactForm

VERIFIED_SESSION_KEY = "journey_contact"
PENDING_SESSION_KEY = "journey_pending_contact"
VERIFIED_FOR = 30 * 60  # seconds a confirmed contact may book without a new code


def verified_contact(request) -> dict | None:
    contact = request.session.get(VERIFIED_SESSION_KEY)
    if not isinstance(contact, dict) or time.time() - contact.get("at", 0) > VERIFIED_FOR:
        return None
    return contact


def pending_contact(request) -> dict | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    return pending if isinstance(pending, dict) and "destination" in pending else None


def contact_step(request, *, action: str, here: str, pending: dict | None, verified: dict | None):
    """Handle ``change_contact`` / ``send_code`` / ``verify_code``. Returns ``(response, contact_form,
    code_form)``: a response (redirect or 429) when the step is done, else the bound forms with their errors."""
    contact_form = code_form = None
    if action == "change_contact":
        request.session.pop(PENDING_SESSION_KEY, None)
        request.session.pop(VERIFIED_SESSION_KEY, None)
        return redirect(here), None, None
    if action == "send_code" and not verified:
        contact_form = ContactForm(request.POST)
        if not ratelimit.hit(request, "otp_send"):
            return ratelimit.too_many_requests(request, "otp_send"), None, None
        if contact_form.is_valid():
            destination = contact_form.cleaned_data["destination"]
            if not ratelimit.hit(request, "otp_send", extra=destination):
                return ratelimit.too_many_requests(request, "otp_send"), None, None
            try:
                otp.code_send(channel=contact_form.cleaned_data["channel"], destination=destination)
            except otp.CodeNotSent as error:
                contact_form.add_error(None, error.message)
            else:
                request.session[PENDING_SESSION_KEY] = {"channel": contact_form.cleaned_data["channel"],
                                                        "destination": destination}
                messages.success(request, f"Un code vous a été envoyé ({destination}). Il est valable 10 minutes.")
                return redirect(here), None, None
    elif action == "verify_code" and pending and not verified:
        if not ratelimit.hit(request, "otp_verify"):
            return ratelimit.too_many_requests(request, "otp_verify"), None, None
        code_form = CodeForm(request.POST)
        if code_form.is_valid():
            try:
                otp.code_verify(destination=pending["destination"], code=code_form.cleaned_data["code"])
            except otp.CodeError as error:
                code_form.add_error("code", error.message)
            else:
                request.session[VERIFIED_SESSION_KEY] = {**pending, "at": time.time()}
                request.session.pop(PENDING_SESSION_KEY, None)
                messages.success(request, "Vos coordonnées sont confirmées.")
                return redirect(here), None, None
    return None, contact_form, code_form
