// WebRTC is never used by tc or its tests; any attempt to use it fails loudly.
class Unavailable {
  constructor() {
    throw new Error('WebRTC is not available in this build (webrtc-polyfill stub)');
  }
}
module.exports = { RTCPeerConnection: Unavailable, RTCSessionDescription: Unavailable, RTCIceCandidate: Unavailable, default: {} };
