"""Auth's contract errors beyond the shared ones (app/errors.py): email verification."""

from __future__ import annotations

from app.errors import Conflict, Forbidden, RuleViolation


class EmailNotVerified(Forbidden):
    code = "EMAIL_NOT_VERIFIED"
    message = "Verify your email address first: open the link we sent (POST /auth/resend-verification sends a new one)"


class EmailAlreadyVerified(Conflict):
    code, message = "EMAIL_ALREADY_VERIFIED", "This account's email address is already verified"


class InvalidVerificationToken(RuleViolation):
    code = "INVALID_VERIFICATION_TOKEN"
    message = "This verification link is not valid: it was used, has expired, was replaced by a newer one, or is another account's"
