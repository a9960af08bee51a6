"""test_startup_checks.py - settings every program checks before it starts:
a SECRET_KEY of at least 32 bytes (issue 9 point 15) and a well-formed
TRUSTED_PROXIES (issue 9 point 4). A program refuses to start on a bad one,
with a clear message on stderr and a non-zero exit."""
import os
import subprocess
import unittest

from iatest import BUILD


def run_program(path, args=(), **settings):
    env = dict(os.environ, **settings)
    return subprocess.run([os.path.join(BUILD, path), *args], env=env, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


class StartupChecksTest(unittest.TestCase):
    """Each program refuses to start on these settings, with a clear message."""

    PROGRAMS = ("cgi-bin/ia-accounts", "cgi-bin/ia-images", "bin/ia-batch")

    def test_short_secret_key_refuses_to_start(self):
        for prog in self.PROGRAMS:
            with self.subTest(program=prog):
                p = run_program(prog, SECRET_KEY="x" * 31)
                self.assertNotEqual(p.returncode, 0, p.stderr)
                self.assertIn("SECRET_KEY is too short (31 bytes)", p.stderr)
                self.assertNotIn("x" * 31, p.stderr)  # the key itself is never printed
        p = run_program("bin/iactl", ("user", "list"), SECRET_KEY="short")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("SECRET_KEY is too short", p.stderr)

    def test_malformed_trusted_proxies_refuses_to_start(self):
        for prog in self.PROGRAMS:
            for bad in ("10.0.0.0/8, 300.1.1.1", "10.0.0.0/33", "proxy.example.com"):
                with self.subTest(program=prog, value=bad):
                    p = run_program(prog, TRUSTED_PROXIES=bad)
                    self.assertNotEqual(p.returncode, 0, p.stderr)
                    self.assertIn("TRUSTED_PROXIES", p.stderr)
                    self.assertIn(bad.split(", ")[-1], p.stderr)


if __name__ == "__main__":
    unittest.main()
