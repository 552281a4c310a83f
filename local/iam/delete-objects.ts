// DeleteObjects is authorized key by key: S3 deletes the keys the caller may delete and reports each other one
// as an <Error> with AccessDenied in a 200 answer. These build the trimmed request and the merged answer.
import { createHash } from 'node:crypto';

export interface ObjectId {
  key: string;
  versionId?: string;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The request body for the allowed keys only, with its Content-MD5 (the original checksum no longer fits). */
export function deleteRequestFor(objects: ObjectId[], quiet: boolean): { body: string; contentMd5: string } {
  const items = objects
    .map(
      (o) =>
        `<Object><Key>${escapeXml(o.key)}</Key>${o.versionId ? `<VersionId>${escapeXml(o.versionId)}</VersionId>` : ''}</Object>`,
    )
    .join('');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="${S3_NAMESPACE}">${quiet ? '<Quiet>true</Quiet>' : ''}${items}</Delete>`;
  return { body, contentMd5: createHash('md5').update(body).digest('base64') };
}

export function isQuiet(xml: string): boolean {
  return /<Quiet>\s*true\s*<\/Quiet>/i.test(xml);
}

/** The backend's DeleteResult (or an empty one) with an AccessDenied <Error> for each refused key. */
export function withRefusals(resultXml: string | undefined, refused: ObjectId[]): string {
  const errors = refused
    .map(
      (o) =>
        `<Error><Key>${escapeXml(o.key)}</Key>${o.versionId ? `<VersionId>${escapeXml(o.versionId)}</VersionId>` : ''}` +
        '<Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
    )
    .join('');
  const base =
    resultXml ??
    `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="${S3_NAMESPACE}"></DeleteResult>`;
  if (/<DeleteResult[^>]*\/>/.test(base)) {
    return base.replace(/<DeleteResult([^>]*)\/>/, `<DeleteResult$1>${errors}</DeleteResult>`);
  }
  return base.replace('</DeleteResult>', `${errors}</DeleteResult>`);
}
