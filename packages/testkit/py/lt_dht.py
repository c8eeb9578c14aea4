#!/usr/bin/python3
"""libtorrent (python3-libtorrent) DHT nodes for tc's tests and benchmarks, on loopback only.

Started by packages/testkit/src/dht-nodes.ts (one node) and bench/dht-lookup.mjs (many nodes in one
process: a libtorrent session each). Configuration is one JSON object in argv[1]:
  {"count": N (default 1), "port": N (0 = free; only with count 1), "nodes": [{"ip":..,"port":..}],
   "logPackets": bool, "logTraversals": [node indexes], "savePath": folder for the magnet torrents
   that "announce" adds, "settings": {...}}
Every line printed is JSON with "node": its index. First {"event":"listening","port":N,"id":hex}
per node, then replies to commands and, as they happen, {"event":"announce-in","infoHash","ip",
"port"} (a node stored a peer here), {"event":"get-peers-in","infoHash"}, with logPackets
{"event":"pkt","dir":"in"|"out","ip","port","data":hex} for every DHT datagram, and for the nodes
in logTraversals {"event":"log","message":...} for libtorrent's DHT traversal log lines.
Commands arrive as JSON lines on stdin, each with an optional "node" index (default 0):
  {"cmd":"add-node","ip","port"}        session.add_dht_node (the node enters the routing table)
  {"cmd":"get-peers","infoHash":hex}    session.dht_get_peers -> {"event":"get-peers","infoHash","peers":[..]}
                                         for each answer that carries peers
  {"cmd":"announce","infoHash":hex}     adds a magnet torrent for the hash: libtorrent looks it up and
                                         announces its listen port at once (the python binding has no
                                         dht_announce flags) -> {"event":"announce","infoHash"}
  {"cmd":"live-nodes"}                  -> {"event":"live-nodes","nodes":[{"id","ip","port"}]}
  {"cmd":"counters"}                    -> {"event":"counters","values":{"dht.dht_nodes":..,...}}
The process exits when stdin closes.
"""
import json
import os
import queue
import re
import sys
import threading
import warnings

import libtorrent as lt

# lt_peer.py is a sibling module; importing it must not leave a __pycache__ in the checkout.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lt_peer import DHT_SETTINGS, emit, stdin_reader  # noqa: E402

PKT_RE = re.compile(r"(<==|==>)\s*\[?([0-9a-fA-F.:]+?)\]?:(\d+)")


def own_id(ses):
    """The DHT's node id: the first 20 bytes of each entry in dht_state's node-id list (id + address)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dht_state() is deprecated, and the only way the binding shows the id
        ids = ses.dht_state().get(b"node-id", [])
    return bytes(ids[0][:20]) if ids else bytes(20)


def make_session(cfg, index):
    mask = (lt.alert.category_t.dht_notification | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.status_notification | lt.alert.category_t.error_notification
            | lt.alert.category_t.stats_notification)
    if cfg.get("logPackets") or index in cfg.get("logTraversals", []):
        mask |= lt.alert.category_t.dht_log_notification
    port = int(cfg.get("port", 0)) if int(cfg.get("count", 1)) == 1 else 0
    s = {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "outgoing_interfaces": "127.0.0.1",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "alert_mask": mask,
    }
    s.update(DHT_SETTINGS)
    s.update(cfg.get("settings", {}))
    ses = lt.session(s)
    for n in cfg.get("nodes", []):
        ses.add_dht_node((n["ip"], int(n["port"])))
    return ses


def handle_alert(cfg, i, ses, a, state):
    out = lambda obj: emit(dict(obj, node=i))  # noqa: E731
    if isinstance(a, lt.listen_succeeded_alert) and not state["listening"]:
        state["listening"] = True
        out({"event": "listening", "port": ses.listen_port(), "id": own_id(ses).hex()})
    elif isinstance(a, lt.listen_failed_alert):
        out({"event": "error", "message": a.message()})
    elif isinstance(a, lt.dht_announce_alert):
        out({"event": "announce-in", "infoHash": str(a.info_hash), "ip": str(a.ip), "port": a.port})
    elif isinstance(a, lt.dht_get_peers_alert):
        out({"event": "get-peers-in", "infoHash": str(a.info_hash)})
    elif isinstance(a, lt.dht_get_peers_reply_alert):
        out({"event": "get-peers", "infoHash": str(a.info_hash), "peers": [{"ip": p[0], "port": p[1]} for p in a.peers()]})
    elif isinstance(a, lt.dht_live_nodes_alert):
        nodes = [{"id": str(n["nid"]), "ip": n["endpoint"][0], "port": n["endpoint"][1]} for n in a.nodes]
        out({"event": "live-nodes", "nodes": nodes})
    elif isinstance(a, lt.session_stats_alert):
        out({"event": "counters", "values": {k: v for k, v in a.values.items() if k.startswith("dht.")}})
    elif isinstance(a, lt.dht_pkt_alert):
        if cfg.get("logPackets"):
            m = PKT_RE.search(a.message())
            if m:
                out({"event": "pkt", "dir": "in" if m.group(1) == "<==" else "out", "ip": m.group(2),
                     "port": int(m.group(3)), "data": bytes(a.pkt_buf).hex()})
    elif isinstance(a, lt.dht_log_alert):
        if i in cfg.get("logTraversals", []) and "traversal" in a.message():
            out({"event": "log", "message": a.message()})


def run_command(cfg, sessions, c):
    ses = sessions[int(c.get("node", 0))]
    cmd = c.get("cmd")
    if cmd == "add-node":
        ses.add_dht_node((c["ip"], int(c["port"])))
    elif cmd == "get-peers":
        ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(c["infoHash"])))
    elif cmd == "announce":
        atp = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + c["infoHash"])
        atp.save_path = cfg.get("savePath", ".")
        atp.flags = (atp.flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused) | lt.torrent_flags.disable_lsd
        ses.add_torrent(atp)
        emit({"event": "announce", "infoHash": c["infoHash"], "node": int(c.get("node", 0))})
    elif cmd == "live-nodes":
        ses.dht_live_nodes(lt.sha1_hash(own_id(ses)))
    elif cmd == "counters":
        ses.post_session_stats()


def main():
    cfg = json.loads(sys.argv[1])
    sessions = [make_session(cfg, i) for i in range(int(cfg.get("count", 1)))]
    states = [{"listening": False} for _ in sessions]
    cmds = queue.Queue()
    threading.Thread(target=stdin_reader, args=(cmds,), daemon=True).start()
    while True:
        # One session waits, the others are polled: every session's alerts are drained each turn.
        sessions[0].wait_for_alert(20)
        for i, ses in enumerate(sessions):
            for a in ses.pop_alerts():
                handle_alert(cfg, i, ses, a, states[i])
        try:
            while True:
                c = cmds.get_nowait()
                if c.get("cmd") == "quit":
                    return
                run_command(cfg, sessions, c)
        except queue.Empty:
            pass


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, then exit non-zero: the TS side turns it into a rejection
        emit({"event": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)
