#!/usr/bin/python3
"""suite.py - the API suite (tests/api) and then the failover tests
(tests/cluster/test_*.py) as one unittest run, so that one "Ran N tests"
line counts them all (tests/count-results.py). Run by tests/cluster/run.sh
inside tests/with-stack (IA_CLUSTER=1).
    suite.py [-k PATTERN]...   (unittest's -k: a substring or a glob)
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
API = os.path.join(HERE, "..", "api")


def main(argv):
    loader = unittest.TestLoader()
    patterns = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-k"]
    if patterns:
        loader.testNamePatterns = [p if "*" in p else "*%s*" % p for p in patterns]
    suite = unittest.TestSuite([
        loader.discover(API, pattern="test_*.py", top_level_dir=API),
        # last: they stop, kill and restart hosts
        loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE),
    ])
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
