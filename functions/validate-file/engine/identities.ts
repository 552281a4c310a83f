// Identity columns: detection from headers and the per-namespace value checks
// (docs/contracts.md#validation-rules-and-codes).

/** Normalized header → AEP namespace code; the stack configuration adds to it (CRM ID namespace). */
export const BUILT_IN_IDENTITY_HEADERS: Readonly<Record<string, string>> = {
  email: 'Email',
  emailaddress: 'Email',
  ecid: 'ECID',
  phone: 'Phone',
  phonenumber: 'Phone',
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

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ECID = /^\d{38}$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export interface IdentityCheck {
  /** The value to stage (normalized), or undefined when the value is not a valid identity. */
  normalize(raw: string): string | undefined;
  /** What was expected, for the message. */
  expected: string;
}

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
};

const anyValue: IdentityCheck = {
  normalize: (raw) => (raw.trim() === '' ? undefined : raw.trim()),
  expected: 'is empty',
};

export function identityCheckFor(namespace: string): IdentityCheck {
  return checks[namespace.toLowerCase()] ?? anyValue;
}
