// The repository explains itself: every relative link and anchor of its Markdown resolves, every
// docs/<file>.md#<anchor> a file cites exists, and nothing refers to documents kept outside the repository.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * References to documents that are not in the repository. Spelled with escapes so that this file does not
 * match itself: the section sign is \u00a7, and the dots are escaped.
 */
const OUTSIDE_DOCUMENTS: readonly { what: string; pattern: RegExp }[] = [
  { what: 'the design brief', pattern: /DESIGN \u00a7|DESIGN\.md/ },
  { what: 'the AEP API brief', pattern: /aep-api\.md/ },
  { what: 'a numbered section of a document', pattern: /\u00a7\s*\d/ },
];

/** A relative path into a `shared` folder: fine when it resolves to a tracked file, as the functions' imports do. */
const SHARED_PATH = /(?:\.\.\/)+shared\/[^\s'"`)\]>]*/g;

/** `docs/<file>.md` or `docs/<file>.md#<anchor>` as code comments and text cite them, from the repository root. */
const DOCS_CITATION = /(?<![\w./-])docs\/([\w./-]+?\.md)(?:#([\w-]+))?/g;

interface Problem {
  file: string;
  line: number;
  message: string;
}

const format = (p: Problem) => `${p.file}:${p.line}: ${p.message}`;

/** GitHub's heading anchor (github-slugger): lower case, punctuation but `-` and `_` removed, spaces to `-`. */
function githubSlug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Lines of Markdown outside fenced code blocks, with inline code spans blanked (neither holds links). */
function proseLines(markdown: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((raw, index) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(raw)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return;
    }
    if (marker) {
      fence = marker;
      return;
    }
    out.push({ text: raw.replace(/(`+)[^`]*?\1/g, ''), line: index + 1 });
  });
  return out;
}

/** The heading text as GitHub renders it: link text kept, code, emphasis and HTML markers dropped. */
function headingText(raw: string): string {
  return raw
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '');
}

/** Every anchor a Markdown file offers: its ATX headings' slugs (duplicates numbered) and explicit ids. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const occurrences = new Map<string, number>();
  let fence: string | undefined;
  for (const raw of markdown.split('\n')) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(raw)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    for (const match of raw.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(match[1]!);
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(raw);
    if (!heading) continue;
    // github-slugger: a repeated slug gets -1, -2, … (skipping any slug already taken).
    const original = githubSlug(headingText(heading[1]!));
    let slug = original;
    while (occurrences.has(slug)) {
      const next = (occurrences.get(original) ?? 0) + 1;
      occurrences.set(original, next);
      slug = `${original}-${next}`;
    }
    occurrences.set(slug, 0);
    anchors.add(slug);
  }
  return anchors;
}

/** Link targets of a Markdown file: inline links and images, and reference definitions. */
function linkTargets(markdown: string): { target: string; line: number }[] {
  const targets: { target: string; line: number }[] = [];
  for (const { text, line } of proseLines(markdown)) {
    for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      targets.push({ target: match[1]!, line });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (definition) targets.push({ target: definition[1]!, line });
  }
  return targets;
}

/** Whether `repoPath` is a tracked file or a folder holding one. */
function existsInRepo(repoPath: string, tracked: ReadonlySet<string>): boolean {
  const bare = repoPath.replace(/\/+$/, '');
  if (tracked.has(bare)) return true;
  for (const file of tracked) if (file.startsWith(`${bare}/`)) return true;
  return false;
}

/** A path relative to `fromFile` (or to the root, with a leading `/`), as a repository path; null outside it. */
function resolveInRepo(fromFile: string, target: string): string | null {
  const joined = target.startsWith('/')
    ? path.posix.normalize(target.slice(1))
    : path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), target));
  return joined === '..' || joined.startsWith('../') ? null : joined.replace(/^\.\//, '');
}

/**
 * Problems of the links in the Markdown files among `files` (path → content): a target that is not a tracked
 * file or folder, one outside the repository, an anchor that no heading of the target Markdown file makes.
 */
function markdownLinkProblems(
  files: Readonly<Record<string, string>>,
  tracked: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    let found = anchorCache.get(file);
    if (!found) {
      found = anchorsOf(files[file] ?? '');
      anchorCache.set(file, found);
    }
    return found;
  };
  for (const [file, content] of Object.entries(files)) {
    if (!file.endsWith('.md')) continue;
    for (const { target, line } of linkTargets(content)) {
      // Absolute URLs (https:, mailto:) are not the repository's to check.
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = pathPart === '' ? file : resolveInRepo(file, pathPart);
      if (resolved === null) {
        problems.push({ file, line, message: `${target}: points outside the repository` });
        continue;
      }
      if (!existsInRepo(resolved, tracked)) {
        problems.push({ file, line, message: `${target}: ${resolved} is not a tracked file or folder` });
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (!resolved.endsWith('.md')) {
        // GitHub's line anchors are the only ones a non-Markdown file has.
        if (!/^L\d+(-L\d+)?$/.test(anchor)) {
          problems.push({
            file,
            line,
            message: `${target}: ${resolved} is not Markdown and has no #${anchor}`,
          });
        }
        continue;
      }
      if (!anchors(resolved).has(anchor)) {
        problems.push({
          file,
          line,
          message: `${target}: no heading of ${resolved} has the anchor #${anchor}`,
        });
      }
    }
  }
  return problems;
}

/** `docs/<file>.md#<anchor>` citations in any text file whose document or heading does not exist. */
function docsCitationProblems(
  files: Readonly<Record<string, string>>,
  tracked: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  for (const [file, content] of Object.entries(files)) {
    content.split('\n').forEach((text, index) => {
      for (const match of text.matchAll(DOCS_CITATION)) {
        const doc = `docs/${match[1]}`;
        const anchor = match[2];
        if (!tracked.has(doc)) {
          problems.push({ file, line: index + 1, message: `${match[0]}: ${doc} is not a tracked document` });
        } else if (anchor !== undefined && !anchorsOf(files[doc] ?? '').has(anchor)) {
          problems.push({
            file,
            line: index + 1,
            message: `${match[0]}: no heading of ${doc} has #${anchor}`,
          });
        }
      }
    });
  }
  return problems;
}

/** References to documents outside the repository: the old briefs, numbered sections, `shared` paths that resolve nowhere. */
function outsideReferenceProblems(
  files: Readonly<Record<string, string>>,
  tracked: ReadonlySet<string>,
): Problem[] {
  const problems: Problem[] = [];
  for (const [file, content] of Object.entries(files)) {
    content.split('\n').forEach((text, index) => {
      for (const { what, pattern } of OUTSIDE_DOCUMENTS) {
        if (pattern.test(text)) problems.push({ file, line: index + 1, message: `refers to ${what}` });
      }
      for (const match of text.matchAll(SHARED_PATH)) {
        const resolved = resolveInRepo(file, match[0]);
        if (resolved === null || !existsInRepo(resolved, tracked)) {
          problems.push({ file, line: index + 1, message: `${match[0]} is not in the repository` });
        }
      }
    });
  }
  return problems;
}

/** The tracked text files (no node_modules, no package-lock.json, nothing binary), by repository path. */
function trackedTextFiles(): { tracked: Set<string>; files: Record<string, string> } {
  const listed = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter(
      (f) => f !== '' && !f.split('/').includes('node_modules') && path.basename(f) !== 'package-lock.json',
    );
  const tracked = new Set(listed.filter((f) => existsSync(path.join(ROOT, f))));
  const files: Record<string, string> = {};
  for (const file of tracked) {
    const bytes = readFileSync(path.join(ROOT, file));
    if (bytes.subarray(0, 8000).includes(0)) continue;
    files[file] = bytes.toString('utf8');
  }
  return { tracked, files };
}

describe('the repository documents', () => {
  const { tracked, files } = trackedTextFiles();

  it('are tracked Markdown: the README and docs/', () => {
    const markdown = [...tracked].filter((f) => f.endsWith('.md'));
    expect(markdown).toContain('README.md');
    expect(markdown.filter((f) => f.startsWith('docs/')).length).toBeGreaterThanOrEqual(6);
  });

  it('link only to tracked files and to headings that exist', () => {
    expect(markdownLinkProblems(files, tracked).map(format)).toEqual([]);
  });

  it('are cited as docs/<file>.md#<anchor> only where that document and heading exist', () => {
    expect(docsCitationProblems(files, tracked).map(format)).toEqual([]);
  });

  it('are the only documents any tracked file refers to', () => {
    const problems = outsideReferenceProblems(files, tracked);
    expect(problems.map(format)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('compute GitHub heading slugs, numbering repeated headings', () => {
    expect(githubSlug('Failures: caught or redriven')).toBe('failures-caught-or-redriven');
    expect(githubSlug("Rotating the AEP source user's key")).toBe('rotating-the-aep-source-users-key');
    expect(githubSlug('Where Adobe’s docs disagree')).toBe('where-adobes-docs-disagree');
    expect(githubSlug('snake_case and kebab-case (v2.1)')).toBe('snake_case-and-kebab-case-v21');
    const anchors = anchorsOf(
      '# Notes\n## Notes\n```\n# not a heading\n```\n### Notes\n## `run --json` output\n',
    );
    expect([...anchors]).toEqual(['notes', 'notes-1', 'notes-2', 'run---json-output']);
  });

  it('fail on a broken anchor, a missing file and a link out of the repository in a sample', () => {
    const files = {
      'guide.md': [
        '# Guide',
        'See [the setup](other.md#setup), [the missing part](other.md#teardown), [here](#guide),',
        '[nowhere](missing.md), [outside](../elsewhere.md) and [a site](https://example.org/#x).',
        '```',
        '[in a code block](missing-too.md)',
        '```',
      ].join('\n'),
      'other.md': '# Other\n\n## Setup\n',
    };
    const problems = markdownLinkProblems(files, new Set(Object.keys(files))).map(format);
    expect(problems).toEqual([
      'guide.md:2: other.md#teardown: no heading of other.md has the anchor #teardown',
      'guide.md:3: missing.md: missing.md is not a tracked file or folder',
      'guide.md:3: ../elsewhere.md: points outside the repository',
    ]);
  });

  it('fail on a citation of a missing heading, a brief reference and a shared path outside the repository', () => {
    const docsDir = 'docs';
    const files = {
      [`${docsDir}/guide.md`]: '# Guide\n## Setup\n',
      'src/a.ts': [
        `// see ${docsDir}/guide.md#setup and ${docsDir}/guide.md#teardown`,
        `// as ${['DESIGN', '\u00a7', '3'].join(' ').replace('\u00a7 ', '\u00a7')} says`,
        `import { x } from '${['..', 'shared', 'b.ts'].join('/')}';`,
        `// ${['..', '..', 'shared', 'notes.md'].join('/')}`,
      ].join('\n'),
      'shared/b.ts': 'export const x = 1;\n',
    };
    const tracked = new Set(Object.keys(files));
    expect(docsCitationProblems(files, tracked).map(format)).toEqual([
      `src/a.ts:1: ${docsDir}/guide.md#teardown: no heading of ${docsDir}/guide.md has #teardown`,
    ]);
    expect(outsideReferenceProblems(files, tracked).map(format)).toEqual([
      'src/a.ts:2: refers to the design brief',
      'src/a.ts:2: refers to a numbered section of a document',
      `src/a.ts:4: ${['..', '..', 'shared', 'notes.md'].join('/')} is not in the repository`,
    ]);
  });
});
