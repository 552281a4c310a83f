// The Adobe I/O gateway's checks on every Platform call: token, API key, org, sandbox, content type.
import {
  aisError,
  badContentType,
  flowError,
  gatewayError,
  header,
  type SimRequest,
  type SimResponse,
} from './http.ts';
import type { ImsCredentials, TokenRegistry } from './ims.ts';

export type GatewayResult =
  | { ok: true; tokenId: string }
  | { ok: false; response: SimResponse; tokenId?: string };

export function checkGateway(
  req: SimRequest,
  credentials: ImsCredentials,
  tokens: TokenRegistry,
  violation: (text: string) => void,
  /** The sandboxes the client may use: its own, and the teams' of a local run (one shared state). */
  sandboxes: readonly string[] = [credentials.sandboxName],
): GatewayResult {
  const authorization = header(req, 'authorization');
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  if (!bearer) {
    return { ok: false, response: gatewayError(403, '403010', 'Oauth token is missing.') };
  }
  const isAis = req.path.startsWith('/data/core/ais/');
  const isFlow = req.path.startsWith('/data/foundation/flowservice/');
  const token = tokens.check(bearer);
  if (!token.valid) {
    // An unknown or expired token is the gateway's 401 401013 (AdobeDocs/experience-platform.en
    // help/landing/troubleshooting.md, "OAuth token is not valid"): it can tell from the token itself. A
    // revoked one looks fine to the gateway; the external audiences API lists its own 400 100911 "an invalid
    // token is provided" (error-code appendix of help/segmentation/api/external-audiences.md,
    // AdobeDocs/experience-platform.fr-FR), so the /core/ais routes answer that one [inferred: the docs say
    // which code exists, not which check sends it].
    if (token.reason === 'revoked' && isAis) {
      return { ok: false, response: aisError(100911, 400, 'BAD_REQUEST', 'An invalid token is provided') };
    }
    return { ok: false, response: gatewayError(401, '401013', 'Oauth token is not valid') };
  }
  const fail = (response: SimResponse): GatewayResult => ({ ok: false, response, tokenId: token.tokenId });
  const apiKey = header(req, 'x-api-key');
  if (!apiKey) return fail(gatewayError(403, '403000', 'Api Key is required'));
  if (apiKey !== credentials.clientId) return fail(gatewayError(403, '403003', 'Api Key is invalid'));
  const org = header(req, 'x-gw-ims-org-id');
  if (!org) return fail(gatewayError(400, '400003', 'Missing header x-gw-ims-org-id'));
  if (org !== credentials.orgId) {
    return fail(
      isAis
        ? aisError(100921, 401, 'UNAUTHORIZED', 'The imsOrgId in x-gw-ims-org-id is not valid')
        : gatewayError(403, '403025', 'Profile is not valid'),
    );
  }
  const sandbox = header(req, 'x-sandbox-name');
  if (!sandbox) {
    if (isAis) {
      return fail(aisError(100910, 400, 'BAD_REQUEST', 'Header x-sandbox-name is required'));
    }
    violation(`${req.method} ${req.path}: no x-sandbox-name header (Flow Service falls back to prod)`);
  } else if (!sandboxes.includes(sandbox)) {
    return fail(
      isFlow
        ? flowError(403, `Sandbox ${sandbox} is not accessible`, 'unknown sandbox')
        : aisError(100922, 401, 'UNAUTHORIZED', `Sandbox ${sandbox} is not accessible to this client`),
    );
  }
  if (['POST', 'PUT', 'PATCH'].includes(req.method) && req.rawBody.length > 0) {
    const contentType = header(req, 'content-type') ?? '';
    if (!/^application\/(json|json-patch\+json)\b/i.test(contentType)) return fail(badContentType());
  }
  return { ok: true, tokenId: token.tokenId };
}
