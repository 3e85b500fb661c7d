"""Operator routes (/ops/...): served to a user with the operator role, 404 for everyone else.

The role is granted only by `python -m app.admin grant-operator EMAIL`, never by the API. A route here
depends on `CurrentOperator` (app/ops/dependencies.py): any other caller, without a token or with an
invalid one included, gets the very 404 of a path no route serves, so the routes' existence is not
disclosed. Include an ops router with `include_in_schema=False` (the public OpenAPI document must not list
them either) and give each route a row with `operator=True` in tests/test_authorization_matrix.py, which
fails for an /ops route without one.

Not hidden yet, because they are answered before any dependency runs: a request with another method to a
served path (405 with Allow), and a malformed or non-JSON body sent to a route that takes one (400). Until a
guard runs ahead of routing and body parsing (a route class or a middleware), those two answers tell that an
/ops path exists.
"""
