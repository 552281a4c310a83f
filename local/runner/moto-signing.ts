// Re-signs an S3 request for moto 5.2.1's server, whose SigV4 check cannot match any query value holding a '/':
// werkzeug 3.1 hands moto the URL with %2F decoded (and the path re-quoted its own way: `+`, `:` or `=` of a key
// unencoded), and moto recomputes the canonical request from that text, so a standard signature (every '/' in a
// query value encoded as %2F) never matches. A ListObjectsV2 with
// Prefix=incoming/ is then SignatureDoesNotMatch for any caller, allowed or not (reproduced with boto3 and with
// SDK v3 on default settings). The authorization moto goes on to do is untouched: the request keeps its
// caller's credentials, and only the signature is computed the way moto will check it. No SigV4 library can
// produce this deliberately non-standard canonical query, hence the few lines of signing here.
import { createHash, createHmac } from 'node:crypto';

export interface SignedRequestParts {
  method: string;
  /** The path as sent, still URI-encoded. */
  path: string;
  /** The raw query string as sent, without '?'. */
  query: string;
  /** Header names lower-case, values as sent. */
  headers: Record<string, string | string[] | undefined>;
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

/** werkzeug's path quoting (`quote(path, safe="!$&'()*+,/:;=@%")`): what moto signs a decoded path as. */
function motoCanonicalPath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return path;
  }
  // WSGI hands werkzeug the path's UTF-8 bytes as latin-1 characters, which it quotes as UTF-8 again: a
  // non-ASCII byte 0xC3 becomes %C3%83. Mimicked byte for byte.
  const hex = (byte: number) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  let out = '';
  for (const byte of Buffer.from(decoded, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (byte >= 0x80) out += [...Buffer.from(char, 'utf8')].map(hex).join('');
    else out += /[A-Za-z0-9\-._~!$&'()*+,/:;=@%]/.test(char) ? char : hex(byte);
  }
  return out;
}

/** True when moto would recompute this request's canonical path or query differently from a standard signer. */
export function needsMotoSignature(path: string, query: string): boolean {
  return /%2F/i.test(query) || motoCanonicalPath(path) !== path;
}

/** The canonical query as botocore builds it from the URL moto sees: %2F decoded, pairs sorted, else as sent. */
function motoCanonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query
    .replace(/%2F/gi, '/')
    .split('&')
    .map((pair) => {
      const at = pair.indexOf('=');
      return at < 0 ? ([pair, ''] as const) : ([pair.slice(0, at), pair.slice(at + 1)] as const);
    });
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

/**
 * The request's Authorization header with the signature moto computes, from the caller's own secret key; the
 * credential scope, date and signed headers stay as the caller signed them.
 */
export function motoAuthorization(request: SignedRequestParts, secretAccessKey: string): string {
  const authorization = headerValue(request.headers.authorization);
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
    authorization,
  );
  if (!match) throw new Error('not a SigV4 header-signed request');
  const [, credential, signedHeaders] = match as unknown as [string, string, string];
  const [, date, region, service] = credential.split('/');
  if (!date || !region || !service) throw new Error(`malformed credential scope ${credential}`);
  const amzDate = headerValue(request.headers['x-amz-date']);
  const names = signedHeaders.split(';');
  const canonicalHeaders = names.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join('');
  const payloadHash = headerValue(request.headers['x-amz-content-sha256']) || sha256Hex('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    motoCanonicalPath(request.path),
    motoCanonicalQuery(request.query),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
