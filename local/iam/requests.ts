// Reads an AWS SDK request as the service would: the SigV4 credential scope (who, where, which service) and
// the operation with its parameters, per protocol (S3 REST, JSON 1.0/1.1 with X-Amz-Target, awsQuery forms).

import type { IncomingHttpHeaders } from 'node:http';
import type { Json } from '../runner/synthesized.ts';
import { subresource } from '../s3-server/subresources.ts';
import type { S3Input } from './actions.ts';

export interface Credential {
  accessKeyId: string;
  region: string;
  /** The signing name: s3, dynamodb, states, sns, secretsmanager, kms, sqs... */
  service: string;
  /** Signed in the query string (a presigned URL) rather than the Authorization header. */
  presigned: boolean;
}

/** `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, ...`, or X-Amz-Credential. */
export function parseCredential(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
): Credential | undefined {
  const authorization = headers.authorization;
  const fromHeader = authorization ? /Credential=([^,\s]+)/.exec(authorization)?.[1] : undefined;
  const scope = fromHeader ?? query.get('X-Amz-Credential') ?? undefined;
  if (!scope) return undefined;
  const [accessKeyId, , region, service] = scope.split('/');
  if (!accessKeyId || !region || !service) return undefined;
  return { accessKeyId, region, service, presigned: fromHeader === undefined };
}

/** The protocol each service speaks, as its SDK v3 client sends it. */
export type Protocol = 'rest-xml' | 'json-1.0' | 'json-1.1' | 'query';

const PROTOCOLS: Record<string, Protocol> = {
  s3: 'rest-xml',
  dynamodb: 'json-1.0',
  states: 'json-1.0',
  sqs: 'json-1.0',
  secretsmanager: 'json-1.1',
  kms: 'json-1.1',
  sns: 'query',
};

/** A service's protocol; one the gateway does not know is guessed from the request's shape. */
export function protocolOf(service: string | undefined, headers: IncomingHttpHeaders): Protocol {
  const known = service ? PROTOCOLS[service] : undefined;
  if (known) return known;
  if (headers['x-amz-target']) {
    return String(headers['content-type']).includes('1.1') ? 'json-1.1' : 'json-1.0';
  }
  return String(headers['content-type']).includes('x-www-form-urlencoded') ? 'query' : 'rest-xml';
}

const BUCKET_OPERATIONS: Record<string, string> = {
  'PUT ': 'CreateBucket',
  'HEAD ': 'HeadBucket',
  'DELETE ': 'DeleteBucket',
  'GET location': 'GetBucketLocation',
  'GET versioning': 'GetBucketVersioning',
  'PUT versioning': 'PutBucketVersioning',
  'GET versions': 'ListObjectVersions',
  'GET uploads': 'ListMultipartUploads',
  'POST delete': 'DeleteObjects',
};

const OBJECT_OPERATIONS: Record<string, string> = {
  'GET ': 'GetObject',
  'HEAD ': 'HeadObject',
  'DELETE ': 'DeleteObject',
  'POST uploads': 'CreateMultipartUpload',
  'POST uploadId': 'CompleteMultipartUpload',
  'DELETE uploadId': 'AbortMultipartUpload',
  'GET uploadId': 'ListParts',
  'GET tagging': 'GetObjectTagging',
  'PUT tagging': 'PutObjectTagging',
  'DELETE tagging': 'DeleteObjectTagging',
  'GET attributes': 'GetObjectAttributes',
};

/**
 * A path-style S3 request (`/bucket/key?query`, the key URL-encoded) as bucket, key and operation: method,
 * sub-resource and x-amz-copy-source decide it, as S3 does. An unknown combination is named by its shape
 * (`GET ?acl (object)`), which the action table then refuses loudly.
 */
export function parseS3Request(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  presigned: boolean,
): { operation: string; input: S3Input } {
  const questionMark = url.indexOf('?');
  const rawPath = questionMark === -1 ? url : url.slice(0, questionMark);
  const query = new URLSearchParams(questionMark === -1 ? '' : url.slice(questionMark + 1));
  const withoutSlash = rawPath.slice(1);
  const slash = withoutSlash.indexOf('/');
  const bucket = decodeURIComponent(slash === -1 ? withoutSlash : withoutSlash.slice(0, slash));
  const key = slash === -1 ? '' : decodeURIComponent(withoutSlash.slice(slash + 1));
  const flatHeaders: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    flatHeaders[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const input: S3Input = { bucket, key, query, headers: flatHeaders, presigned };
  const sub = subresource(query) ?? '';
  const shape = `${method} ${sub}`;
  const copy = headers['x-amz-copy-source'] !== undefined;
  let operation: string | undefined;
  if (bucket === '') operation = method === 'GET' && sub === '' ? 'ListBuckets' : undefined;
  else if (key === '') {
    operation =
      shape === 'GET '
        ? query.get('list-type') === '2'
          ? 'ListObjectsV2'
          : 'ListObjects'
        : BUCKET_OPERATIONS[shape];
  } else if (shape === 'PUT ') operation = copy ? 'CopyObject' : 'PutObject';
  else if (shape === 'PUT uploadId') operation = copy ? 'UploadPartCopy' : 'UploadPart';
  else operation = OBJECT_OPERATIONS[shape];
  const kind = bucket === '' ? 'service' : key === '' ? 'bucket' : 'object';
  return { operation: operation ?? `${method}${sub ? ` ?${sub}` : ''} (${kind})`, input };
}

/** DeleteObjects' body: `<Delete><Object><Key>k</Key><VersionId>v</VersionId></Object>...</Delete>`. */
export function parseDeleteObjects(xml: string): { key: string; versionId?: string }[] {
  const xmlText = (text: string) =>
    text
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
      .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
      .replace(/&amp;/g, '&');
  const objects: { key: string; versionId?: string }[] = [];
  for (const [, body = ''] of xml.matchAll(/<Object>([\s\S]*?)<\/Object>/g)) {
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(body)?.[1];
    const versionId = /<VersionId>([\s\S]*?)<\/VersionId>/.exec(body)?.[1];
    if (key === undefined) continue;
    objects.push({ key: xmlText(key), ...(versionId ? { versionId: xmlText(versionId) } : {}) });
  }
  return objects;
}

/**
 * A JSON (`X-Amz-Target: DynamoDB_20120810.GetItem`, body the input) or awsQuery (`Action=Publish&...` form)
 * request as operation and parameters. awsQuery parameters stay flat (`MessageAttributes.entry.1.Name`).
 */
export function parseRpcRequest(
  protocol: Exclude<Protocol, 'rest-xml'>,
  headers: IncomingHttpHeaders,
  body: string,
): { operation: string; params: Record<string, Json> } {
  if (protocol === 'query') {
    const form = new URLSearchParams(body);
    const params: Record<string, string> = {};
    for (const [name, value] of form) params[name] = value;
    return { operation: params.Action ?? '(no Action)', params };
  }
  const target = String(headers['x-amz-target'] ?? '');
  const operation = target.slice(target.lastIndexOf('.') + 1) || '(no X-Amz-Target)';
  return { operation, params: body.trim() === '' ? {} : JSON.parse(body) };
}
