// What every S3 operation handler receives, and the response helpers they share.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checksumHeader } from './checksums.ts';
import type { Store } from './storage.ts';
import { type XmlNode, xmlDocument } from './xml.ts';

export interface S3ObjectCreated {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  versionId: string;
  /** 16+ uppercase hex characters, strictly increasing across the server's life (persisted). */
  sequencer: string;
  reason: 'PutObject' | 'CompleteMultipartUpload' | 'CopyObject';
  /** ISO time. */
  time: string;
}

export interface S3Context {
  req: IncomingMessage;
  res: ServerResponse;
  store: Store;
  region: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  emitCreated(event: S3ObjectCreated): void;
}

export function sendXml(res: ServerResponse, status: number, root: string, children: XmlNode[]): void {
  const body = xmlDocument(root, children);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  if (status !== 204 && status !== 304) res.setHeader('Content-Length', 0);
  res.end();
}

export function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

export function setChecksumHeader(
  res: ServerResponse,
  checksum: { algorithm: Parameters<typeof checksumHeader>[0]; value: string } | undefined,
): void {
  if (checksum) res.setHeader(checksumHeader(checksum.algorithm), checksum.value);
}

/** User metadata and standard headers as a client sets them on PutObject, CopyObject (REPLACE) or multipart. */
export function metadataFromRequest(req: IncomingMessage): {
  contentType: string;
  headers: Record<string, string>;
  userMetadata: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  for (const name of ['cache-control', 'content-disposition', 'content-language', 'expires']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const userMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) {
      userMetadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return { contentType: req.headers['content-type'] ?? 'binary/octet-stream', headers, userMetadata };
}
