/**
 * Well-known open (public) trackers that `tc-enhance` adds when no list is given. Long-lived entries
 * that have stayed on community lists (e.g. ngosang/trackerslist "best") for years, one per tier:
 * BEP 12 clients try tiers in order and shuffle within a tier, so one per tier makes every tracker
 * get announced to. Data only: nothing in tc contacts these on its own, and tests never do.
 */
export const PUBLIC_TRACKERS: readonly string[] = Object.freeze([
  'udp://tracker.opentrackr.org:1337/announce',
  'udp://open.demonii.com:1337/announce',
  'udp://open.stealth.si:80/announce',
  'udp://tracker.torrent.eu.org:451/announce',
  'udp://exodus.desync.com:6969/announce',
  'udp://explodie.org:6969/announce',
  'udp://tracker.openbittorrent.com:6969/announce',
  'udp://tracker.tiny-vps.com:6969/announce',
  'udp://tracker.dler.org:6969/announce',
  'udp://p4p.arenabg.com:1337/announce',
  'http://tracker.openbittorrent.com:80/announce',
  'https://tracker.tamersunion.org:443/announce',
]);
