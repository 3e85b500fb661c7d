"""A token's account still exists: proved once per token and process, then remembered (`LiveTokens`).

A valid access token names its user (`sub`); the account may have gone since it was issued (an erasure
deletes the user item). Every protected route answers 401 UNAUTHENTICATED "The account no longer
exists" for such a token:
- the routes that read the user item anyway (profile, dashboard, verify-email, resend-verification, the
  email gate of a token not known to be verified) answer it from that read;
- every write also proves it inside its transaction (a ConditionCheck, users_service.account_exists);
- the caller's own lists read it in the request they make anyway (`AccountProof`): GET /loans/my-loans
  (its first page's Query of GSI1 partition USER#<id> also returns the user item) and GET /lender/loans
  (its BatchGetItem of the page's loans also gets the user item), so they are exact whatever was seen;
- every other route depends on `CurrentUser` (app/auth/dependencies.py): the first request with a token in
  this process reads the user item once (GetItem, strongly consistent) and remembers the token here;
  later requests with it make no read at all. A refusal is never remembered.

So a token is checked at its first use in each process (each Lambda sandbox), and a read remembered for
it is at most the token's lifetime old (ACCESS_TOKEN_TTL_SECONDS, <= 30 minutes): an account removed
after a process has seen one of its tokens is refused there by the reads and writes above at once, and
by the others when that token expires.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.users import service as users_service

LIVE_TOKENS = 4096  # tokens remembered per process (least recently used out)


class LiveTokens:
    """The tokens (user id, jti) whose account this process has seen exist; bounded, thread-safe."""

    def __init__(self, size: int = LIVE_TOKENS) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def seen(self, user_id: str, token_id: str) -> bool:
        with self._lock:
            if (user_id, token_id) not in self._seen:
                return False
            self._seen.move_to_end((user_id, token_id))
            return True

    def remember(self, user_id: str, token_id: str) -> None:
        with self._lock:
            self._seen[(user_id, token_id)] = None
            self._seen.move_to_end((user_id, token_id))
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)


@dataclass(frozen=True)
class AccountProof:
    """For a route whose own read can include the caller's user item: what it found proves the account, or not.

    `settle(found)`: True, the read found the user item -> the token is remembered; False, the read asked for it
    and it is gone -> 401; None, this request's read could not include it (a later page, an empty page) -> the
    once-per-token check of CurrentUser instead (`check`).
    """

    tokens: LiveTokens
    user_id: str
    token_id: str
    check: Callable[[], object]

    def settle(self, found: bool | None) -> None:
        if found is None:
            self.check()
        elif found:
            self.tokens.remember(self.user_id, self.token_id)
        else:
            raise users_service.account_gone()
