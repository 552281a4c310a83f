// ListObjects paging over sorted keys: prefix, delimiter → common prefixes, max-keys, and a resume marker.
import { compareKeys } from './storage.ts';

export interface ListPageRequest {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Resume strictly after this key or common prefix (start-after, marker or a continuation token). */
  after?: string;
  /** Whether `after` is a common prefix (skip everything under it); guessed from its shape when undefined. */
  afterIsPrefix?: boolean;
}

export interface ListPage {
  keys: string[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned: where the next page starts. */
  last?: string;
  lastIsPrefix?: boolean;
}

export function listPage(sortedKeys: string[], request: ListPageRequest): ListPage {
  const page: ListPage = { keys: [], commonPrefixes: [], isTruncated: false };
  const { prefix, delimiter, maxKeys, after } = request;
  // A resume marker that is a common prefix skips every key under it.
  const looksLikePrefix =
    after !== undefined &&
    delimiter !== '' &&
    after.startsWith(prefix) &&
    after.indexOf(delimiter, prefix.length) === after.length - delimiter.length;
  const skipUnder = (request.afterIsPrefix ?? looksLikePrefix) ? after : undefined;
  let count = 0;
  for (const key of sortedKeys) {
    if (!key.startsWith(prefix)) continue;
    if (after !== undefined && compareKeys(key, after) <= 0) continue;
    if (skipUnder !== undefined && key.startsWith(skipUnder)) continue;
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const entry = cut === -1 ? key : key.slice(0, cut + delimiter.length);
    if (cut !== -1 && entry === page.commonPrefixes.at(-1)) continue;
    if (count === maxKeys) {
      page.isTruncated = true;
      break;
    }
    if (cut === -1) page.keys.push(entry);
    else page.commonPrefixes.push(entry);
    page.last = entry;
    page.lastIsPrefix = cut !== -1;
    count++;
  }
  return page;
}

/** S3's `encoding-type=url`: percent-encoding that every client's URL decoder reverses ('/' kept readable). */
export function urlEncodeKey(value: string): string {
  return encodeURIComponent(value).replaceAll('%2F', '/');
}
