// The query parameters of an S3 request that name a sub-resource (an operation, as `?tagging` or `?uploads`), as
// opposed to options like prefix or versionId: shared by the embedded server and the local AWS endpoint.

const SUBRESOURCES = new Set([
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
  'accelerate',
  'session',
]);

/** The sub-resource a request's query names, if any. */
export function subresource(query: URLSearchParams): string | undefined {
  for (const name of query.keys()) if (SUBRESOURCES.has(name)) return name;
  return undefined;
}
