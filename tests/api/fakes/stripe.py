#!/usr/bin/python3
"""stripe.py - a local fake of the Stripe API for the HTTP API tests.

Answers POST /v1/payment_intents like Stripe (a PaymentIntent object with a
client_secret) and records every request it gets. Test control:
  GET    /_requests   -> [{"method", "path", "headers", "body", "form"}, ...]
  DELETE /_requests   -> forget them
  POST   /_mode       {"mode": "ok" | "error" | "drop" | "no_secret", "status": 500}
                       error: answer `status` with a Stripe error object;
                       drop: close the connection without answering;
                       no_secret: 200 without client_secret.
Usage: stripe.py --port-file FILE  (listens on a free loopback port, writes it to FILE)
"""
import argparse
import http.server
import json
import os
import secrets
import threading
import urllib.parse

LOCK = threading.Lock()
STATE = {"requests": [], "mode": "ok", "status": 500}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep the test log quiet
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                return self.reply(200, STATE["requests"])
        self.reply(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})

    def do_DELETE(self):
        if self.path == "/_requests":
            with LOCK:
                STATE["requests"].clear()
            return self.reply(200, {"ok": True})
        self.reply(404, {})

    def do_POST(self):
        raw = self.body()
        if self.path == "/_mode":
            conf = json.loads(raw or b"{}")
            with LOCK:
                STATE["mode"] = conf.get("mode", "ok")
                STATE["status"] = int(conf.get("status", 500))
            return self.reply(200, {"ok": True})
        text = raw.decode("utf-8", "replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        with LOCK:
            STATE["requests"].append({"method": "POST", "path": self.path,
                                      "headers": dict(self.headers.items()),
                                      "body": text, "form": form})
            mode, status = STATE["mode"], STATE["status"]
        if self.path != "/v1/payment_intents":
            return self.reply(404, {"error": {"type": "invalid_request_error"}})
        if mode == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "error":
            return self.reply(status, {"error": {"type": "api_error", "message": "fake failure"}})
        pi = "pi_" + secrets.token_hex(12)
        obj = {"id": pi, "object": "payment_intent", "amount": int(form.get("amount", "0") or 0),
               "currency": form.get("currency"), "status": "requires_payment_method",
               "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}}
        if mode != "no_secret":
            obj["client_secret"] = pi + "_secret_" + secrets.token_hex(12)
        self.reply(200, obj)


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
