#!/usr/bin/python3
"""A libtorrent (python3-libtorrent) peer for tc's tests and benchmarks, on loopback only.

Started by packages/testkit/src/libtorrent.ts. Configuration is one JSON object in argv[1]:
  {"mode": "create", "dataPath": ..., "torrentPath": ..., "pieceLength": N, "hybrid": bool, "v2Only": bool}
      make a .torrent with lt.create_torrent, print {"event":"created",...}, exit.
  {"mode": "peer", "torrentPath": ..., "savePath": ..., "seed": bool, "seedMode": bool,
   "port": N (0 = free), "connectTo": [{"ip":..,"port":..}], "statusIntervalMs": N,
   "settings": {libtorrent settings_pack name: value}}
      seed or download one torrent; print JSON lines on stdout.
      "magnet": "magnet:?..." instead of "torrentPath" starts from a magnet link: the metadata
      comes from peers (BEP 9) and {"event":"metadata","infoHash":..,"pieces":..,"totalSize":..}
      is printed when it arrives.
      "dht": {"nodes": [{"ip":..,"port":..}]} turns libtorrent's DHT on for the session and the
      torrent (loopback settings below, joined to the given nodes with add_dht_node).
Commands arrive as JSON lines on stdin: {"cmd":"connect","ip":..,"port":..}, {"cmd":"peers"},
{"cmd":"status"}, {"cmd":"dht-announce"} (announce to the DHT now), {"cmd":"quit"}. The process exits when stdin closes, so it never outlives
the test that started it.
"""
import json
import os
import queue
import sys
import threading
import time

import libtorrent as lt


# A DHT on loopback (INTEROP.md): every node is 127.0.0.1, so the one-node-per-IP rules are off, no
# public router is named, and libtorrent's per-IP query limit (5/s) and DHT upload limit (8 kB/s)
# are raised, since a loopback DHT of many nodes all shares one address.
DHT_SETTINGS = {
    "enable_dht": True,
    "dht_bootstrap_nodes": "",
    "dht_restrict_routing_ips": False,
    "dht_restrict_search_ips": False,
    "dht_block_ratelimit": 100000,
    "dht_upload_rate_limit": 10000000,
}


def text(v):
    """libtorrent hands some strings back as bytes (client names come off the wire)."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def emit(obj):
    sys.stdout.write(json.dumps(obj, default=text) + "\n")
    sys.stdout.flush()


def create(cfg):
    data = os.path.abspath(cfg["dataPath"])
    fs = lt.file_storage()
    lt.add_files(fs, data)
    # v1-only unless asked: tc speaks v1, and a hybrid's info_hash() is the truncated v2 hash.
    flags = lt.create_torrent.v2_only if cfg.get("v2Only") else 0 if cfg.get("hybrid") else lt.create_torrent.v1_only
    ct = lt.create_torrent(fs, int(cfg.get("pieceLength", 0)), flags=flags)
    ct.set_creator("tc testkit (libtorrent %s)" % lt.__version__)
    lt.set_piece_hashes(ct, os.path.dirname(data))
    blob = lt.bencode(ct.generate())
    with open(cfg["torrentPath"], "wb") as f:
        f.write(blob)
    ti = lt.torrent_info(cfg["torrentPath"])
    hashes = ti.info_hashes()
    emit({"event": "created", "infoHash": str(hashes.v1) if hashes.has_v1() else None,
          "infoHashV2": str(hashes.v2) if hashes.has_v2() else None, "pieces": ti.num_pieces(),
          "pieceLength": ti.piece_length(), "totalSize": ti.total_size()})


def settings(port, extra):
    s = lt.high_performance_seed()
    s.update({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # Every peer in a test is 127.0.0.1 (INTEROP.md).
        "allow_multiple_connections_per_ip": True,
        # uTP is ~10x slower on loopback and tc speaks TCP only.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
        | lt.alert.category_t.peer_notification | lt.alert.category_t.storage_notification
        # peer_connect_alert and peer_disconnected_alert are in this category: without it the
        # peer-connected/peer-disconnected events below never fire.
        | lt.alert.category_t.connect_notification,
    })
    # Overrides from the caller (e.g. rate limits, peer_fingerprint for a benchmark).
    s.update(extra)
    return s


def status_of(h):
    st = h.status()
    return {"event": "status", "state": str(st.state), "progress": st.progress,
            "numPeers": st.num_peers, "totalDone": st.total_done,
            "downloadRate": st.download_rate, "uploadRate": st.upload_rate,
            "totalUpload": st.total_payload_upload, "totalDownload": st.total_payload_download}


def peers_of(h):
    out = []
    for p in h.get_peer_info():
        out.append({"ip": p.ip[0], "port": p.ip[1], "client": text(p.client),
                    "pid": bytes(p.pid.to_bytes()).hex() if hasattr(p.pid, "to_bytes") else text(p.pid),
                    "seed": bool(p.flags & lt.peer_info.seed),
                    "totalUpload": p.total_upload, "totalDownload": p.total_download})
    return out


def stdin_reader(q):
    for line in sys.stdin:
        line = line.strip()
        if line:
            try:
                q.put(json.loads(line))
            except ValueError:
                emit({"event": "error", "message": "bad command line"})
    q.put({"cmd": "quit"})


def peer(cfg):
    dht = cfg.get("dht")
    extra = dict(DHT_SETTINGS, **cfg.get("settings", {})) if dht else cfg.get("settings", {})
    ses = lt.session(settings(int(cfg.get("port", 0)), extra))
    for n in (dht or {}).get("nodes", []):
        ses.add_dht_node((n["ip"], int(n["port"])))
    magnet = cfg.get("magnet")
    if magnet:
        atp = lt.parse_magnet_uri(magnet)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(cfg["torrentPath"])
    atp.save_path = cfg["savePath"]
    flags = atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
    flags |= lt.torrent_flags.disable_lsd
    if not dht:
        flags |= lt.torrent_flags.disable_dht
    if cfg.get("seedMode"):
        flags |= lt.torrent_flags.seed_mode
    atp.flags = flags
    h = ses.add_torrent(atp)
    hashes = atp.info_hashes if magnet else atp.ti.info_hashes()
    emit({"event": "added", "infoHash": str(hashes.v1) if hashes.has_v1() else str(hashes.v2)})

    cmds = queue.Queue()
    threading.Thread(target=stdin_reader, args=(cmds,), daemon=True).start()
    listening = False
    finished_sent = False
    pending_connects = list(cfg.get("connectTo", []))
    interval = cfg.get("statusIntervalMs", 0) / 1000.0
    last_status = 0.0
    while True:
        ses.wait_for_alert(50)
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert) and not listening:
                listening = True
                emit({"event": "listening", "port": ses.listen_port()})
            elif isinstance(a, lt.listen_failed_alert):
                emit({"event": "error", "message": a.message()})
            elif isinstance(a, lt.metadata_received_alert):
                ti = h.torrent_file()
                emit({"event": "metadata", "infoHash": str(ti.info_hashes().v1), "name": ti.name(),
                      "pieces": ti.num_pieces(), "totalSize": ti.total_size()})
            elif isinstance(a, lt.metadata_failed_alert):
                emit({"event": "metadata-failed", "message": a.message()})
            elif isinstance(a, lt.torrent_finished_alert) and not finished_sent:
                finished_sent = True
                emit({"event": "finished"})
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                emit({"event": "error", "message": a.message()})
            elif isinstance(a, lt.peer_disconnected_alert):
                emit({"event": "peer-disconnected", "ip": a.endpoint[0], "port": a.endpoint[1],
                      "message": a.message()})
            elif isinstance(a, lt.peer_connect_alert):
                emit({"event": "peer-connected", "ip": a.endpoint[0], "port": a.endpoint[1],
                      "message": a.message()})
        st = h.status()
        if not finished_sent and st.state == lt.torrent_status.states.seeding:
            finished_sent = True
            emit({"event": "finished"})
        # A magnet's torrent sits in downloading_metadata until a peer (the one dialled here) sends it.
        if listening and pending_connects and st.state in (lt.torrent_status.states.downloading_metadata,
                                                           lt.torrent_status.states.downloading,
                                                           lt.torrent_status.states.seeding,
                                                           lt.torrent_status.states.finished):
            for p in pending_connects:
                h.connect_peer((p["ip"], int(p["port"])))
            pending_connects = []
        if interval > 0 and time.monotonic() - last_status >= interval:
            last_status = time.monotonic()
            emit(status_of(h))
        try:
            while True:
                c = cmds.get_nowait()
                cmd = c.get("cmd")
                if cmd == "quit":
                    return
                if cmd == "connect":
                    h.connect_peer((c["ip"], int(c["port"])))
                elif cmd == "peers":
                    emit({"event": "peers", "peers": peers_of(h)})
                elif cmd == "status":
                    emit(status_of(h))
                elif cmd == "dht-announce":
                    h.force_dht_announce()
        except queue.Empty:
            pass


def main():
    cfg = json.loads(sys.argv[1])
    try:
        if cfg.get("mode") == "create":
            create(cfg)
        else:
            peer(cfg)
    except Exception as e:  # report, then exit non-zero: the TS side turns it into a rejection
        emit({"event": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)


if __name__ == "__main__":
    main()
