// V6 validation of an external-audience create body (docs/aep.md#external-audiences); each refusal names the
// field.
import { badRequest, isRecord, type SimResponse, unprocessable } from './http.ts';

const FIELD_TYPES = ['string', 'number', 'long', 'integer', 'date', 'datetime', 'boolean'];
const CLOUD_TYPES = ['S3', 'DLZ', 'GCS', 'Azure', 'SFTP'];

export interface ValidCreate {
  name: string;
  description?: string;
  fields: Record<string, unknown>[];
  sourcePath: string;
  ttlInDays: number;
  /** The request as AEP echoes it in operationDetails (nested sourceSpec, numeric ttlInDays). */
  details: Record<string, unknown>;
}

type Result = { ok: true; value: ValidCreate } | { ok: false; response: SimResponse };

const refuse = (detail: string): Result => ({ ok: false, response: badRequest(detail) });

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function checkFields(fields: unknown, namespaces?: ReadonlySet<string>): string | undefined {
  if (!Array.isArray(fields) || fields.length < 1 || fields.length > 41) {
    return 'fields must be an array of 1 to 41 fields';
  }
  for (const [index, field] of fields.entries()) {
    if (!isRecord(field)) return `fields[${index}] must be an object`;
    if (typeof field.name !== 'string' || field.name.trim() === '')
      return `fields[${index}].name is required`;
    if (typeof field.type !== 'string' || !FIELD_TYPES.includes(field.type)) {
      return `fields[${index}].type must be one of ${FIELD_TYPES.join('|')}`;
    }
    if (field.identityNs !== undefined && (typeof field.identityNs !== 'string' || !field.identityNs)) {
      return `fields[${index}].identityNs must be a namespace code`;
    }
    if (
      typeof field.identityNs === 'string' &&
      namespaces &&
      !namespaces.has(field.identityNs.toLowerCase())
    ) {
      return `fields[${index}].identityNs: the identity namespace "${field.identityNs}" does not exist in this sandbox`;
    }
    if (field.labels !== undefined && !isStringArray(field.labels))
      return `fields[${index}].labels must be strings`;
  }
  if (!fields.some((f) => isRecord(f) && typeof f.identityNs === 'string')) {
    return 'fields must include at least one identity field (identityNs)';
  }
  return undefined;
}

function coerceTtl(value: unknown): number | undefined {
  if (value === undefined) return 30;
  const ttl = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  return typeof ttl === 'number' && Number.isInteger(ttl) && ttl >= 1 && ttl <= 90 ? ttl : undefined;
}

export function validateCreate(
  body: unknown,
  baseConnectionIds: readonly string[],
  namespaces?: ReadonlySet<string>,
): Result {
  if (!isRecord(body)) return refuse('The request body must be a JSON object');
  if (typeof body.name !== 'string' || body.name.trim() === '') return refuse('name is required');
  if (body.description !== undefined && typeof body.description !== 'string') {
    return refuse('description must be a string');
  }
  const fieldProblem = checkFields(body.fields, namespaces);
  if (fieldProblem) return refuse(fieldProblem);
  if (!isRecord(body.sourceSpec)) return refuse('sourceSpec.params is required');
  // V2b+ nest the parameters under `params`; older copies put them flat
  // (docs/aep.md#where-adobes-docs-disagree, item 2).
  const params = isRecord(body.sourceSpec.params) ? body.sourceSpec.params : body.sourceSpec;
  if (typeof params.path !== 'string' || params.path === '')
    return refuse('sourceSpec.params.path is required');
  if (/\s/.test(params.path)) return refuse('sourceSpec.params.path must not contain spaces');
  if (params.type !== 'file' && params.type !== 'folder')
    return refuse('sourceSpec.params.type must be file|folder');
  if (params.sourceType !== undefined && params.sourceType !== 'Cloud Storage') {
    return refuse('sourceSpec.params.sourceType must be Cloud Storage');
  }
  if (typeof params.cloudType !== 'string' || !CLOUD_TYPES.includes(params.cloudType)) {
    return refuse(`sourceSpec.params.cloudType is required, one of ${CLOUD_TYPES.join('|')}`);
  }
  const needsConnection = ['S3', 'GCS', 'SFTP'].includes(params.cloudType);
  if (needsConnection && (typeof params.baseConnectionId !== 'string' || !params.baseConnectionId)) {
    return refuse('sourceSpec.params.baseConnectionId is required for this cloudType');
  }
  if (params.encryption !== undefined) {
    if (!isRecord(params.encryption) || typeof params.encryption.publicKeyId !== 'string') {
      return refuse('sourceSpec.params.encryption.publicKeyId is required');
    }
  }
  const ttlInDays = coerceTtl(body.ttlInDays);
  if (ttlInDays === undefined) return refuse('ttlInDays must be an integer from 1 to 90');
  if (body.audienceType !== undefined && body.audienceType !== 'people')
    return refuse('audienceType must be people');
  if (body.originName !== 'CUSTOM_UPLOAD') return refuse('originName is required and must be CUSTOM_UPLOAD');
  for (const key of ['labels', 'tags'] as const) {
    if (body[key] !== undefined && !isStringArray(body[key]))
      return refuse(`${key} must be an array of strings`);
  }
  if (params.cloudType !== 'S3') {
    return {
      ok: false,
      response: unprocessable('UNPROCESSABLE_ENTITY', `cloudType ${params.cloudType} is not available here`),
    };
  }
  if (!baseConnectionIds.includes(String(params.baseConnectionId))) {
    return {
      ok: false,
      response: unprocessable(
        'UNPROCESSABLE_ENTITY',
        `sourceSpec.params.baseConnectionId ${String(params.baseConnectionId)} is not a known base connection`,
      ),
    };
  }
  const details: Record<string, unknown> = {
    ...body,
    sourceSpec: { params: { ...params } },
    ttlInDays,
    audienceType: 'people',
  };
  return {
    ok: true,
    value: {
      name: body.name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      fields: body.fields as Record<string, unknown>[],
      sourcePath: params.path,
      ttlInDays,
      details,
    },
  };
}
