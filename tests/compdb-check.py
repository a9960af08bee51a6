#!/usr/bin/env python3
"""compdb-check.py - check the compilation database that ./stack build
records with bear (compile_commands.json at the tree's root, for editors
and clang tools).

It must name every C file the main build compiles (lib/, cgi-bin/, bin/,
tests/unit/, tests/api/; the fuzz targets have a build of their own), and
clang must be able to parse every lib/ and cgi-bin/ file with the recorded
arguments, which is what clangd and clang-tidy will do with them.

    tests/compdb-check.py SRC_DIR
Prints one line per problem and exits 1 when there is any.
"""
import glob
import json
import os
import subprocess
import sys

COMPILED = ("lib/*.c", "cgi-bin/*.c", "bin/*.c", "tests/unit/*.c", "tests/api/*.c")
PARSED = ("lib/", "cgi-bin/")
# gcc's options clang does not know; the database keeps the build's own.
CLANG_EXTRA = ["-fsyntax-only", "-Wno-unknown-warning-option", "-Wno-unused-command-line-argument"]


def load(src):
    path = os.path.join(src, "compile_commands.json")
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    by_file = {}
    for e in entries:
        name = os.path.normpath(os.path.join(e["directory"], e["file"]))
        by_file[os.path.relpath(name, src)] = e
    return by_file


def clang_arguments(entry):
    """The entry's compiler call with clang in place of the compiler and
    no output file: only parse."""
    args = list(entry.get("arguments") or entry["command"].split())
    out = ["clang"]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a not in ("-c",):
            out.append(a)
    return out + CLANG_EXTRA


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    try:
        by_file = load(src)
    except (OSError, ValueError) as e:
        print("compdb: cannot read compile_commands.json: %s (./stack build writes it with bear)" % e)
        print("0 passed, 1 failed")
        return 1
    problems = []
    wanted = sorted({os.path.relpath(p, src) for g in COMPILED for p in glob.glob(os.path.join(src, g))})
    for name in wanted:
        if name not in by_file:
            problems.append("compdb: %s is not in compile_commands.json" % name)
    for name in wanted:
        if not name.startswith(PARSED) or name not in by_file:
            continue
        e = by_file[name]
        r = subprocess.run(clang_arguments(e), cwd=e["directory"], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("compdb: clang cannot parse %s with its recorded arguments:\n%s" % (name, r.stderr[-2000:]))
    for p in problems:
        print(p)
    parsed = sum(1 for n in wanted if n.startswith(PARSED))
    print("compdb: %d files listed, %d parsed by clang, %d problems" % (len(wanted), parsed, len(problems)))
    print("0 passed, 1 failed" if problems else "1 passed, 0 failed")  # one result for run-all
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
