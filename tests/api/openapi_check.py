"""openapi_check.py - every response the API tests see, checked against
docs/openapi.yaml.

iatest.request() hands each response to check(); a response whose path,
method and status the document does not describe, or whose body does not
match the described schema, raises AssertionError in the test that saw it.

What the document covers (its info.description says the same):
  - the paths under /api/, /health, /health/, /metrics and /media/; other
    paths (the SPA's pages and assets) are not part of the HTTP API and are
    not checked;
  - a path matches with or without its trailing slash, as the router does
    (lib/router.c); a template segment {x} matches one path segment, or the
    rest of the path when the path item says x-key-spans-segments (media
    keys have slashes);
  - the path is first normalised as nginx does before it picks a location:
    percent-decoded, "//" merged, "." and ".." segments resolved;
  - a path under /api/ that matches no template is answered by the
    document's x-unknown-path-responses (404, or nginx's 400 page); a known
    path with a method the document does not list by its
    x-other-method-responses (405, and 204 for OPTIONS).
Bodies: an empty body is accepted where the response describes no content,
for HEAD and for 204/304; otherwise the Content-Type must be one of the
response's media types (image/* matches image/png), and a JSON one is
parsed and validated with python3-jsonschema (Draft 2020-12, $ref resolved
against the whole document).
"""
import json
import os
import re
import urllib.parse

import jsonschema
import yaml

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                         "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
def _pointer_escape(s):
    return s.replace("~", "~0").replace("/", "~1")


def normalise(path):
    """The request path as nginx matches it: decoded, "//" merged, dot
    segments resolved (a trailing slash kept)."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    out = []
    segs = path.split("/")
    for i, seg in enumerate(segs[1:], 1):
        if seg == "" and i < len(segs) - 1:
            continue
        if seg == ".":
            seg = ""
        elif seg == "..":
            if out:
                out.pop()
            seg = ""
        if seg == "" and i < len(segs) - 1:
            continue
        out.append(seg)
    return "/" + "/".join(out)


def _strip_slash(path):
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


class Spec:
    """docs/openapi.yaml, loaded once, with its paths as regular expressions."""

    def __init__(self, path=SPEC_PATH, doc=None):
        if doc is None:
            with open(path) as f:
                doc = yaml.safe_load(f)
        self.doc = doc
        self.routes = []
        for template, item in doc["paths"].items():
            spans = item.get("x-key-spans-segments", False)
            rx = ""
            for part in re.split(r"(\{[^}]+\})", _strip_slash(template)):
                if part.startswith("{"):
                    rx += "(.+)" if spans else "([^/]+)"
                else:
                    rx += re.escape(part)
            self.routes.append((re.compile(rx + r"\Z"), template, item))
        self._validators = {}

    def find(self, path):
        """(template, path item) of a request path (no query), or (None, None)."""
        p = _strip_slash(path)
        for rx, template, item in self.routes:
            if rx.match(p):
                return template, item
        return None, None

    def in_scope(self, path):
        return (path.startswith(("/api/", "/media/")) or path in ("/health", "/health/", "/metrics"))

    def resolve(self, obj, pointer):
        """Follow a local $ref: (object, its JSON pointer)."""
        while isinstance(obj, dict) and "$ref" in obj:
            pointer = obj["$ref"]
            assert pointer.startswith("#/"), pointer
            obj = self.doc
            for part in pointer[2:].split("/"):
                obj = obj[part.replace("~1", "/").replace("~0", "~")]
        return obj, pointer

    def responses(self, method, path):
        """(where, responses object, its JSON pointer) for a request, or a
        reason string when the document does not describe the path."""
        template, item = self.find(path)
        if item is None:
            if path.startswith("/api/"):
                return ("an unknown path", self.doc["x-unknown-path-responses"],
                        "#/x-unknown-path-responses")
            return "no path of docs/openapi.yaml matches %s" % path
        op = item.get(method.lower())
        if op is None:
            return ("%s (method not listed)" % template, self.doc["x-other-method-responses"],
                    "#/x-other-method-responses")
        ptr = "#/paths/%s/%s/responses" % (_pointer_escape(template), method.lower())
        return "%s %s" % (method.upper(), template), op["responses"], ptr

    def validator(self, pointer):
        v = self._validators.get(pointer)
        if v is None:
            schema = dict(self.doc)
            schema["$ref"] = urllib.parse.quote(pointer, safe="#/~")
            v = jsonschema.Draft202012Validator(schema)
            self._validators[pointer] = v
        return v

    def check(self, method, path, status, content_type, body):
        """Raise AssertionError when the response is not what the document says."""
        path = normalise(path)
        if not self.in_scope(path):
            return
        found = self.responses(method, path)
        what = "%s %s -> %d" % (method, path, status)
        if isinstance(found, str):
            raise AssertionError("docs/openapi.yaml: %s: %s" % (what, found))
        where, responses, ptr = found
        ptr_status = ptr + "/" + str(status)
        resp = responses.get(str(status))
        if resp is None:
            raise AssertionError("docs/openapi.yaml: %s: status %d is not described for %s (it "
                                 "describes %s); body %r" % (what, status, where,
                                                             ", ".join(sorted(responses)),
                                                             body[:300]))
        resp, ptr_status = self.resolve(resp, ptr_status)
        content = resp.get("content") or {}
        if not body:
            if not content or method == "HEAD" or status in (204, 304):
                return
            raise AssertionError("docs/openapi.yaml: %s: empty body, but %s describes %s"
                                 % (what, where, ", ".join(content)))
        if method == "HEAD" or status in (204, 304):
            raise AssertionError("docs/openapi.yaml: %s: a body where none may be: %r"
                                 % (what, body[:300]))
        ctype = (content_type or "").split(";")[0].strip().lower()
        media = None
        for key in content:
            if key == ctype or (key.endswith("/*") and ctype.startswith(key[:-1])):
                media = key
                break
        if media is None:
            raise AssertionError("docs/openapi.yaml: %s: Content-Type %r is not described "
                                 "(%s); body %r" % (what, content_type,
                                                    ", ".join(content) or "no content",
                                                    body[:300]))
        if not (media == "application/json" or media.endswith("+json")):
            return
        try:
            data = json.loads(body)
        except ValueError as e:
            raise AssertionError("docs/openapi.yaml: %s: body is not JSON (%s): %r"
                                 % (what, e, body[:300]))
        schema_ptr = ptr_status + "/content/" + _pointer_escape(media) + "/schema"
        errors = sorted(self.validator(schema_ptr).iter_errors(data),
                        key=lambda e: list(e.absolute_path))
        if errors:
            msgs = []
            for e in errors[:5]:
                at = "/".join(str(p) for p in e.absolute_path) or "(root)"
                msgs.append("at %s: %s" % (at, e.message))
                for sub in (e.context or [])[:6]:
                    sat = "/".join(str(p) for p in sub.absolute_path) or "(root)"
                    msgs.append("    (alternative) at %s: %s" % (sat, sub.message))
            raise AssertionError("docs/openapi.yaml: %s does not match %s (%s):\n  %s\nbody: %s"
                                 % (what, where, schema_ptr, "\n  ".join(msgs),
                                    body[:1000].decode("utf-8", "replace")
                                    if isinstance(body, bytes) else body[:1000]))


_spec = None


def spec():
    """The document, loaded at first use."""
    global _spec
    if _spec is None:
        _spec = Spec()
    return _spec


def check(method, path, status, headers, body):
    """Check one response (headers: lower-case names) against docs/openapi.yaml."""
    spec().check(method.upper(), path, status, headers.get("content-type"), body)
