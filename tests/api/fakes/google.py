#!/usr/bin/python3
"""google.py - a local fake of Google's tokeninfo endpoint for the API tests.

GET /tokeninfo?id_token=CRED answers 200 with the claims a test registered
for CRED, 400 {"error": "invalid_token"} for unknown credentials. Control:
  POST   /_tokens   {"cred-abc": {...claims...}, ...}   (merged)
  POST   /_mode     {"mode": "ok" | "down" | "timeout" | "drop", "delay": 15}
                    down: 503; timeout: sleep `delay` s before answering;
                    drop: close the connection without answering
  GET    /_requests -> [{"path", "id_token"}, ...];  DELETE /_requests
Usage: google.py --port-file FILE
"""
import argparse
import http.server
import json
import os
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATE = {"requests": [], "tokens": {}, "mode": "ok", "delay": 15.0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}") if n else {}

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_requests":
            with LOCK:
                return self.reply(200, STATE["requests"])
        if url.path != "/tokeninfo":
            return self.reply(404, {"error": "not_found"})
        cred = urllib.parse.parse_qs(url.query).get("id_token", [""])[0]
        with LOCK:
            STATE["requests"].append({"path": self.path, "id_token": cred})
            mode, delay, claims = STATE["mode"], STATE["delay"], STATE["tokens"].get(cred)
        if mode == "down":
            return self.reply(503, {"error": "backend_error"})
        if mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "timeout":
            time.sleep(delay)
        if claims is None:
            return self.reply(400, {"error": "invalid_token", "error_description": "Invalid Value"})
        self.reply(200, claims)

    def do_DELETE(self):
        if self.path == "/_requests":
            with LOCK:
                STATE["requests"].clear()
            return self.reply(200, {"ok": True})
        self.reply(404, {})

    def do_POST(self):
        conf = self.body()
        with LOCK:
            if self.path == "/_tokens":
                STATE["tokens"].update(conf)
            elif self.path == "/_mode":
                STATE["mode"] = conf.get("mode", "ok")
                STATE["delay"] = float(conf.get("delay", 15))
            else:
                return self.reply(404, {})
        self.reply(200, {"ok": True})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
