export { DaemonError, DAEMON_ERROR_CODES, DAEMON_HTTP_STATUS, type DaemonErrorCode } from './errors.js';
export { StateDir, defaultStateDir, DEFAULT_SETTINGS, MAX_TORRENTS, type DaemonSettings, type TorrentRecord } from './state-dir.js';
export { DownloadRoots, checkUrlAddress, isPrivateAddress, MAX_PATH_CHARS } from './guard.js';
export { Registry, URL_FETCH_TIMEOUT_MS, MAX_MAGNET_CHARS, type AddRequest, type RegistryEvents, type RegistryOptions } from './registry.js';
export { Entry, type EntryStatus } from './entry.js';
