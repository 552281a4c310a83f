// The command line's flag table: each command takes the flags of its table and refuses every other one (exit 2,
// naming the flag and the command), and --help is made from the same table.
import { describe, expect, it } from 'vitest';
import { main, parseCommandLine } from '../../local/cli.ts';
import { commandHelp, programHelp } from '../../local/cli-help.ts';
import { COMMANDS, FLAGS, type Flag } from '../../local/cli-table.ts';

const ALL_FLAGS: Flag[] = Object.values(FLAGS);

/** The flag as a person types it, with a value when it takes one. */
const typed = (flag: Flag): string[] =>
  flag.type === 'string' ? [`--${flag.name}`, 'x'] : [`--${flag.name}`];

/** Help text with its line breaks and column padding folded into single spaces. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

async function cli(argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const code = await main(argv, {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
  });
  return { code, ...out };
}

describe('the flag table', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s takes every flag of its table', (_name, command) => {
    const argv = [command.name, 'argument', ...command.flags.flatMap(typed)];
    const parsed = parseCommandLine(argv);

    expect(parsed.command?.name).toBe(command.name);
    expect(parsed.positionals).toEqual(['argument']);
    for (const flag of command.flags) {
      expect(parsed.values[flag.name], `--${flag.name}`).toBe(flag.type === 'string' ? 'x' : true);
    }
    expect(parseCommandLine([command.name, '-h']).values.help).toBe(true);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    '%s refuses every other flag with exit code 2, naming the flag and the command',
    async (_name, command) => {
      const foreign = ALL_FLAGS.filter((f) => !command.flags.includes(f));
      expect(foreign.length).toBeGreaterThan(0);
      for (const flag of [...foreign, { name: 'no-such-flag', type: 'boolean', description: '' } as Flag]) {
        const result = await cli([command.name, 'argument', ...typed(flag)]);
        expect(result.code, `${command.name} --${flag.name}`).toBe(2);
        expect(result.stdout).toBe('');
        expect(result.stderr).toContain(`${command.name} does not take --${flag.name}`);
        expect(result.stderr).toContain(`Run 'aep-audience ${command.name} --help' for usage.`);
      }
    },
  );

  it('says which commands a foreign flag belongs to (validate f.csv --port 5)', async () => {
    const result = await cli(['validate', 'f.csv', '--port', '5']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'aep-audience: validate does not take --port; it is a flag of serve ' +
        '(validate takes --manifest, --workers, --split-bytes, --json, --help)\n' +
        "Run 'aep-audience validate --help' for usage.\n",
    );
    const short = await cli(['show', 'exec-1', '-x']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('show does not take -x');
  });

  it('reads flags before or after the command and its arguments', () => {
    expect(parseCommandLine(['--json', 'validate', 'f.csv'])).toMatchObject({
      command: { name: 'validate' },
      values: { json: true },
      positionals: ['f.csv'],
    });
    expect(parseCommandLine(['--manifest', 'm.json', 'run', 'a.csv', 'b.csv', '--bundles'])).toMatchObject({
      command: { name: 'run' },
      values: { manifest: 'm.json', bundles: true },
      positionals: ['a.csv', 'b.csv'],
    });
    expect(parseCommandLine(['executions', '--limit=5', '--since', '24h']).values).toMatchObject({
      limit: '5',
      since: '24h',
    });
  });

  it("answers a flag without its value, or a value for a switch, as that command's usage error", async () => {
    const missing = await cli(['run', 'a.csv', '--manifest']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("aep-audience: run: Option '--manifest <value>' argument missing");
    const valued = await cli(['validate', 'f.csv', '--json=yes']);
    expect(valued.code).toBe(2);
    expect(valued.stderr).toContain('validate: Option');
  });

  it('refuses a flag with no command, and an unknown command', async () => {
    const bare = await cli(['--json']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--json needs a command before it; it is a flag of run, validate');
    const unknown = await cli(['frobnicate', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('--help, made from the table', () => {
  it('lists every command with its description and usage, and every flag with its description', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(`${programHelp()}\n`);
    const text = flat(help.stdout);
    for (const command of COMMANDS) {
      expect(text).toContain(flat(command.description));
      expect(text).toContain(`aep-audience ${command.name}`);
    }
    for (const flag of ALL_FLAGS) {
      const label = `--${flag.name}${flag.value ? ` ${flag.value}` : ''}`;
      expect(text).toContain(label);
      expect(text).toContain(flat(flag.description));
    }
    expect(text).toContain('-h, --help');
    expect(text).toContain(
      'Exit codes: 0 all succeeded / valid, 1 a pipeline failure / invalid file, 2 usage',
    );
    expect(text).toContain(
      'Local state (S3 data, reports, audience registry, simulator) lives under .local/',
    );
    expect(text).toContain("run, serve: The functions' LOG_LEVEL");
    expect(text).toContain('executions: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE.');
  });

  it('is printed, with exit code 2, when no command is given', async () => {
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe(`${programHelp()}\n`);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))(
    '%s --help lists its own flags, and no other',
    async (_name, command) => {
      const help = await cli([command.name, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe(`${commandHelp(command)}\n`);
      const text = flat(help.stdout);
      expect(text).toContain(flat(command.description));
      const options = text.slice(text.indexOf(' Options: '));
      for (const flag of ALL_FLAGS) {
        const row = flat(
          `${flag.short ? `-${flag.short}, ` : ''}--${flag.name}${flag.value ? ` ${flag.value}` : ''}`,
        );
        if (command.flags.includes(flag)) {
          expect(options).toContain(row);
          expect(options).toContain(flat(flag.description));
        } else {
          expect(options, `${command.name} --help lists --${flag.name}`).not.toContain(`${row} `);
        }
      }
    },
  );
});
