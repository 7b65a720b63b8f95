/**
 * What a failed Google API request says, read from the shapes the Google
 * clients throw (gaxios errors, fetch errors, network errors): the HTTP
 * status, the network code, Google's own status, the first line of its
 * message and Retry-After. Reading a sheet and writing the report tab judge
 * their failures from this one reading.
 */
export interface HttpFailure {
  status: number | null;
  code: string | null;
  apiStatus: string | null;
  message: string;
  retryAfterMs: number | null;
}

export function describeFailure(err: unknown): HttpFailure {
  const e = err as {
    status?: number;
    code?: string | number;
    message?: string;
    response?: {
      status?: number;
      data?: { error?: { message?: string; status?: string } };
      headers?: Headers | Record<string, string>;
    };
    cause?: { code?: string };
  };
  const status = e.status ?? e.response?.status ?? (typeof e.code === 'number' ? e.code : null) ?? null;
  const body = e.response?.data?.error;
  const headers = e.response?.headers;
  const retryAfter = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after'];
  const code = typeof e.code === 'string' ? e.code : (e.cause?.code ?? null);
  return {
    status: typeof status === 'number' ? status : null,
    code: code && !/^\d+$/.test(code) ? code : null,
    apiStatus: body?.status ?? null,
    message: (body?.message ?? e.message ?? String(err)).split('\n')[0]!,
    retryAfterMs: retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : null,
  };
}
