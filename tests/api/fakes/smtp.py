#!/usr/bin/python3
"""smtp.py - a tiny local SMTP server for the API tests.

Speaks enough RFC 5321 for libcurl: EHLO/HELO, AUTH PLAIN/LOGIN, MAIL FROM,
RCPT TO, DATA (dot-unstuffed), RSET, NOOP, QUIT. Every accepted message is
kept in memory. A small HTTP side port (written to --http-port-file, by
default PORT_FILE.http) lets a test read and steer it:
  GET    /_messages -> [{"mail_from", "rcpt_to": [...], "data", "auth_user"}, ...]
  DELETE /_messages
  POST   /_mode     {"mode": "ok" | "reject" | "drop" | "stall"}
                    reject: 451 to MAIL FROM; drop: close right after connect;
                    stall: accept the connection and never say a word (until
                    the mode changes, then hang up)
  GET    /_auth     -> [{"user", "password_ok"}, ...] (AUTH attempts)
  GET    /_connections -> [{"starttls_offered": false}, ...] (one per session)
With --auth USER:PASS the server requires that login before MAIL FROM. It
never offers STARTTLS. --host binds another address than 127.0.0.1 (the
control port stays on loopback).
Usage: smtp.py --port-file FILE [--http-port-file FILE2] [--auth USER:PASS] [--host ADDR]
"""
import base64
import os
import socketserver
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # even under python3 -P
import fakebase  # noqa: E402
from fakebase import LOCK  # noqa: E402

STATE = {"messages": [], "mode": "ok", "auth": [], "connections": [], "creds": None}


def check_login(user, password):
    ok = STATE["creds"] is None or (user, password) == STATE["creds"]
    with LOCK:
        STATE["auth"].append({"user": user, "password_ok": ok})
    return ok


class SmtpHandler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write((line + "\r\n").encode())

    def readline(self):
        line = self.rfile.readline(1 << 16)
        if not line:
            raise ConnectionError
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def handle(self):
        if STATE["mode"] == "drop":
            return
        if STATE["mode"] == "stall":
            while STATE["mode"] == "stall":
                time.sleep(0.05)
            return
        with LOCK:
            STATE["connections"].append({"starttls_offered": False})
        try:
            self.session()
        except (ConnectionError, OSError):
            pass

    def auth(self, arg):
        parts = arg.split(" ", 1)
        mech = parts[0].upper()
        if mech == "PLAIN":
            b64 = parts[1] if len(parts) > 1 else None
            if b64 is None:
                self.send("334 ")
                b64 = self.readline()
            fields = base64.b64decode(b64).decode().split("\0")
            user, password = fields[1], fields[2]
        elif mech == "LOGIN":
            self.send("334 " + base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self.readline()).decode()
            self.send("334 " + base64.b64encode(b"Password:").decode())
            password = base64.b64decode(self.readline()).decode()
        else:
            self.send("504 5.5.4 Unrecognized authentication type")
            return None
        if check_login(user, password):
            self.send("235 2.7.0 Authentication successful")
            return user
        self.send("535 5.7.8 Authentication credentials invalid")
        return None

    def data(self):
        lines = []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                raise ConnectionError
            if line in (b".\r\n", b".\n"):
                break
            if line.startswith(b".."):
                line = line[1:]
            lines.append(line)
        return b"".join(lines).decode("utf-8", "replace")

    def session(self):
        self.send("220 fake-smtp ESMTP ready")
        mail_from, rcpts, user = None, [], None
        while True:
            line = self.readline()
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.wfile.write(b"250-fake-smtp\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10485760\r\n")
            elif verb == "HELO":
                self.send("250 fake-smtp")
            elif verb == "AUTH":
                user = self.auth(arg) or user
            elif verb == "MAIL":
                if STATE["mode"] == "reject":
                    self.send("451 4.3.0 Try again later")
                elif STATE["creds"] is not None and user is None:
                    self.send("530 5.7.0 Authentication required")
                else:
                    mail_from, rcpts = arg.split(":", 1)[1].strip().split(" ")[0].strip("<>"), []
                    self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                self.send("250 2.1.5 Ok")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self.send("503 5.5.1 Bad sequence of commands")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                text = self.data()
                with LOCK:
                    STATE["messages"].append({"mail_from": mail_from, "rcpt_to": rcpts,
                                              "data": text, "auth_user": user})
                mail_from, rcpts = None, []
                self.send("250 2.0.0 Ok: queued")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Command not recognized")


class Control(fakebase.FakeHandler):
    state = STATE
    lists = ("messages", "auth", "connections")


def main():
    ap = fakebase.arg_parser()
    ap.add_argument("--http-port-file")
    ap.add_argument("--auth", help="USER:PASS required before MAIL FROM")
    ap.add_argument("--host", default="127.0.0.1", help="address of the SMTP port")
    args = ap.parse_args()
    if args.auth:
        STATE["creds"] = tuple(args.auth.split(":", 1))
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    smtp = socketserver.ThreadingTCPServer((args.host, 0), SmtpHandler)
    smtp.daemon_threads = True
    ctl = fakebase.http_server(Control)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    fakebase.write_port(args.http_port_file or args.port_file + ".http", ctl.server_address[1])
    fakebase.write_port(args.port_file, smtp.server_address[1])
    smtp.serve_forever()


if __name__ == "__main__":
    main()
