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
import os
import secrets
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # even under python3 -P
import fakebase  # noqa: E402


class Handler(fakebase.FakeHandler):
    state = {"requests": [], "mode": "ok", "status": 500}

    def get(self, url):
        self.reply(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})

    def set_mode(self, conf):
        self.state["status"] = int(conf.get("status", 500))
        return super().set_mode(conf)

    def post(self, path, raw):
        text = raw.decode("utf-8", "replace")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}
        self.record({"method": "POST", "path": self.path, "headers": dict(self.headers.items()),
                     "body": text, "form": form})
        with fakebase.LOCK:
            mode, status = self.state["mode"], self.state["status"]
        if self.path != "/v1/payment_intents":
            return self.reply(404, {"error": {"type": "invalid_request_error"}})
        if mode == "drop":
            return self.drop()
        if mode == "error":
            return self.reply(status, {"error": {"type": "api_error", "message": "fake failure"}})
        pi = "pi_" + secrets.token_hex(12)
        obj = {"id": pi, "object": "payment_intent", "amount": int(form.get("amount", "0") or 0),
               "currency": form.get("currency"), "status": "requires_payment_method",
               "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}}
        if mode != "no_secret":
            obj["client_secret"] = pi + "_secret_" + secrets.token_hex(12)
        self.reply(200, obj)


if __name__ == "__main__":
    fakebase.serve(Handler)
