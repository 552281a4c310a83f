// Identity columns: detection from headers and the per-namespace value checks
// (docs/contracts.md#validation-rules-and-codes), and their hashing under `hashIdentities`.
import { createHash } from 'node:crypto';

/** Normalized header → AEP namespace code; the stack configuration adds to it (CRM ID namespace). */
export const BUILT_IN_IDENTITY_HEADERS: Readonly<Record<string, string>> = {
  email: 'Email',
  emailaddress: 'Email',
  ecid: 'ECID',
  // Normalized phones are E.164: AEP's Phone_E.164, which destinations such as Google Customer Match activate
  // (they cannot activate numbers from the plain Phone namespace; docs/aep.md#identity-namespaces).
  phone: 'Phone_E.164',
  phonenumber: 'Phone_E.164',
  gaid: 'GAID',
  idfa: 'IDFA',
};

export const DEFAULT_CUSTOM_IDENTITY_HEADERS: Readonly<Record<string, string>> = { crmid: 'CRMID' };

/** Case-insensitive, ignoring spaces, `_` and `-`. */
export function normalizeHeader(header: string): string {
  return header.toLowerCase().replace(/[\s_-]+/g, '');
}

/**
 * The detection table a run uses: the built-ins with the stack's table over them. The configured headers are
 * normalized like file headers, so `crm_id` and `CRM ID` in the configuration both match.
 */
export function identityTable(configured: Readonly<Record<string, string>>): Record<string, string> {
  const table: Record<string, string> = { ...BUILT_IN_IDENTITY_HEADERS };
  for (const [header, namespace] of Object.entries(configured)) table[normalizeHeader(header)] = namespace;
  return table;
}

/** AEP's standard namespaces for SHA-256 digests of a normalized e-mail and of an E.164 phone. */
export const HASHED_EMAIL_NAMESPACE = 'Email_LC_SHA256';
export const HASHED_PHONE_NAMESPACE = 'Phone_SHA256_E.164';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const ECID = /^\d{38}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export interface IdentityCheck {
  /** The value to stage (normalized), or undefined when the value is not a valid identity. */
  normalize(raw: string): string | undefined;
  /** What was expected, for the message. */
  expected: string;
}

const sha256Digest: IdentityCheck = {
  // A column already hashed: 64 hex characters, upper case lower-cased.
  normalize: (raw) => {
    const value = raw.trim().toLowerCase();
    return SHA256_HEX.test(value) ? value : undefined;
  },
  expected: 'is not a SHA-256 digest (64 hexadecimal characters)',
};

const checks: Record<string, IdentityCheck> = {
  email: {
    normalize: (raw) => {
      const value = raw.trim().toLowerCase();
      return EMAIL.test(value) ? value : undefined;
    },
    expected: 'is not an email address',
  },
  ecid: {
    normalize: (raw) => (ECID.test(raw.trim()) ? raw.trim() : undefined),
    expected: 'is not an ECID (38 digits)',
  },
  phone: {
    normalize: (raw) => {
      const value = raw.trim().replace(/[\s().-]/g, '');
      return E164.test(value) ? value : undefined;
    },
    expected: 'is not an E.164 phone number (+ and country code; no default country is assumed)',
  },
  [HASHED_EMAIL_NAMESPACE.toLowerCase()]: sha256Digest,
  [HASHED_PHONE_NAMESPACE.toLowerCase()]: sha256Digest,
};
checks['phone_e.164'] = checks.phone!;

const anyValue: IdentityCheck = {
  normalize: (raw) => (raw.trim() === '' ? undefined : raw.trim()),
  expected: 'is empty',
};

export function identityCheckFor(namespace: string): IdentityCheck {
  return checks[namespace.toLowerCase()] ?? anyValue;
}

/** The hashed namespace a raw e-mail or phone namespace's values go to under `hashIdentities`, if any. */
export function hashedNamespaceOf(namespace: string): string | undefined {
  const ns = namespace.toLowerCase();
  if (ns === 'email') return HASHED_EMAIL_NAMESPACE;
  if (ns === 'phone' || ns === 'phone_e.164') return HASHED_PHONE_NAMESPACE;
  return undefined;
}

/**
 * The check of a column hashed on the way in: the raw namespace's own normalization (trim and lower-case an
 * e-mail, strip a phone to E.164), then its SHA-256 as lower-case hex, so that no raw value is staged.
 */
export function hashingCheckFor(rawNamespace: string): IdentityCheck {
  const raw = identityCheckFor(rawNamespace);
  return {
    normalize: (value) => {
      const normalized = raw.normalize(value);
      return normalized === undefined ? undefined : createHash('sha256').update(normalized).digest('hex');
    },
    expected: raw.expected,
  };
}
