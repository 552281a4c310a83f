// The --help text, made from the command line's table (cli-table.ts): the whole program's, or one command's.
import {
  COMMANDS,
  type CommandSpec,
  commandsTaking,
  EXIT_CODES_NOTE,
  FLAGS,
  type Flag,
  LOCAL_STATE_NOTE,
  OPERATOR_NOTE,
  PROGRAM_SUMMARY,
} from './cli-table.ts';

const WIDTH = 110;

/** Words filled into lines of at most WIDTH characters, the first after `first`, the others after `rest`. */
function wrap(text: string, first: string, rest = ' '.repeat(first.length)): string {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

function flagLabel(flag: Flag): string {
  const long = `--${flag.name}${flag.value ? ` ${flag.value}` : ''}`;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

/** `aep-audience run <file.csv>... [--manifest m.json] …`, wrapped under its arguments. */
function usageLine(command: CommandSpec, indent: string): string {
  const head = `${indent}aep-audience ${command.name} `;
  const parts = [
    command.arguments,
    ...command.flags
      .filter((f) => f.name !== FLAGS.help.name)
      .map((f) => `[--${f.name}${f.value ? ` ${f.value}` : ''}]`),
  ].filter(Boolean);
  // Brackets stay whole: a flag and its value are never split across lines.
  const lines: string[] = [];
  let line = head.trimEnd();
  for (const part of parts) {
    if (line.length + 1 + part.length > WIDTH && line.trim() !== head.trim()) {
      lines.push(line);
      line = ' '.repeat(head.length - 1);
    }
    line += ` ${part}`;
  }
  lines.push(line);
  return lines.join('\n');
}

function flagRows(flags: readonly Flag[], describe: (flag: Flag) => string): string[] {
  const column = Math.max(...flags.map((f) => flagLabel(f).length)) + 2;
  return flags.map((f) => wrap(describe(f), `  ${flagLabel(f).padEnd(column)}`));
}

function commandRows(commands: readonly CommandSpec[]): string[] {
  const column = Math.max(...COMMANDS.map((c) => c.name.length)) + 1;
  return commands.map((c) => wrap(c.description, `  ${c.name.padEnd(column)}`));
}

/** The whole program's help: every command's usage and description, and every flag with the commands taking it. */
export function programHelp(): string {
  const allFlags = Object.values(FLAGS);
  return [
    PROGRAM_SUMMARY,
    '',
    'Usage:',
    ...COMMANDS.map((c) => usageLine(c, '  ')),
    '  aep-audience --help',
    '  aep-audience <command> --help',
    '',
    'Commands:',
    ...commandRows(COMMANDS.filter((c) => c.group === 'local')),
    '',
    wrap(OPERATOR_NOTE, ''),
    ...commandRows(COMMANDS.filter((c) => c.group === 'operator')),
    '',
    'Options (each after the commands that take it):',
    ...flagRows(allFlags, (f) =>
      f === FLAGS.help ? f.description : `${commandsTaking(f.name).join(', ')}: ${f.description}`,
    ),
    '',
    wrap(LOCAL_STATE_NOTE, ''),
    '',
    wrap(EXIT_CODES_NOTE, ''),
  ].join('\n');
}

/** One command's help: its usage, what it does, and its flags. */
export function commandHelp(command: CommandSpec): string {
  const note =
    command.group === 'operator'
      ? OPERATOR_NOTE.replace(/:$/, '.')
      : command.keepsLocalState
        ? LOCAL_STATE_NOTE
        : undefined;
  return [
    usageLine(command, ''),
    '',
    wrap(command.description, ''),
    '',
    'Options:',
    ...flagRows(command.flags, (f) => f.description),
    ...(note ? ['', wrap(note, '')] : []),
    '',
    wrap(EXIT_CODES_NOTE, ''),
  ].join('\n');
}
