// Plain-fetch access to the AEP simulator for its own tests: the headers AEP's gateway wants, and a call helper.
import { SIMULATOR_DEFAULT_CREDENTIALS as CREDS } from '../../../local/aep-simulator/index.ts';

export function platformHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    authorization: `Bearer ${token}`,
    'x-api-key': CREDS.clientId,
    'x-gw-ims-org-id': CREDS.orgId,
    'x-sandbox-name': CREDS.sandboxName,
    'content-type': 'application/json',
    ...extra,
  };
}

export async function callSimulator(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  extra: Record<string, string> = {},
) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: platformHeaders(token, extra),
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the tests read loose JSON bodies of many shapes
  const json = (text ? JSON.parse(text) : undefined) as any;
  return { status: res.status, headers: res.headers, body: json };
}
