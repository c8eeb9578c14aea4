export { commandParser, parseCommand, withExamples, type CommonOptions } from './args.js';
export { colourLevel, colours, type ColourMode } from './colour.js';
export { reportError, reportWarning } from './errors.js';
export { CLI_ERROR_CODES, CliError, CommandError, ExitCode, exitCodeFor, UsageError, type CliErrorCode } from './exit-codes.js';
export { formatBytes, formatDuration, formatRate, parseSize } from './format.js';
export { processIo, toJsonLine, writeJson, type InStream, type Io, type OutStream } from './io.js';
export { runMain } from './main.js';
export { createProgress, type Progress, type ProgressMode } from './progress.js';
export { sanitize } from './sanitize.js';
export { captureIo, type CapturedIo } from './testing.js';
export { worstExitCode } from './batch.js';
export { DEFAULT_LISTEN_PORT, listenPort, type ListenPort } from './listen-port.js';
export { checkOutputFolder, readInputFile, writeFileAtomic } from './files.js';
export { formatProblem, problemJson, type ProblemLike } from './problems.js';
export { positionals } from './positionals.js';
export {
  describeBody,
  fetchLimited,
  fetchWeb,
  FETCH_TIMEOUT_MS,
  isPublicAddress,
  isWebUrl,
  MAX_FETCH_TIMEOUT_S,
  MAX_REDIRECTS,
  readFileOrUrl,
  sniffBody,
  timeoutMs,
  type BodyKind,
  type FetchOptions,
  type FetchWebOptions,
  type WebResponse,
} from './fetch.js';
export { isMagnet, readTorrentArg, readTorrentBytes, STDIN_ARG, type TorrentArg, type TorrentArgOptions } from './torrent-arg.js';
export { buildCommit, tcVersion, versionText } from './version.js';
export { configPaths, envName, loadConfig } from './config.js';
export { parseToml, TomlError } from './toml.js';
export { COMPLETION_SHELLS, completionScript, type CompletionShell } from './completion.js';
