// Error answers in each protocol's own shape, so an SDK v3 client raises the error AWS would make it raise
// (name, $metadata.httpStatusCode, message).
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Protocol } from './requests.ts';

export interface ServiceError {
  status: number;
  code: string;
  message: string;
  /** Extra elements of an S3 error document (`AWSAccessKeyId`...). */
  details?: Record<string, string>;
}

const xmlEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function sendServiceError(
  res: ServerResponse,
  protocol: Protocol,
  error: ServiceError,
  options: { head?: boolean; closeConnection?: boolean } = {},
): void {
  if (res.headersSent) {
    res.destroy(new Error(error.message));
    return;
  }
  const requestId = randomUUID();
  const headers: Record<string, string> = {};
  // A request whose body was never sent (denied before 100 Continue) leaves the connection unusable.
  if (options.closeConnection) headers.Connection = 'close';
  let body: string;
  if (protocol === 'rest-xml') {
    const hostId = randomBytes(24).toString('base64');
    headers['x-amz-request-id'] = requestId;
    headers['x-amz-id-2'] = hostId;
    headers['Content-Type'] = 'application/xml';
    const details = Object.entries(error.details ?? {})
      .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
      .join('');
    body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message>${details}` +
      `<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`;
  } else if (protocol === 'query') {
    headers['x-amzn-RequestId'] = requestId;
    headers['Content-Type'] = 'text/xml';
    body =
      '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>' +
      `<Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  } else {
    headers['x-amzn-RequestId'] = requestId;
    headers['x-amzn-ErrorType'] = error.code;
    headers['Content-Type'] = `application/x-amz-${protocol}`;
    body = JSON.stringify({ __type: error.code, message: error.message });
  }
  // S3 answers a HEAD with the status alone: the SDK then names the error after it.
  if (options.head) {
    res.writeHead(error.status, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = String(Buffer.byteLength(body));
  res.writeHead(error.status, headers);
  res.end(body);
}

/** The answer to a request the gateway does not know the caller of. */
export function unknownAccessKey(protocol: Protocol, accessKeyId: string | undefined): ServiceError {
  if (protocol === 'rest-xml') {
    return {
      status: 403,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
      details: { AWSAccessKeyId: accessKeyId ?? '' },
    };
  }
  const message = 'The security token included in the request is invalid.';
  if (protocol === 'query') return { status: 403, code: 'InvalidClientTokenId', message };
  return { status: 400, code: 'UnrecognizedClientException', message };
}

/** The answer to a refused check: AccessDenied in each protocol's words, unless the check names its own code. */
export function accessDenied(protocol: Protocol, message: string, errorCode?: string): ServiceError {
  if (errorCode) return { status: protocol === 'rest-xml' ? 403 : 400, code: errorCode, message };
  if (protocol === 'rest-xml') return { status: 403, code: 'AccessDenied', message };
  if (protocol === 'query') return { status: 403, code: 'AuthorizationError', message };
  return { status: 400, code: 'AccessDeniedException', message };
}
