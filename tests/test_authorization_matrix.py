"""The authorization matrix: every route of the app x every kind of caller, with the expected status.

The routes come from the app's own route table, so a new route without a row here fails the
test instead of escaping it. Each (route, caller) cell runs on a fresh loan where the route
changes state. A 401 or 404 answer must never carry the loan's data.

Every authenticated caller has verified their email, except `unverified`: invited to the loan like
`invited`, but while EMAIL_VERIFICATION=required (the default) it may not create loans nor see or
answer invitations (403 EMAIL_NOT_VERIFIED), and it learns nothing of the loan: reading it, cancelling it
or closing its funding answer 404, as for a stranger (an invited, verified lender gets 403 on the last two).

`operator` holds the operator role (granted as `python -m app.admin grant-operator` does) and is on no loan: every
ordinary route treats them as a stranger. An /ops route (app/ops) is a row with `operator=True`: the operator gets
`expected["operator"]`, every other caller, without a token or with a bad one included, the very 404 of a path no
route serves (never 401). The app has no /ops route yet, so OPS_PROBES mounts one on the scene's app (test-only):
the mechanism is exercised now, and a real /ops route without an `operator=True` row fails the test.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from app.auth.tokens import issue_access_token
from app.main import create_app
from app.ops.dependencies import CurrentOperator
from app.routing import JsonRoute
from app.users import service as users_service
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.loans.helpers import ach, loan_body, post_json
from tests.support.clock import FakeClock

CALLERS = ("anonymous", "expired", "foreign_secret", "borrower", "invited", "other_invited", "stranger", "unverified", "operator")
UNAUTHENTICATED = ("anonymous", "expired", "foreign_secret")
PASSWORD = "correct horse battery staple"


@dataclass
class Scene:
    """One loan of `borrower` inviting `invited`, `other_invited` and `unverified`; `stranger` is not on it."""

    app: FastAPI
    client: TestClient
    people: dict[str, TestUser]
    secret_purpose: str = field(default_factory=lambda: f"purpose-{uuid.uuid4().hex}")

    def new_loan(self) -> dict[str, Any]:
        lenders = [(self.people["invited"], "600.05"), (self.people["other_invited"], "300.05"), (self.people["unverified"], "100.00")]
        body = loan_body(lenders, purpose=self.secret_purpose)
        response = post_json(self.client, "/loans", body, self.people["borrower"].headers)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        if caller in ("expired", "foreign_secret"):
            settings = self.app.state.settings
            moment = self.app.state.clock.now()
            if caller == "expired":
                moment -= timedelta(seconds=settings.access_token_ttl_seconds + 1)
            else:
                settings = settings.model_copy(update={"jwt_secret": secrets.token_urlsafe(48)})
            owner = self.people["borrower"]
            return {
                "Authorization": f"Bearer {issue_access_token(settings=settings, user_id=owner.user_id, email=owner.email, now=moment)}"
            }
        return self.people[caller].headers


def _register(scene: Scene) -> dict[str, Any]:
    body = {"email": f"m-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD, "firstName": "Mat", "lastName": "Rix"}
    response = scene.client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"body": body, "tokens": response.json()}


@dataclass(frozen=True)
class Row:
    """How to call one route, and the status each kind of authenticated caller gets."""

    call: Callable[[Scene, dict[str, str], str], Any]  # (scene, caller headers, loan id) -> response
    expected: dict[str, int]
    public: bool = False
    mutates: bool = False
    operator: bool = False  # an /ops route: only `operator` gets expected["operator"]; everyone else the unknown path's 404


def everyone(status: int) -> dict[str, int]:
    return {caller: status for caller in CALLERS if caller not in UNAUTHENTICATED}


def by_role(borrower: int, invited: int, stranger: int, unverified: int | None = None) -> dict[str, int]:
    """Statuses per caller; the unverified invited lender gets what `invited` gets unless stated; an operator is a stranger."""
    return {
        "borrower": borrower,
        "invited": invited,
        "other_invited": invited,
        "stranger": stranger,
        "unverified": unverified or invited,
        "operator": stranger,
    }


def verified_only(status: int) -> dict[str, int]:
    """A route gated on a verified email: `status` for every verified caller, 403 EMAIL_NOT_VERIFIED for `unverified`."""
    return {**everyone(status), "unverified": 403}


BANK_DETAILS = {"accountHolderName": "Mat Rix", "accountType": "checking", "routingNumber": "021000021"}
NO_SUCH_ACCOUNT = "0190f2a4-0000-7000-8000-000000000000"

MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/health"): Row(lambda s, h, _: s.client.get("/health", headers=h), everyone(200), public=True),
    ("POST", "/auth/register"): Row(
        lambda s, h, _: s.client.post(
            "/auth/register",
            json={"email": f"r-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD, "firstName": "A", "lastName": "B"},
            headers=h,
        ),
        everyone(201),
        public=True,
    ),
    ("POST", "/auth/login"): Row(
        lambda s, h, _: s.client.post("/auth/login", json={"email": _register(s)["body"]["email"], "password": PASSWORD}, headers=h),
        everyone(200),
        public=True,
    ),
    ("POST", "/auth/refresh"): Row(
        lambda s, h, _: s.client.post("/auth/refresh", json={"refreshToken": _register(s)["tokens"]["refreshToken"]}, headers=h),
        everyone(200),
        public=True,
    ),
    ("POST", "/auth/logout"): Row(
        lambda s, h, _: s.client.post("/auth/logout", json={"refreshToken": _register(s)["tokens"]["refreshToken"]}, headers=h),
        everyone(204),
    ),
    ("POST", "/auth/verify-email"): Row(
        lambda s, h, _: s.client.post("/auth/verify-email", json={"token": "not-a-link-we-sent"}, headers=h), everyone(422)
    ),
    ("POST", "/auth/resend-verification"): Row(
        lambda s, h, _: s.client.post("/auth/resend-verification", headers=h), {**everyone(409), "unverified": 202}
    ),
    ("POST", "/loans"): Row(
        lambda s, h, _: post_json(s.client, "/loans", loan_body([(f"x-{uuid.uuid4().hex[:8]}@example.com", "100.00")]), h),
        verified_only(201),
    ),
    ("GET", "/loans/my-loans"): Row(lambda s, h, _: s.client.get("/loans/my-loans", headers=h), everyone(200)),
    ("GET", "/loans/{loanId}"): Row(lambda s, h, loan: s.client.get(f"/loans/{loan}", headers=h), by_role(200, 200, 404, unverified=404)),
    ("GET", "/loans/{loanId}/events"): Row(lambda s, h, loan: s.client.get(f"/loans/{loan}/events", headers=h), by_role(200, 404, 404)),
    ("POST", "/loans/{loanId}/cancel"): Row(
        lambda s, h, loan: s.client.post(f"/loans/{loan}/cancel", headers=h), by_role(200, 403, 404, unverified=404), mutates=True
    ),
    ("GET", "/lender/pending"): Row(lambda s, h, _: s.client.get("/lender/pending", headers=h), verified_only(200)),
    ("GET", "/lender/loans"): Row(lambda s, h, _: s.client.get("/lender/loans", headers=h), everyone(200)),
    ("PUT", "/lender/accept/{loanId}"): Row(
        lambda s, h, loan: s.client.put(f"/lender/accept/{loan}", json=ach(), headers=h), by_role(404, 200, 404, 403), mutates=True
    ),
    ("PUT", "/lender/decline/{loanId}"): Row(
        lambda s, h, loan: s.client.put(f"/lender/decline/{loan}", headers=h), by_role(404, 200, 404, 403), mutates=True
    ),
    ("GET", "/user/profile"): Row(lambda s, h, _: s.client.get("/user/profile", headers=h), everyone(200)),
    ("PATCH", "/user/profile"): Row(
        lambda s, h, _: s.client.patch("/user/profile", json={"lastName": "Renamed"}, headers=h), everyone(200)
    ),
    ("GET", "/user/dashboard"): Row(lambda s, h, _: s.client.get("/user/dashboard", headers=h), everyone(200)),
    ("POST", "/loans/{loanId}/close-funding"): Row(
        lambda s, h, loan: s.client.post(f"/loans/{loan}/close-funding", headers=h),
        by_role(409, 403, 404, unverified=404),  # nothing funded yet
    ),
    # Servicing on the scene's pending loan: its borrower learns it is not active yet; nobody has accepted, so lenders get 404.
    ("GET", "/loans/{loanId}/schedule"): Row(lambda s, h, loan: s.client.get(f"/loans/{loan}/schedule", headers=h), by_role(409, 404, 404)),
    ("GET", "/loans/{loanId}/payoff"): Row(lambda s, h, loan: s.client.get(f"/loans/{loan}/payoff", headers=h), by_role(409, 404, 404)),
    ("GET", "/loans/{loanId}/repayments"): Row(
        lambda s, h, loan: s.client.get(f"/loans/{loan}/repayments", headers=h), by_role(409, 404, 404)
    ),
    ("POST", "/loans/{loanId}/repayments"): Row(
        lambda s, h, loan: s.client.post(f"/loans/{loan}/repayments", json={"amount": 10}, headers=h), by_role(409, 404, 404)
    ),
    ("GET", "/loans/{loanId}/statement"): Row(
        lambda s, h, loan: s.client.get(f"/loans/{loan}/statement", headers=h), by_role(409, 404, 404)
    ),
    ("GET", "/loans/{loanId}/payments"): Row(lambda s, h, loan: s.client.get(f"/loans/{loan}/payments", headers=h), by_role(200, 404, 404)),
    ("POST", "/bank-accounts"): Row(
        lambda s, h, _: post_json(s.client, "/bank-accounts", {**BANK_DETAILS, "accountNumber": f"{uuid.uuid4().int % 10**12:012d}"}, h),
        verified_only(201),
    ),
    ("GET", "/bank-accounts"): Row(lambda s, h, _: s.client.get("/bank-accounts", headers=h), everyone(200)),
    ("POST", "/bank-accounts/{bankAccountId}/verify"): Row(
        lambda s, h, _: post_json(s.client, f"/bank-accounts/{NO_SUCH_ACCOUNT}/verify", {"amounts": [0.12, 0.34]}, h), verified_only(404)
    ),
    ("DELETE", "/bank-accounts/{bankAccountId}"): Row(
        lambda s, h, _: s.client.delete(f"/bank-accounts/{NO_SUCH_ACCOUNT}", headers=h), verified_only(404)
    ),
    ("GET", "/ops/ach/files"): Row(lambda s, h, _: s.client.get("/ops/ach/files", headers=h), {"operator": 200}, operator=True),
    ("GET", "/ops/ach/payments"): Row(lambda s, h, _: s.client.get("/ops/ach/payments", headers=h), {"operator": 200}, operator=True),
    ("GET", "/ops/ach/exceptions"): Row(lambda s, h, _: s.client.get("/ops/ach/exceptions", headers=h), {"operator": 200}, operator=True),
}


OPS_PROBE = "/ops/_matrix-probe"
# Test-only /ops routes, mounted on the scene's app by `ops_probes` (not on the app the route table is read from).
OPS_PROBES: dict[tuple[str, str], Row] = {
    ("GET", OPS_PROBE): Row(lambda s, h, _: s.client.get(OPS_PROBE, headers=h), {"operator": 200}, operator=True),
}
ROWS = {**MATRIX, **OPS_PROBES}


def ops_probes() -> APIRouter:
    router = APIRouter(route_class=JsonRoute)

    @router.get(OPS_PROBE)
    def probe(operator: CurrentOperator) -> dict[str, str]:
        return {"operator": operator.user_id}

    return router


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every API route the app serves (the docs pages are FastAPI's own)."""
    contexts = iter_route_contexts(app.routes)  # flattens included routers
    return {(method, str(c.path)) for c in contexts if isinstance(c.route, APIRoute) for method in c.methods or ()}


def test_every_route_of_the_app_has_a_row(app: FastAPI) -> None:
    assert app_routes(app) == set(MATRIX), "add the new route to MATRIX with the status each caller gets"
    assert not {path for _, path in OPS_PROBES} & {path for _, path in MATRIX}


def test_ops_routes_and_only_they_are_operator_rows() -> None:
    for (method, path), row in ROWS.items():
        assert row.operator == path.startswith("/ops/"), f"{method} {path}: an /ops route needs operator=True, and only it"
        assert not row.operator or set(row.expected) == {"operator"}, f"{method} {path}: everyone else gets 404"


@pytest.fixture(scope="module")
def scene(endpoint_url: str, table_name: str) -> Scene:
    """One app and cast for the whole module (the cells are independent: fresh loans where they mutate)."""
    app = create_app(make_settings(endpoint_url, table_name), clock=FakeClock())
    client = TestClient(app, raise_server_exceptions=False)
    people = {role: a_user(app, first_name=role.title()) for role in ("borrower", "invited", "other_invited", "stranger", "operator")}
    people["unverified"] = a_user(app, first_name="Unverified", verified=False)
    db = app.state.resources.db
    users_service.grant_operator(db=db, clock=app.state.clock, email=people["operator"].email, actor_id="cli:matrix", request_id="matrix")
    app.include_router(ops_probes(), include_in_schema=False)
    return Scene(app=app, client=client, people=people)


@pytest.fixture(scope="module")
def shared_loan(scene: Scene) -> dict[str, Any]:
    return scene.new_loan()


CELLS = [(method, path, caller) for (method, path) in ROWS for caller in CALLERS]


@pytest.mark.parametrize(("method", "path", "caller"), CELLS, ids=[f"{m} {p} as {c}" for m, p, c in CELLS])
def test_authorization_matrix(scene: Scene, shared_loan: dict[str, Any], method: str, path: str, caller: str) -> None:
    row = ROWS[(method, path)]
    loan = scene.new_loan() if row.mutates else shared_loan
    response = row.call(scene, scene.headers(caller), loan["loanId"])

    if row.operator and caller != "operator":
        unknown = scene.client.get("/ops/no-such-route", headers=scene.headers(caller))
        assert response.status_code == 404, response.text
        assert {**response.json()["error"], "requestId": ""} == {**unknown.json()["error"], "requestId": ""}
        assert "www-authenticate" not in response.headers
    elif row.operator:
        assert response.status_code == row.expected["operator"], response.text
    elif caller in UNAUTHENTICATED and not row.public:
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == "Bearer"
    else:
        expected = row.expected["borrower" if caller in UNAUTHENTICATED else caller]
        assert response.status_code == expected, response.text
    if response.status_code in (401, 403, 404):
        for secret in (loan["loanId"], scene.secret_purpose, "600.05", "300.05", scene.people["borrower"].first_name):
            assert secret not in response.text, f"{caller} learned {secret!r} from a {response.status_code}"
    if response.status_code == 200 and path == "/loans/{loanId}" and caller != "borrower":
        assert [entry["email"] for entry in response.json()["lenders"]] == [scene.people[caller].email]


@pytest.mark.parametrize("caller", ["borrower", "invited", "other_invited", "stranger"])
def test_lists_show_only_what_the_caller_may_see(scene: Scene, shared_loan: dict[str, Any], caller: str) -> None:
    headers = scene.headers(caller)
    mine = {item["loanId"] for item in scene.client.get("/loans/my-loans?limit=100", headers=headers).json()["items"]}
    pending = {item["loanId"] for item in scene.client.get("/lender/pending?limit=100", headers=headers).json()["items"]}
    assert (shared_loan["loanId"] in mine) == (caller == "borrower")
    assert (shared_loan["loanId"] in pending) == (caller in ("invited", "other_invited"))
    profile = scene.client.get("/user/profile", headers=headers).json()
    assert profile["userId"] == scene.people[caller].user_id


def test_an_unverified_invited_lender_sees_no_invitation(scene: Scene, shared_loan: dict[str, Any]) -> None:
    headers = scene.headers("unverified")
    pending = scene.client.get("/lender/pending?limit=100", headers=headers)
    assert pending.status_code == 403 and pending.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"
    assert shared_loan["loanId"] not in pending.text and scene.secret_purpose not in pending.text
    assert scene.client.get("/user/profile", headers=headers).json()["emailVerified"] is False


def test_matrix_size() -> None:
    assert len(CELLS) == len(ROWS) * len(CALLERS) == (33 + 1) * 9
