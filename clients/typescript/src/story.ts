/**
 * The whole story against a running API, with the typed client:
 *
 *   npm run story -- http://127.0.0.1:8000        (or API_BASE_URL=... npm run story)
 *
 * A borrower and a lender register and verify their emails; the borrower creates a loan inviting the lender (with an
 * Idempotency-Key, sent twice: the second answer is the first one replayed); the lender lists the
 * pending invitations and accepts with ACH details; the borrower reads the now active loan, the
 * dashboard and the repayment schedule. Every amount is printed as the API sent it: no float math.
 *
 * Verifying an email needs the link the API emailed: INBOX_URL names a mailbox that answers
 * GET {INBOX_URL}/inbox?email=<address> with {"link": "..."} (the test suite serves one). Without it the
 * story skips verification, which works only against an API running with EMAIL_VERIFICATION=off.
 */
import { randomUUID } from "node:crypto";

import { type ApiClient, createApiClient, expectData, type RequestJson, type ResponseJson } from "./client.js";

type LoanRequest = RequestJson<"/loans", "post">;
type Loan = ResponseJson<"/loans", "post", 201>;
type Invitation = ResponseJson<"/lender/pending", "get", 200>["items"][number];
type Acceptance = ResponseJson<"/lender/accept/{loanId}", "put", 200>;
type Dashboard = ResponseJson<"/user/dashboard", "get", 200>;
type Schedule = ResponseJson<"/loans/{loanId}/schedule", "get", 200>;
type Profile = ResponseJson<"/auth/verify-email", "post", 200>;

const PASSWORD = "correct horse battery staple";
// A test routing number with a valid ABA checksum; the account number is made up.
const ACH_DETAILS = {
  accountHolderName: "Lou Lender",
  routingNumber: "021000021",
  accountNumber: "000123456789",
  accountType: "checking",
} as const;

function log(step: string, detail: string): void {
  console.log(`${step.padEnd(28)} ${detail}`);
}

async function register(api: ApiClient, email: string, firstName: string, lastName: string): Promise<{ token: string; email: string }> {
  const result = await api.POST("/auth/register", { body: { email, password: PASSWORD, firstName, lastName } });
  const auth = expectData(`register ${email}`, result);
  log(`register ${firstName}`, `${result.response.status} user ${auth.user.userId} (X-Request-ID ${result.response.headers.get("X-Request-ID")})`);
  return { token: auth.accessToken, email: auth.user.email };
}

// What the SPA's /verify-email page does with the emailed link: post its token, signed in as the user.
async function verifyEmail(api: ApiClient, email: string, firstName: string, inboxUrl: string | undefined): Promise<void> {
  if (inboxUrl === undefined) {
    log(`verify ${firstName}`, "skipped: no INBOX_URL (works only with EMAIL_VERIFICATION=off)");
    return;
  }
  const mail = await fetch(`${inboxUrl}/inbox?email=${encodeURIComponent(email)}`);
  if (!mail.ok) {
    throw new Error(`no verification email for ${email} in ${inboxUrl}: HTTP ${mail.status}`);
  }
  const { link } = (await mail.json()) as { link: string };
  const token = new URL(link).searchParams.get("token");
  if (token === null) {
    throw new Error(`the verification link for ${email} has no token`);
  }
  const profile: Profile = expectData(`verify ${email}`, await api.POST("/auth/verify-email", { body: { token } }));
  log(`verify ${firstName}`, `emailVerified ${profile.emailVerified}`);
}

export async function story(baseUrl: string, inboxUrl?: string): Promise<void> {
  const anonymous = createApiClient(baseUrl);
  const tag = randomUUID().slice(0, 8);
  const borrowerAccount = await register(anonymous, `bea-${tag}@example.com`, "Bea", "Borrower");
  const lenderAccount = await register(anonymous, `lou-${tag}@example.com`, "Lou", "Lender");
  const borrower = createApiClient(baseUrl, borrowerAccount.token);
  const lender = createApiClient(baseUrl, lenderAccount.token);
  await verifyEmail(borrower, borrowerAccount.email, "Bea", inboxUrl);
  await verifyEmail(lender, lenderAccount.email, "Lou", inboxUrl);

  // The loan's amount and the lender's share are the same literal: no arithmetic on money.
  const request: LoanRequest = {
    amount: 1000,
    purpose: "Bakery oven",
    termMonths: 12,
    interestRate: 12,
    lenders: [{ email: lenderAccount.email, amount: 1000 }],
  };
  const idempotencyKey = `story-${tag}`;
  const first = await borrower.POST("/loans", { params: { header: { "Idempotency-Key": idempotencyKey } }, body: request });
  const loan: Loan = expectData("create loan", first);
  log("create loan", `${first.response.status} ${loan.loanId}: ${loan.status}, amount ${loan.amount}, funded ${loan.fundedAmount}`);
  const again = await borrower.POST("/loans", { params: { header: { "Idempotency-Key": idempotencyKey } }, body: request });
  const replayed: Loan = expectData("create loan (retry)", again);
  if (replayed.loanId !== loan.loanId || again.response.headers.get("Idempotent-Replayed") !== "true") {
    throw new Error(`the retry created ${replayed.loanId} instead of replaying ${loan.loanId}`);
  }
  log("create loan (retry)", `${again.response.status} Idempotent-Replayed: true, same loan`);

  const pending = expectData("pending invitations", await lender.GET("/lender/pending", { params: { query: { limit: 20 } } }));
  const invitation: Invitation | undefined = pending.items.find((item) => item.loanId === loan.loanId);
  if (invitation === undefined) {
    throw new Error(`loan ${loan.loanId} is not among the lender's ${pending.items.length} pending invitations`);
  }
  log("pending invitations", `${pending.items.length}: ${invitation.borrowerName} asks ${invitation.amount} of ${invitation.loanAmount}`);

  const loanId = loan.loanId;
  const accepted: Acceptance = expectData(
    "accept",
    await lender.PUT("/lender/accept/{loanId}", { params: { path: { loanId } }, body: { achDetails: ACH_DETAILS } }),
  );
  log("accept", `${accepted.status} ${accepted.amount}; loan ${accepted.loanStatus}, account …${accepted.achDetails.accountNumberLast4}`);

  const active: Loan = expectData("read loan", await borrower.GET("/loans/{loanId}", { params: { path: { loanId } } }));
  if (active.status !== "active") {
    throw new Error(`loan ${loanId} is ${active.status} after the only lender accepted`);
  }
  log("read loan", `${active.status} since ${active.activatedAt}, funded ${active.fundedAmount}, next payment ${JSON.stringify(active.nextPayment)}`);

  const dashboard: Dashboard = expectData("dashboard", await borrower.GET("/user/dashboard"));
  log("dashboard", `roles ${dashboard.roles.join(", ")}; borrower ${JSON.stringify(dashboard.borrower)}`);

  const schedule: Schedule = expectData("schedule", await borrower.GET("/loans/{loanId}/schedule", { params: { path: { loanId } } }));
  const firstInstallment = schedule.installments[0];
  log(
    "schedule",
    `${schedule.installments.length} installments of ${schedule.installmentAmount}, interest ${schedule.totalInterest}, ` +
      `total ${schedule.totalPayable}, first due ${firstInstallment?.dueDate ?? "?"}`,
  );
  console.log("story complete");
}

const baseUrl = process.argv[2] ?? process.env["API_BASE_URL"] ?? "http://127.0.0.1:8000";
story(baseUrl, process.env["INBOX_URL"]).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
