// Generates samples/customers.csv: a realistic, deterministic customer file (seeded), for `npm start`.
// Usage: npx tsx scripts/generate-sample.ts [rows] [out]
import { writeFileSync } from 'node:fs';
import { CUSTOMER_HEADER, customerRows } from './customer-rows.ts';

const rows = Number(process.argv[2] ?? 3000);
const out = process.argv[3] ?? 'samples/customers.csv';

const generator = customerRows();
const lines = [CUSTOMER_HEADER];
for (let i = 1; i <= rows; i++) lines.push(generator.row(i));
writeFileSync(out, `${lines.join('\n')}\n`);
console.log(`wrote ${rows} rows to ${out}`);
