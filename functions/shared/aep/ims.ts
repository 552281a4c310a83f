// Adobe IMS client-credentials tokens (OAuth Server-to-Server, AdobeDocs/experience-platform.en
// help/landing/api-authentication.md): cached until 5 minutes before expiry, one request in flight.
import { AepAuthError, AepUnavailableError } from './errors.ts';
import { type AepHttp, type Exchange, isTransient, parseResponse, successOf } from './http.ts';
import { imsTokenSchema } from './schemas.ts';
import type { AepCredentials } from './types.ts';

export const DEFAULT_IMS_URL = 'https://ims-na1.adobelogin.com';
export const DEFAULT_SCOPES =
  'openid,AdobeID,read_organizations,additional_info.projectedProductContext,session';
const TOKEN_ROUTE = '/ims/token/v3';
const LABEL = `POST ${TOKEN_ROUTE}`;
/** Renew this long before IMS says the token expires, so a call never leaves with a token about to lapse. */
const RENEW_MARGIN_MS = 5 * 60 * 1000;

interface CachedToken {
  value: string;
  renewAtMs: number;
}

export class ImsTokenProvider {
  private cached: CachedToken | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly credentials: AepCredentials,
    private readonly http: AepHttp,
  ) {}

  /** A valid token, from the cache or from IMS; concurrent callers share one IMS request. */
  async token(): Promise<string> {
    if (this.cached && this.http.settings.now() < this.cached.renewAtMs) return this.cached.value;
    if (!this.inFlight) {
      this.inFlight = this.requestToken().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  /** Forgets `token` (AEP called it invalid); a token obtained meanwhile by another call is kept. */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async requestToken(): Promise<string> {
    const { clientId, clientSecret } = this.credentials;
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope: this.credentials.scopes?.trim() || DEFAULT_SCOPES,
    }).toString();
    const url = `${trimSlash(this.credentials.imsUrl ?? DEFAULT_IMS_URL)}${TOKEN_ROUTE}`;
    for (let attempt = 1; ; attempt++) {
      const exchange = await this.http.exchange({
        method: 'POST',
        url,
        route: TOKEN_ROUTE,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body,
        attempt,
      });
      const success = successOf(exchange);
      if (success) {
        const parsed = parseResponse(imsTokenSchema, LABEL, success);
        this.http.scrubber.add(parsed.access_token);
        const lifetimeMs = parsed.expires_in * 1000;
        // A lifetime shorter than the margin would make every call fetch a token: keep it for half its life then.
        const usableMs = lifetimeMs > 2 * RENEW_MARGIN_MS ? lifetimeMs - RENEW_MARGIN_MS : lifetimeMs / 2;
        this.cached = { value: parsed.access_token, renewAtMs: this.http.settings.now() + usableMs };
        return parsed.access_token;
      }
      if (isTransient(exchange) && (await this.http.waitForRetry(LABEL, attempt, exchange))) continue;
      throw this.failure(exchange);
    }
  }

  private failure(exchange: Exchange): Error {
    const error = this.http.errorFor(LABEL, exchange);
    if (exchange.kind === 'network' || exchange.status >= 500 || exchange.status === 429) {
      return error instanceof AepUnavailableError
        ? new AepUnavailableError(`IMS is unavailable: ${error.message}`, {
            status: error.status,
            route: LABEL,
            retryAfterSeconds: error.retryAfterSeconds,
            cause: error,
          })
        : error;
    }
    const status = error.status === undefined ? '' : `${error.status} `;
    const code = error.aepCode ?? 'no error code';
    const detail = error.detail ? `: ${error.detail}` : '';
    return new AepAuthError(`IMS refused the client credentials (${status}${code})${detail}`, {
      status: error.status,
      aepCode: error.aepCode,
      route: LABEL,
      detail: error.detail,
    });
  }
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
