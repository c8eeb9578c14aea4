import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * tc's one state folder (ARCHITECTURE: state has one home): `$XDG_STATE_HOME/tc`, else
 * `$HOME/.local/state/tc` (XDG: a relative value is ignored). The DHT routing table, the run locks
 * (`locks/`) and the resume data (`resume/`) live under it; the daemon keeps its own below it.
 */
export function stateFolder(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'tc');
  const home = env['HOME'];
  return join(home !== undefined && isAbsolute(home) ? home : homedir(), '.local', 'state', 'tc');
}
