// bittorrent-tracker ships no types; the tests only use its Server, with the shape testkit describes.
declare module 'bittorrent-tracker' {
  export const Server: import('@tc/testkit/tracker-server').BtTrackerServerClass;
}
