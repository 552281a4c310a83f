// S3 error responses: a typed error carrying the S3 code and HTTP status, rendered as S3's XML by the server.

export class S3Error extends Error {
  override readonly name = 'S3Error';

  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra elements S3 puts in the error body, e.g. `{ Key: 'a.csv' }` or `{ BucketName: 'b' }`. */
    readonly details: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const noSuchBucket = (bucket: string) =>
  new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket });

export const noSuchKey = (key: string) =>
  new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key });

export const noSuchUpload = (uploadId: string) =>
  new S3Error(
    'NoSuchUpload',
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

export const invalidArgument = (message: string, name?: string, value?: string) =>
  new S3Error(
    'InvalidArgument',
    400,
    message,
    name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' },
  );

export const badDigest = (message: string) => new S3Error('BadDigest', 400, message);

export const preconditionFailed = (condition: string) =>
  new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });

export const notImplemented = (what: string) =>
  new S3Error('NotImplemented', 501, `This embedded S3 server does not implement ${what}`);

export const methodNotAllowed = (method: string) =>
  new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', {
    Method: method,
  });

/** Node's fs error code, if the value is one. */
export function fsCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
