import { open } from 'node:fs/promises';

/**
 * fsyncs a folder, so that entries created or renamed in it survive a power cut. Best effort: some
 * file systems refuse fsync on a folder (EINVAL, EISDIR), and then there is nothing more we can do.
 */
export async function syncFolder(path: string): Promise<void> {
  let dh;
  try {
    dh = await open(path, 'r');
  } catch {
    return;
  }
  try {
    await dh.sync();
  } catch {
    // See above: refusing is the file system's answer, not an error of ours.
  } finally {
    await dh.close().catch(() => undefined);
  }
}
