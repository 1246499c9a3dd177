import path from 'node:path';

/**
 * How the wrapper starts an MCP server's command on Windows. A program (`.exe`, `.com`) is started
 * directly, its arguments passed as they are. Scripts (`npx.cmd`, `uvx.cmd`, `.bat`, anything else PATHEXT
 * finds) only run through cmd.exe; for them the command line is built here, every argument quoted and
 * every character cmd.exe reads (`& | < > ^ % !` and the rest) escaped, so a path with spaces stays one
 * argument and `&` or `%VAR%` in an argument stays text. Node's `shell: true` would join the arguments
 * unquoted instead. This is cross-spawn's method (https://github.com/moxystudio/node-cross-spawn), whose
 * escaping follows https://qntm.org/cmd.
 */

export interface SpawnPlan {
  file: string;
  args: string[];
  /** True when `args` is the command line as cmd.exe must read it, not to be quoted again by Node. */
  windowsVerbatimArguments: boolean;
}

export interface WindowsEnvironment {
  /** PATH (Windows spells it Path; any case). */
  path: string | undefined;
  pathExt: string | undefined;
  comspec: string | undefined;
  cwd: string;
  isFile(file: string): boolean;
}

const DEFAULT_PATHEXT = '.COM;.EXE;.BAT;.CMD';
/** Files Windows starts as programs; every other file runs through its handler (cmd.exe for scripts). */
const PROGRAM = /\.(?:com|exe)$/i;
/** npm's shims re-read their arguments through `%*`, so cmd.exe's characters need escaping twice. */
const NPM_SHIM = /node_modules[\\/]\.bin[\\/][^\\/]+\.cmd$/i;
const CMD_META = /([()\][%!^"`<>&|;, *?])/g;

export function planWindowsSpawn(program: string, args: readonly string[], env: WindowsEnvironment): SpawnPlan {
  const file = findOnWindows(program, env);
  // Not found: started directly, so the error is the plain "not found" (ENOENT) the wrapper explains.
  if (file === undefined || PROGRAM.test(file)) return { file: program, args: [...args], windowsVerbatimArguments: false };
  const twice = NPM_SHIM.test(file);
  const line = [escapeCommand(path.win32.normalize(file)), ...args.map((arg) => escapeArgument(arg, twice))].join(' ');
  return { file: env.comspec ?? 'cmd.exe', args: ['/d', '/s', '/c', `"${line}"`], windowsVerbatimArguments: true };
}

/**
 * The file Windows would start for `program`: with a directory, there; else the current directory, then
 * each PATH entry. A name with an extension is tried as it is, then with each PATHEXT extension.
 */
export function findOnWindows(program: string, env: WindowsEnvironment): string | undefined {
  const extensions = (env.pathExt ?? DEFAULT_PATHEXT).split(';').filter((ext) => ext !== '');
  const names = [...(path.win32.extname(program) !== '' ? [program] : []), ...extensions.map((ext) => `${program}${ext}`)];
  const hasDirectory = /[\\/]/.test(program) || path.win32.isAbsolute(program);
  const directories = hasDirectory ? [''] : [env.cwd, ...(env.path ?? '').split(';').map((dir) => dir.replace(/^"(.*)"$/, '$1')).filter((dir) => dir !== '')];
  for (const directory of directories) {
    for (const name of names) {
      const candidate = directory === '' ? name : path.win32.join(directory, name);
      if (env.isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

function escapeCommand(command: string): string {
  return command.replace(CMD_META, '^$1');
}

/**
 * One argument for cmd.exe, then for the program's own command-line parser: backslashes before a quote
 * (and at the end) doubled, quotes escaped, the whole quoted; then every cmd.exe character caret-escaped,
 * the quotes included, so cmd.exe never sees a quoted region and reads each character literally.
 */
export function escapeArgument(arg: string, twice = false): string {
  let quoted = arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\*)$/, '$1$1');
  quoted = `"${quoted}"`.replace(CMD_META, '^$1');
  return twice ? quoted.replace(CMD_META, '^$1') : quoted;
}
