// bittorrent-tracker ships no types; the tests use its Server, with the shape testkit describes plus
// the underlying HTTP server (to see the requests a tracker receives).
declare module 'bittorrent-tracker' {
  export const Server: new (
    ...args: ConstructorParameters<import('@tc/testkit/tracker-server').BtTrackerServerClass>
  ) => import('@tc/testkit/tracker-server').BtTrackerServer & { readonly http: import('node:http').Server | null };
}
