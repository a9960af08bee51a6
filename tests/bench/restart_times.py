#!/usr/bin/python3
"""restart_times.py - how long a program killed with SIGKILL is out of service
under bin/ia-supervise: for each program, RUNS times, the seconds from the
kill until a new pid runs and until the program serves again:

  batch     a job submitted right after the kill is done (includes the job)
  images    an upload is accepted (202)
  accounts  /api/v1/user/info/ answers 200
  media     a signed media URL answers 200
  health    /health/ answers 200
  nginx     /health/ answers 200

Run against a private stack:
  tests/with-stack build /usr/bin/python3 tests/bench/restart_times.py [RUNS]
"""
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import iatest  # noqa: E402
from iatest import (ApiTestCase, image_bytes, media_path, read_pid, request, upload,  # noqa: E402
                    wait_image, wait_new_pid)

PNG = image_bytes("PNG", (24, 16), (10, 120, 200))


def until(ok, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if ok():
                return True
        except OSError:
            pass
        time.sleep(0.005)
    raise SystemExit("did not recover within %d s" % timeout)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    t = ApiTestCase()
    _, _, access, _ = t.new_user()
    r = upload("greyscale", PNG, "in.png", token=access)
    img = wait_image(r.json["image_id"], access).json
    media = media_path(img["image"])

    def batch_ok():
        r = upload("greyscale", PNG, "in.png", token=access)
        return wait_image(r.json["image_id"], access, timeout=30).json["status"] == "done"

    checks = {
        "batch": batch_ok,
        "images": lambda: upload("greyscale", PNG, "in.png", token=access).status == 202,
        "accounts": lambda: request("GET", "/api/v1/user/info/", token=access).status == 200,
        "media": lambda: request("GET", media).status == 200,
        "health": lambda: request("GET", "/health/").status == 200,
        "nginx": lambda: request("GET", "/health/").status == 200,
    }
    print("%-9s %-28s %s" % ("program", "new pid after (s)", "serving after (s)"))
    for name, ok in checks.items():
        pids, serves = [], []
        for _ in range(runs):
            until(ok)
            time.sleep(0.5)
            old = read_pid(name)
            t0 = time.time()
            os.kill(old, signal.SIGKILL)
            wait_new_pid(name, old, timeout=None, interval=0.002)
            pids.append(time.time() - t0)
            until(ok)
            serves.append(time.time() - t0)
            time.sleep(10.5)  # past the supervisor's 10 s: the backoff starts over
        print("%-9s %-28s %s" % (name, " ".join("%.3f" % x for x in pids),
                                 " ".join("%.3f" % x for x in serves)
                                 + "  (median %.3f)" % statistics.median(serves)))


if __name__ == "__main__":
    main()
