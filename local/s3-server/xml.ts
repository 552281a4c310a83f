// Just enough XML for S3: building response documents and reading the few small request bodies S3 takes.

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** A child element: a name with text, nested children, or nothing (skipped when the value is undefined). */
export type XmlNode = [name: string, value: string | number | boolean | XmlNode[] | undefined];

export function renderNodes(nodes: XmlNode[]): string {
  let out = '';
  for (const [name, value] of nodes) {
    if (value === undefined) continue;
    const inner = Array.isArray(value) ? renderNodes(value) : escapeXml(String(value));
    out += `<${name}>${inner}</${name}>`;
  }
  return out;
}

export function xmlDocument(root: string, children: XmlNode[], namespaced = true): string {
  const ns = namespaced ? ` xmlns="${S3_XMLNS}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${renderNodes(children)}</${root}>`;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[entity] ?? '';
  });
}

/** The inner XML of every `<name>…</name>` element (not nested in one another). */
export function elements(xml: string, name: string): string[] {
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>|<${name}(?:\\s[^>]*)?/>`, 'g');
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? '');
}

/** The decoded text of the first `<name>` element, or undefined. */
export function text(xml: string, name: string): string | undefined {
  const inner = elements(xml, name)[0];
  return inner === undefined ? undefined : decodeEntities(inner.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1'));
}
