/** Calls a running API over a real socket with a Bearer key; the JSON answer is parsed loosely. */
export async function callApi(
  api: { readonly url: string },
  method: string,
  path: string,
  secret: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely; their shapes are what the tests check
    body: text ? (JSON.parse(text) as Record<string, any>) : {},
  };
}
