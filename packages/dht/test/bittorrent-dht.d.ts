// bittorrent-dht ships no types; the tests use its DHT class with the shape testkit describes.
declare module 'bittorrent-dht' {
  const DHT: import('@tc/testkit/dht-nodes').BtDhtClass;
  export default DHT;
}
