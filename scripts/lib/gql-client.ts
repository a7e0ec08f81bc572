/* eslint-disable @typescript-eslint/no-explicit-any -- callers (tests, tools) read response shapes freely and check them themselves. */
/** A minimal GraphQL-over-HTTP client for tests and tools: real requests, no mocks. */
export interface GqlError {
  message: string;
  extensions?: { code?: string; fields?: { field: string; message: string }[]; [key: string]: unknown };
}

export interface GqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: GqlError[];
}

export class GqlClient {
  constructor(
    readonly url: string,
    readonly key?: string,
  ) {}

  as(key: string): GqlClient {
    return new GqlClient(this.url, key);
  }

  async request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse<T>> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.key ? { authorization: `Bearer ${this.key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: GqlError[] };
    return { status: response.status, data: body.data ?? undefined, errors: body.errors };
  }

  /** Runs an operation that must succeed and returns its data. */
  async ok<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await this.request<T>(query, variables);
    if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    return result.data as T;
  }

  /** Runs an operation that must be refused and returns the first error's code. */
  async code(query: string, variables: Record<string, unknown> = {}): Promise<string | undefined> {
    const result = await this.request(query, variables);
    if (!result.errors?.length) throw new Error(`expected a refusal, got ${JSON.stringify(result.data)}`);
    return result.errors[0]?.extensions?.code;
  }
}
