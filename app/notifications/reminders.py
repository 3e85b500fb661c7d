"""Payment reminders to the borrower: 3 days before each due date, and the day after a due date that was missed.

The rules are pure (`reminders_due`, `next_reminder`: installments and a date in, no I/O). The job
(`send_payment_reminders`, run by app/jobs/reminders.py) finds the loans to look at through the
reminder index (a Query per shard of GSI2's REMIND# partitions, no Scan): an active loan carries the date
of its next reminder there, from its activation on. For each such loan it reads the loan and its
schedule, sends what is due (each reminder once: its delivery marker names the loan, the due date and
the kind), then moves the loan's reminder date to the next day something may be due, or takes the loan
out of the index once it is repaid (or no longer active).

Running twice, or two runs at once, sends nothing twice (markers) and moves each date once (the move
is conditional on the date read). A reminder that could not be sent leaves the loan's date where it
is, so the next run tries again. A borrower with emailNotifications off gets none, and the dates move on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from app.clock import utc_date
from app.loans import service as loans_service
from app.notifications.delivery import deliver
from app.notifications.outbox import Message
from app.notifications.senders import Sender, SendFailed
from app.servicing import service as servicing_service
from app.servicing.schedule import Installment
from app.users import service as users_service

if TYPE_CHECKING:
    from app.clock import Clock
    from app.config import Settings
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.notifications")

DAYS_BEFORE = 3  # "due soon" goes out this many days before a due date
DAYS_AFTER = 1  # "missed" goes out this many days after a due date left unpaid
DUE_SOON, MISSED = "payment_due_soon", "payment_missed"


@dataclass(frozen=True)
class Reminder:
    kind: str
    installment: Installment


def reminders_due(installments: list[Installment], today: date) -> list[Reminder]:
    """Every reminder whose day has come for an installment still owed (the markers keep each to one email)."""
    due: list[Reminder] = []
    for installment in installments:
        if installment.settled:
            continue
        if installment.due_date - timedelta(days=DAYS_BEFORE) <= today < installment.due_date:
            due.append(Reminder(DUE_SOON, installment))
        elif today >= installment.due_date + timedelta(days=DAYS_AFTER):
            due.append(Reminder(MISSED, installment))
    return due


def next_reminder(installments: list[Installment], today: date) -> date | None:
    """The first day after `today` on which a reminder may be due; None when nothing is owed any more."""
    moments = [
        moment
        for installment in installments
        if not installment.settled
        for moment in (installment.due_date - timedelta(days=DAYS_BEFORE), installment.due_date + timedelta(days=DAYS_AFTER))
        if moment > today
    ]
    return min(moments, default=None)


@dataclass
class ReminderReport:
    loans: int = 0
    sent: int = 0
    failed: int = 0


def send_payment_reminders(*, db: Dynamo, clock: Clock, settings: Settings, sender: Sender, request_id: str) -> ReminderReport:
    """Send every reminder due today and move each loan to its next reminder date (see the module docstring)."""
    today = utc_date(clock.now())
    woken = loans_service.loans_to_remind(db=db, today=today)
    report = ReminderReport(loans=len(woken))
    for loan in woken:
        try:
            report.sent += _remind(loan, db=db, clock=clock, settings=settings, sender=sender, today=today, request_id=request_id)
        except SendFailed:
            report.failed += 1  # its date stays: the next run tries again
    return report


def _remind(loan: Item, *, db: Dynamo, clock: Clock, settings: Settings, sender: Sender, today: date, request_id: str) -> int:
    read = servicing_service.installments_now(db=db, loan_id=str(loan["loanId"]))
    record, installments = read if read is not None else (None, [])
    sent = 0
    if record is not None and record.status == "active":
        borrower = users_service.get_user(db=db, user_id=record.borrower_id)
        if borrower is not None and borrower.email_notifications:
            messages = [
                Message(
                    what=f"reminder#{record.loan_id}#{reminder.installment.due_date.isoformat()}#{reminder.kind}",
                    to=borrower.email,
                    kind=reminder.kind,
                    context={
                        "first_name": borrower.first_name,
                        "purpose": str(record.loan["purpose"]),
                        "due_date": reminder.installment.due_date.isoformat(),
                        "amount_due": reminder.installment.remaining,
                        "link": f"{settings.app_base_url}/loans/{record.loan_id}",
                    },
                )
                for reminder in reminders_due(installments, today)
            ]
            sent = deliver(messages, db=db, sender=sender, clock=clock, request_id=request_id).sent
    active = record is not None and record.status == "active"
    loans_service.move_reminder(db=db, loan=loan, on=next_reminder(installments, today) if active else None)
    return sent
