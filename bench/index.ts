// `npm run bench [-- <section>...]`: runs the named benchmark sections (all by default), one after the other.
// A section is a module exporting `run(): Promise<void>` that prints its own figures.

const sections: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  validation: () => import('./validation.ts'),
  concurrency: () => import('./concurrency.ts'),
  coldstart: () => import('./coldstart.ts'),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in sections));
if (unknown.length > 0) {
  console.error(`unknown section(s): ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(sections)) {
  console.log(`== ${name}`);
  await (await sections[name]!()).run();
}
