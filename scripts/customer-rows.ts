// Realistic, deterministic customer rows (seeded): the sample file of `npm start` and the benchmark's input.

export const CUSTOMER_HEADER =
  'email,crm_id,first_name,last_name,country,loyalty_tier,lifetime_value,orders,signup_date,last_purchase_at,opted_in';

const firstNames = [
  'Ana',
  'Bruno',
  'Chloé',
  'Dmitri',
  'Elif',
  'Fatima',
  'Gustav',
  'Hana',
  'Ivan',
  'Jonas',
  'Keiko',
  'Léa',
  'Mateo',
  'Nora',
  'Olusegun',
  'Priya',
  'Quentin',
  'Rosa',
  'Søren',
  'Tomás',
  'Uma',
  'Viktor',
  'Wen',
  'Yusuf',
  'Zoë',
];
const lastNames = [
  'Almeida',
  'Berger',
  'Costa',
  'Dubois',
  'Eriksson',
  'Fischer',
  'García',
  'Hansen',
  'Ito',
  'Jensen',
  'Kowalski',
  'Larsen',
  'Müller',
  'Nakamura',
  'Olsen',
  'Petrov',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Weber',
];
const domains = ['example.com', 'example.org', 'mail.example.net', 'example.co.uk', 'shop.example.de'];
const countries = ['FR', 'DE', 'SE', 'US', 'GB', 'ES', 'IT', 'JP', 'NL', 'PL'];
const tiers = ['bronze', 'silver', 'gold', 'platinum'];

const ascii = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A generator of customer rows; `row(i)` is the CSV line (no newline) of customer `i`, 1-based. */
export function customerRows(initialSeed = 20261128): { row(i: number): string } {
  // mulberry32: small, seeded, good enough for sample data.
  let seed = initialSeed;
  function random(): number {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  return {
    row(i: number): string {
      const first = pick(firstNames);
      const last = pick(lastNames);
      const email = `${ascii(first)}.${ascii(last)}${i}@${pick(domains)}`;
      const crmId = `CRM-${pad(100000 + i * 7, 7)}`;
      const signup = new Date(Date.UTC(2019, 0, 1) + Math.floor(random() * 6 * 365) * 86_400_000);
      const lastPurchase = new Date(signup.getTime() + Math.floor(random() * 400 * 86_400_000));
      const value = (random() * 4000).toFixed(2);
      const orders = Math.floor(random() * 60);
      const signupDate = `${signup.getUTCFullYear()}-${pad(signup.getUTCMonth() + 1)}-${pad(signup.getUTCDate())}`;
      const lastPurchaseAt = `${lastPurchase.toISOString().slice(0, 19)}Z`;
      // A few customers have no enrichment yet: empty cells are valid.
      const tier = random() < 0.05 ? '' : pick(tiers);
      const name = last.includes(' ') || random() < 0.01 ? `"${last}, Jr."` : last;
      return [
        email,
        crmId,
        first,
        name,
        pick(countries),
        tier,
        value,
        orders,
        signupDate,
        lastPurchaseAt,
        random() < 0.7 ? 'true' : 'false',
      ].join(',');
    },
  };
}
