// The story, run by a browser page on another origin than the API (tests/e2e/test_browser_story.py).
// Every step records what JavaScript could see: the status, the exposed headers, the error envelope's
// code; or, when fetch rejected (a CORS refusal), the error's name and message. Money is passed as
// JSON number literals and never computed on.
"use strict";

const params = new URLSearchParams(location.search);
const API = params.get("api");
const MODE = params.get("mode") || "story";
const TAG = Math.random().toString(36).slice(2, 10);
const PASSWORD = "correct horse battery staple";
const results = { mode: MODE, origin: location.origin, api: API, steps: {} };
window.storyDone = false;

function show() {
  document.getElementById("result").textContent = JSON.stringify(results, null, 2);
}

class StepFailed extends Error {}

// One request; returns everything JS can read of the answer. A CORS refusal rejects (TypeError).
async function call(method, path, { token, body, rawBody, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined || rawBody !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = rawBody !== undefined ? rawBody : JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const json = isJson ? await response.json() : null;
  return {
    status: response.status,
    json,
    code: json && json.error ? json.error.code : null,
    requestId: response.headers.get("X-Request-ID"),
    replayed: response.headers.get("Idempotent-Replayed"),
    retryAfter: response.headers.get("Retry-After"),
  };
}

function expectStatus(answer, status) {
  if (answer.status !== status) {
    throw new StepFailed(`expected HTTP ${status}, got ${answer.status} ${JSON.stringify(answer.json)}`);
  }
}

// Runs one step and records its outcome; a later step that needs an earlier one's result fails cleanly.
async function step(name, run) {
  try {
    const outcome = await run();
    results.steps[name] = { ok: true, ...outcome };
    return outcome;
  } catch (error) {
    results.steps[name] = { ok: false, error: `${error.name}: ${error.message}` };
    return null;
  } finally {
    show();
  }
}

function needs(value, what) {
  if (!value) throw new StepFailed(`skipped: ${what} failed`);
  return value;
}

function summary(answer) {
  return { status: answer.status, requestId: answer.requestId, replayed: answer.replayed, code: answer.code };
}

async function register(name, sentRequestId) {
  const email = `${name.toLowerCase()}-${TAG}@example.com`;
  const headers = sentRequestId ? { "X-Request-ID": sentRequestId } : {};
  const answer = await call("POST", "/auth/register", {
    body: { email, password: PASSWORD, firstName: name, lastName: "Browser" },
    headers,
  });
  expectStatus(answer, 201);
  return { ...summary(answer), sentRequestId: sentRequestId || null, email, token: answer.json.accessToken };
}

// What the SPA's /verify-email page does with the emailed link: post its token, signed in as the user.
// The link is read from this page's own origin (/inbox: the test's stand-in for the user's mailbox).
async function verifyEmail(user) {
  const inbox = await fetch(`/inbox?email=${encodeURIComponent(user.email)}`);
  if (inbox.status !== 200) throw new StepFailed(`no verification email for ${user.email}: HTTP ${inbox.status}`);
  const { link } = await inbox.json();
  const token = new URL(link).searchParams.get("token");
  const answer = await call("POST", "/auth/verify-email", { token: user.token, body: { token } });
  expectStatus(answer, 200);
  return { ...summary(answer), emailVerified: answer.json.emailVerified };
}

async function story() {
  const borrower = await step("registerBorrower", () => register("Bea", `e2e-${TAG}`));
  const lender = await step("registerLender", () => register("Lou"));

  const loanRequest = () => ({
    amount: 1000,
    purpose: "Bakery oven",
    termMonths: 12,
    interestRate: 12,
    lenders: [{ email: needs(lender, "registerLender").email, amount: 1000 }],
  });
  // Until the borrower proves their email, creating a loan is refused with a code JS can read.
  await step("createLoanUnverified", async () => {
    const answer = await call("POST", "/loans", { token: needs(borrower, "registerBorrower").token, body: loanRequest() });
    expectStatus(answer, 403);
    return summary(answer);
  });
  await step("verifyBorrower", () => verifyEmail(needs(borrower, "registerBorrower")));
  await step("verifyLender", () => verifyEmail(needs(lender, "registerLender")));

  const idempotencyKey = `browser-${TAG}`;
  const created = await step("createLoan", async () => {
    const answer = await call("POST", "/loans", {
      token: needs(borrower, "registerBorrower").token,
      headers: { "Idempotency-Key": idempotencyKey },
      body: loanRequest(),
    });
    expectStatus(answer, 201);
    return { ...summary(answer), loanId: answer.json.loanId, loanStatus: answer.json.status, amount: answer.json.amount };
  });
  await step("createLoanReplay", async () => {
    const answer = await call("POST", "/loans", {
      token: needs(borrower, "registerBorrower").token,
      headers: { "Idempotency-Key": idempotencyKey },
      body: loanRequest(),
    });
    expectStatus(answer, 201);
    return { ...summary(answer), loanId: answer.json.loanId };
  });
  const loanId = created && created.loanId;

  await step("pending", async () => {
    const answer = await call("GET", "/lender/pending?limit=20", { token: needs(lender, "registerLender").token });
    expectStatus(answer, 200);
    const ids = answer.json.items.map((item) => item.loanId);
    if (!ids.includes(needs(loanId, "createLoan"))) throw new StepFailed(`loan ${loanId} not pending for the lender: ${ids}`);
    return { ...summary(answer), count: ids.length };
  });
  await step("accept", async () => {
    const answer = await call("PUT", `/lender/accept/${needs(loanId, "createLoan")}`, {
      token: needs(lender, "registerLender").token,
      body: {
        achDetails: {
          accountHolderName: "Lou Browser",
          routingNumber: "021000021",
          accountNumber: "000123456789",
          accountType: "checking",
        },
      },
    });
    expectStatus(answer, 200);
    return { ...summary(answer), loanStatus: answer.json.loanStatus };
  });
  await step("readLoan", async () => {
    const answer = await call("GET", `/loans/${needs(loanId, "createLoan")}`, { token: needs(borrower, "registerBorrower").token });
    expectStatus(answer, 200);
    if (answer.json.status !== "active") throw new StepFailed(`loan is ${answer.json.status}, not active`);
    return { ...summary(answer), loanStatus: answer.json.status, fundedAmount: answer.json.fundedAmount };
  });
  await step("dashboard", async () => {
    const answer = await call("GET", "/user/dashboard", { token: needs(borrower, "registerBorrower").token });
    expectStatus(answer, 200);
    return { ...summary(answer), roles: answer.json.roles };
  });
  await step("schedule", async () => {
    const answer = await call("GET", `/loans/${needs(loanId, "createLoan")}/schedule`, {
      token: needs(borrower, "registerBorrower").token,
    });
    expectStatus(answer, 200);
    return { ...summary(answer), installments: answer.json.installments.length };
  });

  // Errors JS must be able to read: 429 with Retry-After, 413 and 422 envelopes.
  await step("loginThrottled", async () => {
    const email = needs(borrower, "registerBorrower").email;
    const statuses = [];
    let last = null;
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      last = await call("POST", "/auth/login", { body: { email, password: "not the password at all" } });
      statuses.push(last.status);
    }
    return { ...summary(last), statuses, retryAfter: last.retryAfter };
  });
  await step("payloadTooLarge", async () => {
    const body = JSON.stringify({ email: `big-${TAG}@example.com`, password: "x".repeat(70 * 1024), firstName: "Big", lastName: "Body" });
    const response = await fetch(`${API}/auth/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    const envelope = await response.json();
    return { status: response.status, code: envelope.error.code, requestId: response.headers.get("X-Request-ID"), bytes: body.length };
  });
  await step("validationError", async () => {
    const response = await fetch(`${API}/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "not-an-email", password: "short" }),
    });
    const envelope = await response.json();
    return {
      status: response.status,
      code: envelope.error.code,
      fields: envelope.error.details.map((detail) => detail.field),
      requestId: response.headers.get("X-Request-ID"),
    };
  });
}

// From an origin the API does not allow, both a simple request and a preflighted one must reject.
async function blocked() {
  await step("simpleGet", async () => summary(await call("GET", "/health")));
  await step("preflightedPost", async () =>
    summary(await call("POST", "/auth/register", { body: { email: `blocked-${TAG}@example.com`, password: PASSWORD, firstName: "No", lastName: "Body" } })),
  );
}

(MODE === "blocked" ? blocked() : story())
  .catch((error) => {
    results.fatal = `${error.name}: ${error.message}`;
  })
  .finally(() => {
    results.done = true;
    show();
    window.storyDone = true;
  });
