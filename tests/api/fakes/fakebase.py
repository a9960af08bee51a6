"""fakebase.py - what the local fakes of outside services (tests/api/fakes/*.py) share.

A fake subclasses FakeHandler, gives it a `state` dict (its mode and the
lists it records, e.g. "requests") and answers its own paths in get() and
post(); FakeHandler answers the test-control endpoints:
  GET    /_<list>   -> state[<list>] for each name in `lists`
  DELETE /_<list>   forget all the recorded lists
  POST   /_mode     {"mode": M, ...} through set_mode()
serve() is the fake's main: --port-file FILE, a free loopback port written
to FILE (temp file + rename, so a reader never sees half a number).
The fakes run as scripts and import this module from their own directory.
"""
import argparse
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCK = threading.Lock()  # guards every fake's `state`


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # each fake sets its own dict: "mode" and the lists
    lists = ("requests",)  # the state lists GET/DELETE /_<name> show and clear
    json_type = "application/json"
    log_prefix = None  # None: no access log; else print lines with this prefix

    def log_message(self, fmt, *args):
        if self.log_prefix is not None:
            print(self.log_prefix + fmt % args, flush=True)

    def reply(self, status, body, ctype=None, headers=None):
        """Answer status with body (bytes, or a dict/list sent as JSON) and extra headers."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype or self.json_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (its timeout)
            self.close_connection = True

    def not_found(self):
        self.reply(404, {})

    def drop(self):
        """Close the connection without answering."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def body(self):
        """The request body's bytes (b"" without one)."""
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, entry):
        """Append entry to state["requests"] (what GET /_requests shows)."""
        with LOCK:
            self.state["requests"].append(entry)

    def set_mode(self, conf):
        """Apply POST /_mode's JSON conf (called under LOCK); the reply's body.
        Fakes with more knobs than "mode" extend this."""
        self.state["mode"] = conf.get("mode", "ok")
        return {"ok": True}

    def list_name(self, path):
        """The recorded list /_<name> names, or None."""
        name = path[2:] if path.startswith("/_") else None
        return name if name in self.lists else None

    def do_GET(self):
        url = urlsplit(self.path)
        name = self.list_name(url.path)
        if name is None:
            return self.get(url)
        with LOCK:
            items = list(self.state[name])
        self.reply(200, items)

    def do_DELETE(self):
        if self.list_name(urlsplit(self.path).path) is None:
            return self.not_found()
        with LOCK:
            for name in self.lists:
                self.state[name].clear()
        self.reply(200, {"ok": True})

    def do_POST(self):
        raw = self.body()
        path = urlsplit(self.path).path
        if path != "/_mode":
            return self.post(path, raw)
        conf = json.loads(raw or b"{}")
        with LOCK:
            out = self.set_mode(conf)
        self.reply(200, out)

    def get(self, url):
        """GET of a fake's own path (url: urlsplit of it)."""
        self.not_found()

    def post(self, path, raw):
        """POST of a fake's own path with the body's bytes."""
        self.not_found()


def arg_parser():
    """The fakes' command line: --port-file FILE; a fake may add options."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    return ap


def write_port(path, port):
    """Write port to path through path.tmp and a rename."""
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(path + ".tmp", path)


def http_server(handler_cls, port=0):
    """A threading HTTP server of handler_cls on 127.0.0.1:port (0: a free one)."""
    srv = ThreadingHTTPServer(("127.0.0.1", port), handler_cls)
    srv.daemon_threads = True
    return srv


def serve(handler_cls, args=None, port=0):
    """A fake's main: serve handler_cls on loopback, its port written to
    args.port_file (args: arg_parser()'s, parsed here when None), forever."""
    if args is None:
        args = arg_parser().parse_args()
    srv = http_server(handler_cls, port)
    write_port(args.port_file, srv.server_address[1])
    srv.serve_forever()
