/**
 * A typed client of the lending marketplace API: openapi-fetch over the types that
 * openapi-typescript generates from docs/openapi.json (`npm run generate` writes src/schema.d.ts).
 *
 * Types are named through paths and status codes (`ResponseJson<"/loans", "post", 201>`), never
 * through components["schemas"][...]: schema names are an implementation detail of the server and
 * change without notice, while paths, methods and status codes are the contract.
 *
 * Money is sent and received as JSON numbers (dollars, exact to the cent on the server). Pass and
 * print them as they are; do not add, subtract or multiply them as JS floats.
 */
import createClient, { type Client } from "openapi-fetch";

import type { paths } from "./schema.js";

export type { operations, paths } from "./schema.js";

export type ApiClient = Client<paths>;

type Method = "get" | "put" | "post" | "delete" | "patch";

/** The JSON body of the `status` response of `method path`. */
export type ResponseJson<P extends keyof paths, M extends Method & keyof paths[P], S extends number> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? R[S] extends { content: { "application/json": infer Body } }
      ? Body
      : never
    : never
  : never;

/** The JSON request body of `method path`. */
export type RequestJson<P extends keyof paths, M extends Method & keyof paths[P]> = paths[P][M] extends {
  requestBody: { content: { "application/json": infer Body } };
}
  ? Body
  : never;

/** The error envelope every failure carries: `{"error": {code, message, details, requestId}}`. */
export type ErrorEnvelope = ResponseJson<"/loans", "post", 422>;

/** A client for `baseUrl`; with `accessToken`, every request carries it as a bearer token. */
export function createApiClient(baseUrl: string, accessToken?: string): ApiClient {
  const headers: Record<string, string> = accessToken === undefined ? {} : { Authorization: `Bearer ${accessToken}` };
  return createClient<paths>({ baseUrl, headers });
}

/** A call that did not answer with a success status: its status, request id and error envelope. */
export class ApiError extends Error {
  constructor(
    readonly step: string,
    readonly status: number,
    readonly requestId: string | null,
    readonly body: unknown,
  ) {
    super(`${step}: HTTP ${status} (request ${requestId ?? "?"}): ${JSON.stringify(body)}`);
    this.name = "ApiError";
  }

  /** The envelope's `error.code`, when the body is an error envelope. */
  get code(): string | undefined {
    const body = this.body as Partial<ErrorEnvelope> | undefined;
    return body?.error?.code;
  }
}

/** openapi-fetch's result of one call. */
export interface CallResult<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

/** The typed body of a successful call; throws ApiError otherwise. */
export function expectData<Data>(step: string, result: CallResult<Data>): Data {
  const { data, error, response } = result;
  if (!response.ok || data === undefined) {
    throw new ApiError(step, response.status, response.headers.get("X-Request-ID"), error);
  }
  return data;
}
