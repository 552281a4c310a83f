// Adobe IMS client-credentials endpoint and the registry of issued tokens (expiry on the simulated clock).
import { randomBytes } from 'node:crypto';
import type { SimClock } from './clock.ts';
import { header, json, type SimRequest, type SimResponse } from './http.ts';

export interface ImsCredentials {
  clientId: string;
  clientSecret: string;
  orgId: string;
  sandboxName: string;
  scopes?: string;
}

interface IssuedToken {
  tokenId: string;
  expiresAtSec: number;
  revoked: boolean;
}

export type TokenCheck = { valid: true; tokenId: string } | { valid: false; reason: string };

export class TokenRegistry {
  private readonly tokens = new Map<string, IssuedToken>();
  private issued = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly lifetimeSeconds: number,
    /** The access token for the n-th issue (tests issue marker tokens to prove none leaks); random by default. */
    private readonly newAccessToken: (sequence: number) => string = () =>
      `sim.${randomBytes(24).toString('base64url')}`,
  ) {}

  issue(): { accessToken: string; tokenId: string } {
    this.issued += 1;
    const tokenId = `token-${this.issued}`;
    const accessToken = this.newAccessToken(this.issued);
    this.tokens.set(accessToken, {
      tokenId,
      expiresAtSec: this.clock.nowSec() + this.lifetimeSeconds,
      revoked: false,
    });
    return { accessToken, tokenId };
  }

  check(accessToken: string): TokenCheck {
    const token = this.tokens.get(accessToken);
    if (!token) return { valid: false, reason: 'unknown' };
    if (token.revoked) return { valid: false, reason: 'revoked' };
    if (this.clock.nowSec() >= token.expiresAtSec) return { valid: false, reason: 'expired' };
    return { valid: true, tokenId: token.tokenId };
  }

  revokeAll(): void {
    for (const token of this.tokens.values()) token.revoked = true;
  }
}

function oauthError(status: number, error: string, description: string): SimResponse {
  return json(status, { error, error_description: description });
}

/** `POST /ims/token/v3`: form body preferred, query string accepted. */
export function handleTokenRequest(
  req: SimRequest,
  credentials: ImsCredentials,
  tokens: TokenRegistry,
  lifetimeSeconds: number,
): SimResponse & { tokenId?: string } {
  const form = new URLSearchParams(req.query);
  const contentType = header(req, 'content-type') ?? '';
  if (contentType.includes('application/x-www-form-urlencoded') || (!contentType && req.rawBody)) {
    for (const [key, value] of new URLSearchParams(req.rawBody)) form.set(key, value);
  }
  const grantType = form.get('grant_type');
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  const scope = form.get('scope');
  if (!grantType || !clientId || !clientSecret || scope === null) {
    return oauthError(400, 'invalid_request', 'grant_type, client_id, client_secret and scope are required');
  }
  if (grantType !== 'client_credentials') {
    return oauthError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
  }
  if (clientId !== credentials.clientId || clientSecret !== credentials.clientSecret) {
    return oauthError(401, 'invalid_client', 'invalid client_id or client_secret');
  }
  const requested = scope
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const allowed = new Set((credentials.scopes ?? '').split(',').map((s) => s.trim()));
  if (requested.length === 0 || requested.some((s) => !allowed.has(s))) {
    return oauthError(400, 'invalid_scope', 'invalid scope');
  }
  const { accessToken, tokenId } = tokens.issue();
  return {
    ...json(200, { access_token: accessToken, token_type: 'bearer', expires_in: lifetimeSeconds }),
    tokenId,
  };
}
