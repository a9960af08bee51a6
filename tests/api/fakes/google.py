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
import json
import os
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # even under python3 -P
import fakebase  # noqa: E402


class Handler(fakebase.FakeHandler):
    state = {"requests": [], "tokens": {}, "mode": "ok", "delay": 15.0}
    json_type = "application/json; charset=UTF-8"

    def get(self, url):
        if url.path != "/tokeninfo":
            return self.reply(404, {"error": "not_found"})
        cred = urllib.parse.parse_qs(url.query).get("id_token", [""])[0]
        self.record({"path": self.path, "id_token": cred})
        with fakebase.LOCK:
            mode, delay, claims = self.state["mode"], self.state["delay"], self.state["tokens"].get(cred)
        if mode == "down":
            return self.reply(503, {"error": "backend_error"})
        if mode == "drop":
            return self.drop()
        if mode == "timeout":
            time.sleep(delay)
        if claims is None:
            return self.reply(400, {"error": "invalid_token", "error_description": "Invalid Value"})
        self.reply(200, claims)

    def post(self, path, raw):
        if path != "/_tokens":
            return self.not_found()
        with fakebase.LOCK:
            self.state["tokens"].update(json.loads(raw or b"{}"))
        self.reply(200, {"ok": True})

    def set_mode(self, conf):
        self.state["delay"] = float(conf.get("delay", 15))
        return super().set_mode(conf)


if __name__ == "__main__":
    fakebase.serve(Handler)
