// The local "AWS endpoint" every function's SDK clients talk to: it names the caller by its access key, asks
// the action table and the authorizer what AWS would decide, and then refuses as AWS does or passes the
// request on, streamed, to the local backend (or answers it itself for Secrets Manager and SNS).
// Signatures are not verified: this is a loopback development tool and the access key names the function.
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { readSmallBody } from '../s3-server/body.ts';
import {
  type AwsRequest,
  type Check,
  checksFor,
  knowsOperation,
  type S3Input,
  secretArn,
  type TableContext,
  UnknownOperationError,
} from './actions.ts';
import { type AuthorizationResult, type Authorizer, createAuthorizer } from './authorizer.ts';
import { type BuiltinAnswer, type PublishedMessage, publish, SecretStore } from './builtins.ts';
import { deleteRequestFor, isQuiet, type ObjectId, withRefusals } from './delete-objects.ts';
import {
  type Credential,
  type Protocol,
  parseCredential,
  parseDeleteObjects,
  parseRpcRequest,
  parseS3Request,
  protocolOf,
} from './requests.ts';
import { accessDenied, type ServiceError, sendServiceError, unknownAccessKey } from './responses.ts';
import type { FunctionPrincipal, TemplatePolicies } from './template-policies.ts';

export type { PublishedMessage } from './builtins.ts';

export interface GatewayDecision {
  /** Handler folder name of the caller; undefined for an unknown access key. */
  function?: string;
  service: string;
  operation: string;
  /** The IAM action decided; absent when the request never got that far (unknown key or operation). */
  action?: string;
  resource?: string;
  allowed: boolean;
  /** AWS's refusal text, or why the gateway refused by itself. */
  message?: string;
  /** Time the authorizer took for this check. */
  durationMs?: number;
}

export interface AwsGatewayOptions {
  /** From readTemplatePolicies: resource policies, topics, secrets (principals come by registerPrincipal). */
  policies: TemplatePolicies;
  /** Where allowed requests go, per signing name; a service without one answers NotImplemented. */
  backends?: { s3?: string; dynamodb?: string; states?: string };
  /** Initial secret values by full ARN (see TemplatePolicies.secrets for the template's). */
  secrets?: Record<string, string>;
  /** Each allowed SNS Publish, before the MessageId is answered. */
  onPublish?: (message: PublishedMessage) => void | Promise<void>;
  /** Each decision: one per check of each request, and every refusal. */
  onDecision?: (decision: GatewayDecision) => void;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Instead of one built from `policies` (tests). */
  authorizer?: Authorizer;
  /**
   * A new Authorization header for an S3 request on its way to the backend, or undefined to keep the
   * caller's: for a backend that verifies signatures its own way (moto, see local/runner/moto-signing.ts).
   */
  resignS3?: (
    request: { method: string; path: string; query: string; headers: IncomingMessage['headers'] },
    accessKeyId: string,
  ) => string | undefined;
}

export interface AwsGateway {
  /** `http://127.0.0.1:<port>`: the value for every AWS_ENDPOINT_URL_<SERVICE>. */
  url: string;
  /** The function whose SDK clients sign with this access key id (any secret key is accepted). */
  registerPrincipal(accessKeyId: string, principal: FunctionPrincipal): void;
  /**
   * An access key of the runner itself (the administrator's: it plays the uploading team and reads the
   * reports back): its S3 requests go to the backend unchecked, like the stack owner's in AWS.
   */
  registerAdministrator(accessKeyId: string): void;
  /** Sets a secret's value (as a new AWSCURRENT version), by full ARN. */
  putSecretValue(arn: string, value: string): void;
  close(): Promise<void>;
}

/** Headers that belong to one hop; everything else goes through as the client sent it (Host included). */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'expect',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);

function forwardHeaders(headers: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_HEADERS.has(name)) out[name] = value;
  return out;
}

async function readBody(req: IncomingMessage, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** S3 answers a read of a missing key with 404 only to a caller allowed s3:ListBucket on the bucket. */
const MISSING_KEY_RULE = new Set(['GetObject', 'HeadObject']);

export async function startAwsGateway(options: AwsGatewayOptions): Promise<AwsGateway> {
  const { policies } = options;
  const authorizer = options.authorizer ?? createAuthorizer({ resourcePolicies: policies.resourcePolicies });
  const principals = new Map<string, FunctionPrincipal>();
  const administrators = new Set<string>();
  /** The request's headers for the S3 backend: as sent, with the signature redone where `resignS3` says. */
  const s3Headers = (req: IncomingMessage, accessKeyId: string): OutgoingHttpHeaders => {
    const headers = forwardHeaders(req.headers);
    const url = req.url ?? '/';
    const at = url.indexOf('?');
    const authorization = options.resignS3?.(
      {
        method: req.method ?? 'GET',
        path: at < 0 ? url : url.slice(0, at),
        query: at < 0 ? '' : url.slice(at + 1),
        headers: req.headers,
      },
      accessKeyId,
    );
    if (authorization) headers.authorization = authorization;
    return headers;
  };
  const secrets = new SecretStore(options.secrets);
  const topics = new Set(Object.keys(policies.topics));
  const report = (decision: GatewayDecision) => {
    try {
      options.onDecision?.(decision);
    } catch (error) {
      console.error('aws-gateway: onDecision listener failed', error);
    }
  };

  /** The template's secrets and the ones given values here, for resolving a SecretId. */
  const knownSecrets = () => {
    const all: Record<string, { name: string; kmsKeyArn?: string }> = { ...policies.secrets };
    for (const arn of secrets.arns()) {
      all[arn] ??= { name: /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(arn)?.[1] ?? arn };
    }
    return all;
  };

  /** One check, reported; aws:RequestedRegion is the region the request was signed for. */
  async function decide(
    principal: FunctionPrincipal,
    credential: Credential,
    operation: string,
    check: Check,
  ): Promise<AuthorizationResult> {
    const started = performance.now();
    const decided = await authorizer.authorize(principal, {
      ...check,
      context: { 'aws:RequestedRegion': credential.region, ...check.context },
    });
    report({
      function: principal.function,
      service: credential.service,
      operation,
      action: check.action,
      resource: check.resource,
      allowed: decided.allowed,
      durationMs: performance.now() - started,
      ...(decided.allowed ? {} : { message: decided.message }),
    });
    return decided;
  }

  /** Every check in order; the first refusal answers the request. True when all were allowed. */
  async function authorizeAll(
    principal: FunctionPrincipal,
    credential: Credential,
    operation: string,
    checks: Check[],
    refuse: (error: ServiceError) => void,
    protocol: Protocol,
  ): Promise<boolean> {
    for (const check of checks) {
      const decided = await decide(principal, credential, operation, check);
      if (!decided.allowed) {
        refuse(accessDenied(protocol, decided.message, check.errorCode));
        return false;
      }
    }
    return true;
  }

  /**
   * DeleteObjects decides key by key, as S3 does: the allowed keys go to the backend, each refused one comes
   * back as an AccessDenied <Error> in the 200 answer (DeleteObjects API reference, Permissions and Errors).
   */
  async function deleteObjectsPerKey(
    req: IncomingMessage,
    res: ServerResponse,
    principal: FunctionPrincipal,
    credential: Credential,
    input: S3Input,
    tableContext: TableContext,
  ): Promise<void> {
    const xml = await readSmallBody(req);
    const objects = parseDeleteObjects(xml);
    const checks = checksFor(
      { service: 's3', operation: 'DeleteObjects', s3: { ...input, objects } },
      tableContext,
    );
    const allowed: ObjectId[] = [];
    const refused: ObjectId[] = [];
    for (const [index, check] of checks.entries()) {
      const decided = await decide(principal, credential, 'DeleteObjects', check);
      (decided.allowed ? allowed : refused).push(objects[index] as ObjectId);
    }
    let result: string | undefined;
    if (allowed.length > 0) {
      const backend = options.backends?.s3;
      if (!backend) throw new NotServedError('s3', 'DeleteObjects');
      const { body, contentMd5 } = deleteRequestFor(allowed, isQuiet(xml));
      const headers = forwardHeaders(req.headers);
      for (const name of Object.keys(headers)) {
        if (
          /^(content-length|content-md5|content-encoding|x-amz-(checksum-.*|sdk-checksum-algorithm|trailer|decoded-content-length))$/.test(
            name,
          )
        ) {
          delete headers[name];
        }
      }
      headers['content-md5'] = contentMd5;
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      headers['content-length'] = Buffer.byteLength(body);
      const answer = await exchange(backend, req, headers, Buffer.from(body));
      if (answer.status !== 200) {
        res.writeHead(answer.status, forwardHeaders(answer.headers));
        res.end(answer.body);
        return;
      }
      result = answer.body.toString('utf8');
    }
    const merged = withRefusals(result, refused);
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(merged) });
    res.end(merged);
  }

  /** Whether the source of a COPY-directive copy has tags: asks the backend; one without tagging says no. */
  async function copySourceHasTags(backend: string, copySource: string): Promise<boolean> {
    const [path = '', query = ''] = copySource.replace(/^\//, '').split('?', 2);
    const versionId = new URLSearchParams(query).get('versionId');
    const url = `${backend}/${path}?tagging${versionId ? `&versionId=${encodeURIComponent(versionId)}` : ''}`;
    try {
      const response = await fetch(url);
      const text = await response.text();
      return response.status === 200 && /<Tag>/.test(text);
    } catch {
      return false;
    }
  }

  async function handleS3(
    req: IncomingMessage,
    res: ServerResponse,
    principal: FunctionPrincipal,
    credential: Credential,
    sendContinue: () => void,
    refuse: (error: ServiceError) => void,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const { operation, input } = parseS3Request(method, req.url ?? '/', req.headers, credential.presigned);
    if (!knowsOperation('s3', operation)) throw new UnknownOperationError('s3', operation);
    const backend = options.backends?.s3;
    const tableContext: TableContext = {
      region: credential.region,
      account: principal.accountId,
      topics: policies.topics,
      secrets: policies.secrets,
    };
    if (operation === 'DeleteObjects') {
      sendContinue();
      return deleteObjectsPerKey(req, res, principal, credential, input, tableContext);
    }
    const copySource = input.headers['x-amz-copy-source'];
    const tagged =
      operation === 'CopyObject' &&
      backend !== undefined &&
      copySource !== undefined &&
      (input.headers['x-amz-tagging-directive'] ?? 'COPY').toUpperCase() === 'COPY'
        ? await copySourceHasTags(backend, copySource)
        : false;
    const request: AwsRequest = { service: 's3', operation, s3: input };
    const checks = checksFor(request, { ...tableContext, copySourceHasTags: tagged });
    if (!(await authorizeAll(principal, credential, operation, checks, refuse, 'rest-xml'))) return;
    if (!backend) throw new Error('local AWS gateway: no S3 backend configured');

    sendContinue();
    await forward(req, res, backend, undefined, s3Headers(req, credential.accessKeyId), async (answer) => {
      if (answer.statusCode !== 404 || !MISSING_KEY_RULE.has(operation)) return true;
      // The key is not there: what the caller may learn of that is decided by s3:ListBucket on the bucket,
      // evaluated without s3:prefix (this request lists nothing), so a ListBucket grant conditioned on
      // s3:prefix does not count. AmazonS3/latest/API/API_GetObject.html and API_HeadObject.html, Permissions:
      // "If you have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status code 404
      // Not Found error. If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code
      // 403 Forbidden error."
      const listCheck: Check = {
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${input.bucket}`,
        context: {},
      };
      return authorizeAll(principal, credential, operation, [listCheck], refuse, 'rest-xml');
    });
  }

  async function handleRpc(
    req: IncomingMessage,
    res: ServerResponse,
    principal: FunctionPrincipal,
    credential: Credential,
    protocol: Exclude<Protocol, 'rest-xml'>,
    sendContinue: () => void,
    refuse: (error: ServiceError) => void,
  ): Promise<void> {
    sendContinue();
    const body = await readBody(req);
    const { operation, params } = parseRpcRequest(protocol, req.headers, body.toString('utf8'));
    const service = credential.service;
    const ctx = {
      region: credential.region,
      account: principal.accountId,
      topics: policies.topics,
      secrets: knownSecrets(),
    };
    const checks = checksFor({ service, operation, params }, ctx);
    if (!(await authorizeAll(principal, credential, operation, checks, refuse, protocol))) return;

    if (service === 'secretsmanager' && operation === 'GetSecretValue') {
      return sendBuiltin(res, protocol, secrets.getSecretValue(secretArn(String(params.SecretId), ctx)));
    }
    if (service === 'sns' && operation === 'Publish') {
      return sendBuiltin(res, protocol, await publish(principal.function, params, topics, options.onPublish));
    }
    const backend = options.backends?.[service as keyof NonNullable<AwsGatewayOptions['backends']>];
    if (!backend || service === 's3') {
      throw new NotServedError(service, operation);
    }
    await forward(req, res, backend, body, forwardHeaders(req.headers));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const url = req.url ?? '/';
    const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
    const credential = parseCredential(req.headers, query);
    const protocol = protocolOf(credential?.service, req.headers);
    const service = credential?.service ?? 'unknown';
    let continued = !expectsContinue;
    const sendContinue = () => {
      if (!continued) res.writeContinue();
      continued = true;
    };
    const refuse = (error: ServiceError) => {
      sendServiceError(res, protocol, error, { head: req.method === 'HEAD', closeConnection: !continued });
      if (continued) req.resume();
    };
    const principal = credential ? principals.get(credential.accessKeyId) : undefined;
    try {
      if (credential && service === 's3' && administrators.has(credential.accessKeyId)) {
        const backend = options.backends?.s3;
        if (!backend) throw new NotServedError('s3', `${req.method} ${url.split('?')[0]}`);
        sendContinue();
        await forward(req, res, backend, undefined, s3Headers(req, credential.accessKeyId));
        return;
      }
      if (!credential || !principal) {
        const message = credential
          ? `unknown access key ${credential.accessKeyId}`
          : 'unsigned request (no SigV4 credential)';
        report({ service, operation: '(unauthenticated)', allowed: false, message });
        refuse(unknownAccessKey(protocol, credential?.accessKeyId));
        return;
      }
      if (protocol === 'rest-xml') {
        if (service !== 's3') throw new UnknownOperationError(service, `${req.method} ${url.split('?')[0]}`);
        await handleS3(req, res, principal, credential, sendContinue, refuse);
      } else {
        await handleRpc(req, res, principal, credential, protocol, sendContinue, refuse);
      }
    } catch (error) {
      const loud = error instanceof UnknownOperationError || error instanceof NotServedError;
      const message = error instanceof Error ? error.message : String(error);
      if (!loud) console.error('aws-gateway: request failed', error);
      report({
        ...(principal ? { function: principal.function } : {}),
        service,
        operation: error instanceof UnknownOperationError ? error.operation : '(failed)',
        allowed: false,
        message,
      });
      refuse(
        loud
          ? { status: 501, code: 'NotImplemented', message }
          : { status: 500, code: protocol === 'rest-xml' ? 'InternalError' : 'InternalFailure', message },
      );
    }
  }

  const server = createServer({ requestTimeout: 0 }, (req, res) => void handle(req, res, false));
  // Answer 100 Continue only once the request is allowed: a refused upload never sends its body, as in S3.
  server.on('checkContinue', (req, res) => void handle(req, res, true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    registerPrincipal(accessKeyId, principal) {
      principals.set(accessKeyId, principal);
    },
    registerAdministrator(accessKeyId) {
      administrators.add(accessKeyId);
    },
    putSecretValue(arn, value) {
      secrets.put(arn, value);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Sends the request on to the backend as it came (method, path, headers with Host; the body streamed, or the
 * one already read) and streams the answer back. `inspect` sees the answer's head first and may take over
 * the response (answering false), in which case the answer's body is dropped.
 */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  backend: string,
  body: Buffer | undefined,
  headers: OutgoingHttpHeaders,
  inspect: (answer: IncomingMessage) => Promise<boolean> = async () => true,
): Promise<void> {
  const target = new URL(backend);
  return new Promise<void>((resolve, reject) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        inspect(answer)
          .then((passOn) => {
            if (!passOn) {
              answer.resume();
              resolve();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardHeaders(answer.headers));
            answer.pipe(res);
            answer.on('end', resolve);
            answer.on('error', reject);
          })
          .catch(reject);
      },
    );
    upstream.on('error', reject);
    // A client that goes away mid-transfer takes the backend request with it.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  });
}

/** A buffered round trip to the backend with the given headers and body (small requests only). */
function exchange(
  backend: string,
  req: IncomingMessage,
  headers: OutgoingHttpHeaders,
  body: Buffer,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  const target = new URL(backend);
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
        );
        answer.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

function sendBuiltin(res: ServerResponse, protocol: Protocol, answer: BuiltinAnswer): void {
  if (!answer.ok) {
    sendServiceError(res, protocol, answer.error);
    return;
  }
  res.writeHead(200, {
    'Content-Type': answer.contentType,
    'Content-Length': Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}

/** An operation the table knows but no backend here serves (KMS, SQS, Secrets Manager beyond GetSecretValue). */
class NotServedError extends Error {
  constructor(service: string, operation: string) {
    super(`local AWS gateway: ${service} ${operation} was allowed, but nothing serves ${service} locally`);
  }
}
