/* eslint-disable @typescript-eslint/no-explicit-any -- tests read response shapes freely; the assertions check them. */
/** Raw HTTP for tests that send what a GraphQL client never would. */
export interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  readonly body: any;
}

export async function rawRequest(url: string, init: RequestInit = {}): Promise<RawResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', headers: response.headers, text, body };
}

/** A POST of `body` as written (a string is sent verbatim), with the API key when given. */
export function postRaw(url: string, body: string, key?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body,
  });
}

/** The codes of SPEC section 6; anything else in `extensions.code` is a bug. */
export const SPEC_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'INVALID_AMOUNT',
  'CURRENCY_MISMATCH',
  'UNBALANCED',
  'INSUFFICIENT_FUNDS',
  'ACCOUNT_FROZEN',
  'ACCOUNT_CLOSED',
  'ALREADY_REVERSED',
  'HOLD_NOT_PENDING',
  'IDEMPOTENCY_CONFLICT',
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
  'BALANCE_LIMIT_EXCEEDED',
  'INTERNAL',
]);

/**
 * What every refused request must look like: not a 5xx, a JSON body of GraphQL errors, each with
 * a code from SPEC section 6 other than INTERNAL. Returns the first error's code, or 'OK' when the
 * request succeeded. Throws with the whole response when the shape is wrong, so a fuzz run shows it.
 */
export function outcomeOf(response: RawResponse): string {
  const problem = (why: string) => new Error(`${why}: HTTP ${response.status} ${response.contentType}\n${response.text.slice(0, 2000)}`);
  if (response.status >= 500) throw problem('a 5xx response');
  if (!response.contentType.startsWith('application/json') || response.body === undefined) throw problem('a non-JSON body');
  const errors = response.body.errors as { message?: unknown; extensions?: { code?: unknown } }[] | undefined;
  if (!errors || errors.length === 0) {
    if (response.status !== 200 || response.body.data === undefined) throw problem('neither data nor errors');
    return 'OK';
  }
  for (const error of errors) {
    const code = error.extensions?.code;
    if (typeof code !== 'string' || !SPEC_CODES.has(code)) throw problem(`an error without a SPEC code (${String(code)})`);
    if (code === 'INTERNAL') throw problem('INTERNAL for a request that breaks a rule');
    if (typeof error.message !== 'string' || /\n\s+at |SELECT |INSERT |UPDATE /.test(error.message)) {
      throw problem('an error message with a stack trace or SQL');
    }
  }
  return errors[0]?.extensions?.code as string;
}
