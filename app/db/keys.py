"""Every key of the single table. Reading this file tells you the whole data model.
Longer than 250 lines because that is its point: every key of every item type is built here and nowhere else.

Item types (PK / SK), see docs/data-model.md for attributes and access patterns:
  user             USER#<userId>            / USER#<userId>
  user event       USER#<userId>            / EVENT#<eventId>      (the outbox of account emails: verification)
  email claim      EMAIL#<email>            / EMAIL#<email>        (uniqueness + credentials)
  loan             LOAN#<loanId>            / USER#<borrowerId>    (GSI1: a borrower's loans;
                                                                    GSI2 while pending: PENDING#<shard> / <deadline>#<loanId>)
  invitation       LOAN#<loanId>            / INVITE#<email>       (GSI1: an email's invitations)
  ach record       LOAN#<loanId>            / ACH#<lenderId>
  audit event      LOAN#<loanId>            / EVENT#<eventId>      (eventId is time-ordered)
  refresh token    REFRESH#<tokenHash>      / REFRESH#<tokenHash>
  session family   FAMILY#<familyId>        / FAMILY#<familyId>
  login throttle   THROTTLE#<email>         / THROTTLE#<email>
  idempotency      IDEMPOTENCY#<userId>#<keyHash> / (same)
  daily quota      QUOTA#<userId>#<yyyy-mm-dd> / (same)     (loans created, invitations sent that UTC day; TTL)
  schedule         SERVICING#<loanId>       / SCHEDULE             (installments as they stand)
  repayment        SERVICING#<loanId>       / REPAYMENT#<id>       (id is time-ordered)
  delivery marker  DELIVERY#<what>          / TO#<email>           (one per email sent: at most once; TTL)
  bank account     USER#<userId>            / BANK#<bankAccountId> (GSI2 while pending verification:
                                                                    VERIFYBY#<shard> / <verifyBy>#<bankAccountId>)
  bank numbers lock USER#<userId>           / BANKLAST4#<routingLast4>#<accountLast4> (serializes duplicate checks)
  payment          PAYMENT#<paymentId>      / PAYS#LOAN#<loanId> or PAYS#BANK#<bankAccountId>
                                                                   (GSI1: an owner's payments, newest first;
                                                                    GSI2: ACHPAY#<status> / <date>#<paymentId>, or
                                                                    ACHCLAIM#<fileId> / <paymentId> while a file holds it)
  payment event    PAYMENT#<paymentId>      / EVENT#<eventId>
  trace            TRACE#<traceNumber>      / TRACE#<traceNumber>  (which payment an entry's trace number names)
  ach file         ACHFILE#<fileId>         / ACHFILES             (GSI1: every file, newest first; GSI2 while
                                                                    an outbound file is open: ACHFILES#open / <fileId>)
  inbound digest   ACHIN#<sha256>           / ACHIN#<sha256>       (an inbound file's content, processed once)
  ach counter      ACHSEQ / ACHDAY#<yyyymmdd> (same)               (trace sequence; files of one day)
  ach exception    ACHEXC#<exceptionId>     / ACHEXCEPTIONS        (GSI1: every exception, newest first)

GSI2, the "when" index, is sparse: a pending loan carries PENDING#<shard> / <fundingDeadline>#<loanId>
(the expiry job), an active loan REMIND#<shard> / <date of its next reminder>#<loanId> (the reminder job).

Servicing items live in their own partition, so the loan partition's Queries (a loan view, its
audit trail) never read a schedule or a repayment.

GSI1 swaps the keys (partition SK, sort PK). Loan ids are UUIDv7, so LOAN#<loanId> sorts by
creation time and "newest first" is ScanIndexForward=False.
"""

from __future__ import annotations

from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT, PARTITION_KEY, SORT_KEY

Key = dict[str, str]

USER = "USER#"
EMAIL = "EMAIL#"
LOAN = "LOAN#"
INVITE = "INVITE#"
ACH = "ACH#"
EVENT = "EVENT#"
REFRESH = "REFRESH#"
FAMILY = "FAMILY#"
THROTTLE = "THROTTLE#"
IDEMPOTENCY = "IDEMPOTENCY#"
QUOTA = "QUOTA#"
HEALTH = "HEALTH#"
SERVICING = "SERVICING#"
SCHEDULE = "SCHEDULE"
REPAYMENT = "REPAYMENT#"
PENDING = "PENDING#"
REMIND = "REMIND#"
DELIVERY = "DELIVERY#"
TO = "TO#"
BANK = "BANK#"
BANK_LAST4 = "BANKLAST4#"
VERIFY_BY = "VERIFYBY#"
PAYMENT = "PAYMENT#"
PAYS = "PAYS#"
ACH_PAY = "ACHPAY#"
ACH_CLAIM = "ACHCLAIM#"
TRACE = "TRACE#"
ACH_FILE = "ACHFILE#"
ACH_FILES = "ACHFILES"
ACH_OPEN_FILES = "ACHFILES#open"
ACH_INBOUND = "ACHIN#"
ACH_SEQUENCE = "ACHSEQ"
ACH_DAY = "ACHDAY#"
ACH_EXCEPTION = "ACHEXC#"
ACH_EXCEPTIONS = "ACHEXCEPTIONS"


def _same(value: str) -> Key:
    return {PARTITION_KEY: value, SORT_KEY: value}


def user_key(user_id: str) -> Key:
    return _same(f"{USER}{user_id}")


def user_partition(user_id: str) -> str:
    """GSI1 partition holding a user's own item and the loans they borrow."""
    return f"{USER}{user_id}"


def email_key(email: str) -> Key:
    return _same(f"{EMAIL}{email}")


def user_event_key(user_id: str, event_id: str) -> Key:
    return {PARTITION_KEY: f"{USER}{user_id}", SORT_KEY: f"{EVENT}{event_id}"}


def loan_partition(loan_id: str) -> str:
    return f"{LOAN}{loan_id}"


def loan_key(loan_id: str, borrower_id: str) -> Key:
    return {PARTITION_KEY: loan_partition(loan_id), SORT_KEY: f"{USER}{borrower_id}"}


def invitation_sort_key(email: str) -> str:
    return f"{INVITE}{email}"


def invitation_key(loan_id: str, email: str) -> Key:
    return {PARTITION_KEY: loan_partition(loan_id), SORT_KEY: invitation_sort_key(email)}


def ach_key(loan_id: str, lender_id: str) -> Key:
    return {PARTITION_KEY: loan_partition(loan_id), SORT_KEY: f"{ACH}{lender_id}"}


def event_key(loan_id: str, event_id: str) -> Key:
    return {PARTITION_KEY: loan_partition(loan_id), SORT_KEY: f"{EVENT}{event_id}"}


def loan_id_from(partition: str) -> str:
    return partition.removeprefix(LOAN)


def servicing_partition(loan_id: str) -> str:
    return f"{SERVICING}{loan_id}"


def schedule_key(loan_id: str) -> Key:
    return {PARTITION_KEY: servicing_partition(loan_id), SORT_KEY: SCHEDULE}


def repayment_key(loan_id: str, repayment_id: str) -> Key:
    return {PARTITION_KEY: servicing_partition(loan_id), SORT_KEY: f"{REPAYMENT}{repayment_id}"}


FUNDING_SHARDS = 8  # partitions of the deadline index; a loan's shard comes from its id


def deadline_shard(loan_id: str) -> int:
    """The deadline-index shard of a loan: spread evenly by the random bits of its UUID."""
    return int(loan_id.replace("-", "")[-8:], 16) % FUNDING_SHARDS


def deadline_keys(loan_id: str, funding_deadline: str) -> dict[str, str]:
    """The deadline-index attributes a pending loan carries (removed when it leaves pending)."""
    return {DEADLINE_PARTITION: f"{PENDING}{deadline_shard(loan_id)}", DEADLINE_SORT: f"{funding_deadline}#{loan_id}"}


def deadline_partition(shard: int) -> str:
    return f"{PENDING}{shard}"


def reminder_keys(loan_id: str, on: str) -> dict[str, str]:
    """The GSI2 attributes of an active loan: the reminder job wakes it on `on` (a YYYY-MM-DD date)."""
    return {DEADLINE_PARTITION: reminder_partition(deadline_shard(loan_id)), DEADLINE_SORT: f"{on}#{loan_id}"}


def reminder_partition(shard: int) -> str:
    return f"{REMIND}{shard}"


def delivery_marker_key(what: str, email: str) -> Key:
    """The marker of one email: `what` names the message (an event id, or a reminder), `email` its recipient."""
    return {PARTITION_KEY: f"{DELIVERY}{what}", SORT_KEY: f"{TO}{email}"}


def refresh_token_key(token_hash: str) -> Key:
    return _same(f"{REFRESH}{token_hash}")


def session_family_key(family_id: str) -> Key:
    return _same(f"{FAMILY}{family_id}")


def login_throttle_key(email: str) -> Key:
    return _same(f"{THROTTLE}{email}")


def daily_quota_key(user_id: str, day: str) -> Key:
    """The counter of what `user_id` created on the UTC day `day` (YYYY-MM-DD): its own partition, one item a day."""
    return _same(f"{QUOTA}{user_id}#{day}")


def idempotency_key(user_id: str, key_hash: str) -> Key:
    return _same(f"{IDEMPOTENCY}{user_id}#{key_hash}")


def health_probe_key() -> Key:
    """A key that never holds an item: GetItem on it proves the table answers."""
    return _same(f"{HEALTH}probe")


def bank_account_key(user_id: str, bank_account_id: str) -> Key:
    return {PARTITION_KEY: f"{USER}{user_id}", SORT_KEY: f"{BANK}{bank_account_id}"}


def bank_numbers_lock_key(user_id: str, routing_last4: str, account_last4: str) -> Key:
    """One item per user and pair of last-4s: every registration of such numbers changes it, so two race in turn."""
    return {PARTITION_KEY: f"{USER}{user_id}", SORT_KEY: f"{BANK_LAST4}{routing_last4}#{account_last4}"}


def verification_deadline_keys(bank_account_id: str, verify_by: str) -> dict[str, str]:
    """The GSI2 attributes of an account pending verification: the settle job fails it after `verify_by`."""
    return {DEADLINE_PARTITION: verification_partition(deadline_shard(bank_account_id)), DEADLINE_SORT: f"{verify_by}#{bank_account_id}"}


def verification_partition(shard: int) -> str:
    return f"{VERIFY_BY}{shard}"


def payment_partition(payment_id: str) -> str:
    return f"{PAYMENT}{payment_id}"


def payment_owner(*, loan_id: str | None, bank_account_id: str) -> str:
    """The sort key of a payment: its loan's, or for a payment of no loan (micro-deposits) its bank account's."""
    return f"{PAYS}{LOAN}{loan_id}" if loan_id else f"{PAYS}{BANK}{bank_account_id}"


def payment_key(payment_id: str, owner: str) -> Key:
    return {PARTITION_KEY: payment_partition(payment_id), SORT_KEY: owner}


def payment_event_key(payment_id: str, event_id: str) -> Key:
    return {PARTITION_KEY: payment_partition(payment_id), SORT_KEY: f"{EVENT}{event_id}"}


def payment_status_keys(status: str, on: str, payment_id: str) -> dict[str, str]:
    """GSI2 of a payment not held by a file: partition per status, sorted by the date that matters to it."""
    return {DEADLINE_PARTITION: payment_status_partition(status), DEADLINE_SORT: f"{on}#{payment_id}"}


def payment_status_partition(status: str) -> str:
    return f"{ACH_PAY}{status}"


def payment_claim_keys(file_id: str, payment_id: str) -> dict[str, str]:
    """GSI2 of a payment an outbound file holds (between its claim and its submission)."""
    return {DEADLINE_PARTITION: payment_claim_partition(file_id), DEADLINE_SORT: payment_id}


def payment_claim_partition(file_id: str) -> str:
    return f"{ACH_CLAIM}{file_id}"


def trace_key(trace_number: str) -> Key:
    return _same(f"{TRACE}{trace_number}")


def ach_file_key(file_id: str) -> Key:
    return {PARTITION_KEY: f"{ACH_FILE}{file_id}", SORT_KEY: ACH_FILES}


def open_file_keys(file_id: str) -> dict[str, str]:
    return {DEADLINE_PARTITION: ACH_OPEN_FILES, DEADLINE_SORT: file_id}


def inbound_digest_key(digest: str) -> Key:
    return _same(f"{ACH_INBOUND}{digest}")


def trace_sequence_key() -> Key:
    return _same(ACH_SEQUENCE)


def files_of_day_key(day: str) -> Key:
    """The counter of outbound files of one Eastern day (YYYYMMDD): it gives each its File ID Modifier."""
    return _same(f"{ACH_DAY}{day}")


def ach_exception_key(exception_id: str) -> Key:
    return {PARTITION_KEY: f"{ACH_EXCEPTION}{exception_id}", SORT_KEY: ACH_EXCEPTIONS}
