// An S3-compatible server on node:http for local runs and tests, filesystem-backed so a person can open the files.
// Accepts what real clients send on default settings (SDK v3 checksums and aws-chunked streams, lib-storage
// multipart, awscli signed chunks). Any access key and any signature are accepted: signatures are never verified,
// because this is a loopback development tool. Storage layout: see storage.ts.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  listObjectsV1,
  listObjectsV2,
  listObjectVersions,
  putBucketVersioning,
} from './buckets.ts';
import type { S3Context, S3ObjectCreated } from './context.ts';
import { methodNotAllowed, notImplemented, S3Error } from './errors.ts';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from './multipart.ts';
import { copyObject, deleteObject, deleteObjects, getObject, putObject } from './objects.ts';
import { Store } from './storage.ts';
import { subresource } from './subresources.ts';
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from './tagging.ts';
import { xmlDocument } from './xml.ts';

export type { S3ObjectCreated } from './context.ts';

export interface S3ServerOptions {
  /** Root folder; buckets are sub-folders. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Created at start if missing. */
  buckets?: string[];
  /** Default us-east-1. */
  region?: string;
  /** After each successful PutObject, CompleteMultipartUpload and CopyObject, once the object is in place. */
  onObjectCreated?: (event: S3ObjectCreated) => void;
}

export interface S3Server {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Operation = (ctx: S3Context) => Promise<void>;

function routeBucket(method: string, query: URLSearchParams): Operation {
  const sub = subresource(query);
  const route = `${method} ${sub ?? ''}`;
  switch (route) {
    case 'PUT ':
      return createBucket;
    case 'HEAD ':
      return headBucket;
    case 'DELETE ':
      return deleteBucket;
    case 'GET ':
      return query.get('list-type') === '2' ? listObjectsV2 : listObjectsV1;
    case 'GET location':
      return getBucketLocation;
    case 'GET versioning':
      return getBucketVersioning;
    case 'PUT versioning':
      return putBucketVersioning;
    case 'GET versions':
      return listObjectVersions;
    case 'GET uploads':
      return listMultipartUploads;
    case 'POST delete':
      return deleteObjects;
  }
  if (sub !== undefined) throw notImplemented(`${method} ?${sub} on a bucket`);
  throw methodNotAllowed(method);
}

function routeObject(method: string, query: URLSearchParams, req: IncomingMessage): Operation {
  const sub = subresource(query);
  const copy = req.headers['x-amz-copy-source'] !== undefined;
  switch (`${method} ${sub ?? ''}`) {
    case 'PUT ':
      return copy ? copyObject : putObject;
    case 'PUT uploadId':
      return copy ? uploadPartCopy : uploadPart;
    case 'GET ':
      return (ctx) => getObject(ctx, false);
    case 'HEAD ':
      return (ctx) => getObject(ctx, true);
    case 'DELETE ':
      return deleteObject;
    case 'POST uploads':
      return createMultipartUpload;
    case 'POST uploadId':
      return completeMultipartUpload;
    case 'DELETE uploadId':
      return abortMultipartUpload;
    case 'GET uploadId':
      return listParts;
    case 'PUT tagging':
      return putObjectTagging;
    case 'GET tagging':
      return getObjectTagging;
    case 'DELETE tagging':
      return deleteObjectTagging;
  }
  if (sub !== undefined) throw notImplemented(`${method} ?${sub} on an object`);
  throw methodNotAllowed(method);
}

/** Path-style `/bucket/key`, or virtual-host style when Host is `<bucket>.localhost[:port]`. */
function parseTarget(req: IncomingMessage): { bucket: string; key: string; query: URLSearchParams } {
  let raw = req.url ?? '/';
  if (!raw.startsWith('/')) raw = raw.replace(/^[a-z]+:\/\/[^/]*/i, '') || '/';
  const questionMark = raw.indexOf('?');
  const rawPath = questionMark === -1 ? raw : raw.slice(0, questionMark);
  const query = new URLSearchParams(questionMark === -1 ? '' : raw.slice(questionMark + 1));
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.");
    }
  };
  const hostBucket = /^(.+)\.localhost(:\d+)?$/i.exec(req.headers.host ?? '')?.[1];
  if (hostBucket) return { bucket: hostBucket.toLowerCase(), key: decode(rawPath.slice(1)), query };
  const withoutSlash = rawPath.slice(1);
  const slash = withoutSlash.indexOf('/');
  if (slash === -1) return { bucket: decode(withoutSlash), key: '', query };
  return { bucket: decode(withoutSlash.slice(0, slash)), key: decode(withoutSlash.slice(slash + 1)), query };
}

function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error, requestId: string): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  for (const name of res.getHeaderNames())
    if (name !== 'x-amz-request-id' && name !== 'x-amz-id-2') res.removeHeader(name);
  res.statusCode = error.status;
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const body = xmlDocument(
    'Error',
    [
      ['Code', error.code],
      ['Message', error.message],
      ...Object.entries(error.details),
      ['RequestId', requestId],
    ],
    false,
  );
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const dataDir = path.resolve(options.dataDir);
  const region = options.region ?? 'us-east-1';
  const store = new Store(dataDir);
  await store.init(options.buckets ?? []);

  const emitCreated = (event: S3ObjectCreated) => {
    try {
      options.onObjectCreated?.(event);
    } catch (error) {
      // A listener's failure must not turn a stored object into a failed request.
      console.error('s3-server: onObjectCreated listener failed', error);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
    res.setHeader('Server', 'AmazonS3');
    try {
      const method = req.method ?? 'GET';
      const { bucket, key, query } = parseTarget(req);
      let operation: Operation;
      if (bucket === '') {
        if (method !== 'GET') throw methodNotAllowed(method);
        operation = listBuckets;
      } else {
        operation = key === '' ? routeBucket(method, query) : routeObject(method, query, req);
      }
      await operation({ req, res, store, region, bucket, key, query, emitCreated });
    } catch (caught) {
      const error =
        caught instanceof S3Error
          ? caught
          : new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
      if (!(caught instanceof S3Error) && !req.destroyed) console.error('s3-server: internal error', caught);
      sendError(req, res, error, requestId);
    } finally {
      // A body the operation never read (an early error) is drained so the connection stays usable.
      if (!req.complete) req.resume();
    }
  };

  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
