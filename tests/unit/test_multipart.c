/*
 * test_multipart.c - unit tests for lib/multipart.c: a well-formed body fed
 * whole, split at every point and byte by byte; boundary parsing; limits;
 * malformed headers; quoted names; callback aborts.
 */
#include "config.h"

#include "err.h"
#include "multipart.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B  "----WebKitFormBoundaryX7abcQ"
#define CT "multipart/form-data; boundary=" B

/* A growable byte buffer; the recorder's trace and the test bodies. */
struct bytes {
	char *p;
	size_t n;
};

/* Records callbacks as text: "<name|file|type>" data... "</>". */
struct rec {
	struct bytes t;
	int abort_begin; /* return this from on_part_begin when non-zero */
	int abort_data;
	size_t ndata; /* on_part_data calls */
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	b->p = xrealloc(b->p, b->n + n + 1);
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void bytes_adds(struct bytes *b, const char *s)
{
	bytes_add(b, s, strlen(s));
}

static void expect_begin(struct bytes *b, const char *name, const char *file, const char *type)
{
	char *s = xasprintf("<%s|%s|%s>", name, file ? file : "(null)", type ? type : "(null)");

	bytes_adds(b, s);
	free(s);
}

static int rec_begin(void *ud, const char *name, const char *file, const char *type)
{
	struct rec *r = ud;

	expect_begin(&r->t, name, file, type);
	return r->abort_begin;
}

static int rec_data(void *ud, const char *data, size_t len)
{
	struct rec *r = ud;

	ck_assert_uint_gt(len, 0);
	r->ndata++;
	bytes_add(&r->t, data, len);
	return r->abort_data;
}

static int rec_end(void *ud)
{
	struct rec *r = ud;

	bytes_adds(&r->t, "</>");
	return 0;
}

static const struct multipart_callbacks rec_cb = {rec_begin, rec_data, rec_end};

/*
 * Parse body cut at the ncuts offsets cuts[] (ascending); return the first
 * non-zero feed result or finish's result.
 */
static int parse_cuts(const char *ctype, const struct multipart_limits *lim,
		      const struct bytes *body, const size_t *cuts, size_t ncuts, struct rec *r)
{
	struct multipart *mp = NULL;
	size_t prev = 0, i;
	int rc;

	rc = multipart_new(ctype, lim, &rec_cb, r, &mp);
	ck_assert_int_eq(rc, 0);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : body->n;

		rc = multipart_feed(mp, body->p + prev, end - prev);
		if (rc != 0)
			goto out;
		prev = end;
	}
	rc = multipart_finish(mp);
out:
	multipart_free(mp);
	return rc;
}

static int parse(const char *ctype, const struct multipart_limits *lim, const char *body,
		 struct rec *r)
{
	struct bytes b = {xstrdup(body), strlen(body)};
	int rc = parse_cuts(ctype, lim, &b, NULL, 0, r);

	free(b.p);
	return rc;
}

/* The binary file: CR/LF, NULs and near-misses of the delimiter. */
static void sample_file(struct bytes *f)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\r\n";

	bytes_add(f, png, sizeof(png) - 1);
	bytes_adds(f, "\r\n--"
		      "----WebKit");                         /* partial boundary */
	bytes_adds(f, "\r\n\r\n-\r\n--\r\r\n--");            /* restarts on CR */
	bytes_adds(f, "\r\n------WebKitFormBoundaryX7abcZ"); /* last char differs */
	bytes_adds(f, "--" B "--");                          /* no CRLF before it */
	bytes_adds(f, "\n--" B "\r");                        /* LF only, ends in CR */
}

/* A body with preamble, two fields, the file, an empty field, epilogue. */
static void sample_body(struct bytes *body, struct bytes *expect)
{
	struct bytes f = {NULL, 0};

	sample_file(&f);
	bytes_adds(body, "preamble --"
			 "----WebKit\r\n--" B "\r\n");
	bytes_adds(body, "Content-Disposition: form-data; name=\"title\"\r\n\r\n");
	bytes_adds(body, "Hello, world\r\n--" B "\r\n");
	bytes_adds(body,
		   "content-disposition: form-data; name=\"image\"; filename=\"cat.png\"\r\n");
	bytes_adds(body, "Content-Type: image/png\r\n\r\n");
	bytes_add(body, f.p, f.n);
	bytes_adds(body, "\r\n--" B "\r\n");
	bytes_adds(body, "Content-Disposition: form-data; name=empty\r\n\r\n");
	bytes_adds(body, "\r\n--" B "--\r\nepilogue\r\n--" B "\r\njunk");

	expect_begin(expect, "title", NULL, NULL);
	bytes_adds(expect, "Hello, world</>");
	expect_begin(expect, "image", "cat.png", "image/png");
	bytes_add(expect, f.p, f.n);
	bytes_adds(expect, "</>");
	expect_begin(expect, "empty", NULL, NULL);
	bytes_adds(expect, "</>");
	free(f.p);
}

static void assert_trace(const struct rec *r, const struct bytes *expect)
{
	ck_assert_uint_eq(r->t.n, expect->n);
	ck_assert(memcmp(r->t.p, expect->p, expect->n) == 0);
}

START_TEST(test_wellformed)
{
	struct bytes body = {NULL, 0}, expect = {NULL, 0};
	struct rec r = {{NULL, 0}, 0, 0, 0};

	sample_body(&body, &expect);
	ck_assert_int_eq(parse_cuts(CT, NULL, &body, NULL, 0, &r), 0);
	assert_trace(&r, &expect);
	free(r.t.p);
	free(body.p);
	free(expect.p);
}
END_TEST

START_TEST(test_every_split)
{
	struct bytes body = {NULL, 0}, expect = {NULL, 0};
	size_t cut;

	sample_body(&body, &expect);
	for (cut = 0; cut <= body.n; cut++) {
		struct rec r = {{NULL, 0}, 0, 0, 0};

		ck_assert_msg(parse_cuts(CT, NULL, &body, &cut, 1, &r) == 0, "cut %zu", cut);
		assert_trace(&r, &expect);
		free(r.t.p);
	}
	free(body.p);
	free(expect.p);
}
END_TEST

START_TEST(test_every_double_split)
{
	struct bytes body = {NULL, 0}, expect = {NULL, 0};
	size_t cuts[2];

	/* three pieces; the middle one spans up to a whole delimiter and more */
	sample_body(&body, &expect);
	for (cuts[0] = 0; cuts[0] <= body.n; cuts[0]++) {
		for (cuts[1] = cuts[0]; cuts[1] <= body.n && cuts[1] - cuts[0] <= 40; cuts[1]++) {
			struct rec r = {{NULL, 0}, 0, 0, 0};

			ck_assert_int_eq(parse_cuts(CT, NULL, &body, cuts, 2, &r), 0);
			assert_trace(&r, &expect);
			free(r.t.p);
		}
	}
	free(body.p);
	free(expect.p);
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	struct bytes body = {NULL, 0}, expect = {NULL, 0};
	struct rec r = {{NULL, 0}, 0, 0, 0};
	size_t *cuts, i;

	sample_body(&body, &expect);
	cuts = xcalloc(body.n, sizeof(*cuts));
	for (i = 0; i < body.n; i++)
		cuts[i] = i + 1;
	ck_assert_int_eq(parse_cuts(CT, NULL, &body, cuts, body.n, &r), 0);
	assert_trace(&r, &expect);
	free(cuts);
	free(r.t.p);
	free(body.p);
	free(expect.p);
}
END_TEST

START_TEST(test_missing_close)
{
	static const char *const bodies[] = {
	    "",
	    "no boundary at all",
	    "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue",
	    "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" B,
	    "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" B "-",
	    "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" B "\r\n",
	    "--" B "\r\nContent-Disposition: form-data; name=a\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct rec r = {{NULL, 0}, 0, 0, 0};

		ck_assert_msg(parse(CT, NULL, bodies[i], &r) == IA_ERR_INVAL, "body %zu", i);
		free(r.t.p);
	}
}
END_TEST

START_TEST(test_bad_boundary)
{
	static const char *const types[] = {
	    "multipart/form-data",
	    "multipart/form-data;",
	    "multipart/form-data; boundary=",
	    "multipart/form-data; boundary=\"\"",
	    "multipart/mixed; boundary=abc",
	    "text/plain; boundary=abc",
	    "multipart/form-datax; boundary=abc",
	    "multipart/form-data; boundary=abc; boundary=def",
	    "multipart/form-data; boundary=\"abc \"",
	    "multipart/form-data; boundary=ab!c",
	    "multipart/form-data; boundary=\"ab\rc\"",
	    "multipart/form-data; boundary=\"abc",
	    "multipart/form-data boundary=abc",
	    "multipart/form-data; boundary=abc junk",
	    "multipart/form-data; "
	    "boundary=12345678901234567890123456789012345678901234567890123456789012345678901",
	    "",
	};
	struct rec r = {{NULL, 0}, 0, 0, 0};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct multipart *mp = NULL;

		ck_assert_msg(multipart_new(types[i], NULL, &rec_cb, &r, &mp) == IA_ERR_INVAL,
			      "type %zu", i);
		ck_assert_ptr_null(mp);
	}
	ck_assert_int_eq(multipart_new(NULL, NULL, &rec_cb, &r, NULL), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_good_boundaries)
{
	static const struct {
		const char *type, *boundary;
	} cases[] = {
	    {"Multipart/Form-Data; BOUNDARY=abc", "abc"},
	    {"multipart/form-data;boundary=\"a b:c=d?\"", "a b:c=d?"},
	    {"multipart/form-data; charset=utf-8; boundary = \"x\\\"y\"", "x\"y"},
	    {" multipart/form-data ; boundary=z ;", "z"},
	    {"multipart/form-data; boundary="
	     "1234567890123456789012345678901234567890123456789012345678901234567890",
	     "1234567890123456789012345678901234567890123456789012345678901234567890"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec r = {{NULL, 0}, 0, 0, 0};
		char *body = xasprintf("--%s\r\nContent-Disposition: form-data; name=f\r\n\r\n"
				       "v\r\n--%s--",
				       cases[i].boundary, cases[i].boundary);

		/* a quote in the boundary is invalid even when escaped */
		int want = strchr(cases[i].boundary, '"') ? IA_ERR_INVAL : 0;
		struct multipart *mp = NULL;

		ck_assert_msg(multipart_new(cases[i].type, NULL, &rec_cb, &r, &mp) == want,
			      "type %zu", i);
		multipart_free(mp);
		if (want == 0) {
			ck_assert_int_eq(parse(cases[i].type, NULL, body, &r), 0);
			ck_assert_str_eq(r.t.p, "<f|(null)|(null)>v</>");
		}
		free(body);
		free(r.t.p);
	}
}
END_TEST

static char *parts_body(size_t nparts)
{
	struct bytes b = {NULL, 0};
	size_t i;

	for (i = 0; i < nparts; i++)
		bytes_adds(&b, "--" B "\r\nContent-Disposition: form-data; name=p\r\n\r\nx\r\n");
	bytes_adds(&b, "--" B "--\r\n");
	return b.p;
}

START_TEST(test_too_many_parts)
{
	struct multipart_limits lim = {3, 0, 0};
	struct rec r = {{NULL, 0}, 0, 0, 0};
	char *ok = parts_body(3), *bad = parts_body(4);

	ck_assert_int_eq(parse(CT, &lim, ok, &r), 0);
	free(r.t.p);
	r.t.p = NULL;
	r.t.n = 0;
	ck_assert_int_eq(parse(CT, &lim, bad, &r), IA_ERR_TOOBIG);
	/* the fourth part was refused before its headers were reported */
	ck_assert_str_eq(r.t.p, "<p|(null)|(null)>x</><p|(null)|(null)>x</><p|(null)|(null)>x</>");
	free(r.t.p);
	free(ok);
	free(bad);
}
END_TEST

START_TEST(test_name_too_long)
{
	struct multipart_limits lim = {0, 0, 5};
	struct rec r = {{NULL, 0}, 0, 0, 0};

	ck_assert_int_eq(parse(CT, &lim,
			       "--" B "\r\nContent-Disposition: form-data; "
			       "name=\"abcde\"\r\n\r\n\r\n--" B "--",
			       &r),
			 0);
	free(r.t.p);
	r.t.p = NULL;
	r.t.n = 0;
	ck_assert_int_eq(parse(CT, &lim,
			       "--" B "\r\nContent-Disposition: form-data; "
			       "name=\"abcdef\"\r\n\r\n\r\n--" B "--",
			       &r),
			 IA_ERR_TOOBIG);
	ck_assert_ptr_null(r.t.p);
	/* the default bound is 256 bytes */
	{
		char *name = xcalloc(1, 258);
		char *body;

		memset(name, 'n', 257);
		body = xasprintf("--" B "\r\nContent-Disposition: form-data; name=%s\r\n\r\n"
				 "\r\n--" B "--",
				 name);
		ck_assert_int_eq(parse(CT, NULL, body, &r), IA_ERR_TOOBIG);
		free(body);
		free(name);
	}
}
END_TEST

START_TEST(test_header_block_too_big)
{
	struct multipart_limits lim = {0, 64, 0};
	const char *head = "Content-Disposition: form-data; name=a\r\n"; /* 40 bytes */
	struct rec r = {{NULL, 0}, 0, 0, 0};
	char *body, *filler;

	/* exactly 64 bytes: 40 + "X-Pad: " + 13 + CRLF + CRLF */
	body = xasprintf("--" B "\r\n%sX-Pad: 0123456789abc\r\n\r\nv\r\n--" B "--", head);
	ck_assert_int_eq(parse(CT, &lim, body, &r), 0);
	free(body);
	free(r.t.p);
	r.t.p = NULL;
	body = xasprintf("--" B "\r\n%sX-Pad: 0123456789abcd\r\n\r\nv\r\n--" B "--", head);
	ck_assert_int_eq(parse(CT, &lim, body, &r), IA_ERR_TOOBIG);
	ck_assert_ptr_null(r.t.p);
	free(body);
	/* an endless header block under the default bound (8192) */
	filler = xcalloc(1, 9001);
	memset(filler, 'a', 9000);
	body = xasprintf("--" B "\r\nX-Long: %s\r\n", filler);
	ck_assert_int_eq(parse(CT, NULL, body, &r), IA_ERR_TOOBIG);
	free(body);
	free(filler);
}
END_TEST

START_TEST(test_quoted_names)
{
	static const struct {
		const char *disp, *expect;
	} cases[] = {
	    {"form-data; name=\"a\\\"b\\\\c d\"", "<a\"b\\c d|(null)|(null)>"},
	    {"form-data; name=\"f\"; filename=\"\"", "<f||(null)>"},
	    {"form-data; name=\"f\"; filename=\"C:\\\\dir\\\\x.png\"", "<f|C:\\dir\\x.png|(null)>"},
	    {"FORM-DATA ; NAME=plain ; filename=\"a;b=c.jpg\"", "<plain|a;b=c.jpg|(null)>"},
	    {"form-data; name=\"r\xc3\xa9sum\xc3\xa9\"; x-other=\"ignored\"",
	     "<r\xc3\xa9sum\xc3\xa9|(null)|(null)>"},
	    {"form-data; filename=\"z.gif\"; name=\"\\z\\e\"", "<ze|z.gif|(null)>"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rec r = {{NULL, 0}, 0, 0, 0};
		char *body = xasprintf("--" B "\r\nContent-Disposition: %s\r\n\r\n\r\n--" B "--",
				       cases[i].disp);
		char *expect = xasprintf("%s</>", cases[i].expect);

		ck_assert_msg(parse(CT, NULL, body, &r) == 0, "case %zu", i);
		ck_assert_str_eq(r.t.p, expect);
		free(expect);
		free(body);
		free(r.t.p);
	}
}
END_TEST

START_TEST(test_bad_headers)
{
	static const char *const heads[] = {
	    "Content-Type: text/plain\r\n",                           /* no disposition */
	    "Content-Disposition: form-data\r\n",                     /* no name */
	    "Content-Disposition: form-data; filename=\"a.png\"\r\n", /* no name */
	    "Content-Disposition: form-data; name=\"\"\r\n",          /* empty name */
	    "Content-Disposition: attachment; name=a\r\n",
	    "Content-Disposition: form-data; name=a; name=b\r\n",
	    "Content-Disposition: form-data; name=\"a\r\n", /* unterminated */
	    "Content-Disposition: form-data; name=a b\r\n",
	    "Content-Disposition: form-data; name=\r\n",
	    "Content-Disposition: form-data; =a\r\n",
	    "Content-Disposition: form-data;\r\n name=a\r\n", /* folded */
	    "Content-Disposition: form-data; name=a\r\nno colon here\r\n",
	    "Content-Disposition: form-data; name=a\r\nBad Name: x\r\n",
	    "Content-Disposition: form-data; name=a\r\n: x\r\n",
	    "Content-Disposition: form-data; name=a\r\nX: bare\nlf\r\n",
	    "Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n",
	    "Content-Disposition: form-data\r\nContent-Disposition: form-data; name=b\r\n",
	    "Content-Disposition: form-data; name=a\r\nContent-Type: a\r\nContent-Type: b\r\n",
	    "Content-Disposition: form-data; name=\"a\x01\"\r\n",
	    "",
	};
	size_t i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct rec r = {{NULL, 0}, 0, 0, 0};
		char *body = xasprintf("--" B "\r\n%s\r\nv\r\n--" B "--", heads[i]);

		ck_assert_msg(parse(CT, NULL, body, &r) == IA_ERR_INVAL, "head %zu", i);
		ck_assert_ptr_null(r.t.p);
		free(body);
	}
}
END_TEST

START_TEST(test_nul_in_header)
{
	static const char body[] = "--" B "\r\nContent-Disposition: form-data; name=a\r\n"
				   "X: a\0b\r\n\r\nv\r\n--" B "--";
	struct bytes b = {xmalloc(sizeof(body)), sizeof(body) - 1};
	struct rec r = {{NULL, 0}, 0, 0, 0};

	memcpy(b.p, body, sizeof(body));
	ck_assert_int_eq(parse_cuts(CT, NULL, &b, NULL, 0, &r), IA_ERR_INVAL);
	free(b.p);
}
END_TEST

START_TEST(test_after_boundary)
{
	struct rec r = {{NULL, 0}, 0, 0, 0};

	ck_assert_int_eq(parse(CT, NULL, "--" B "x\r\n", &r), IA_ERR_INVAL);
	ck_assert_int_eq(parse(CT, NULL, "--" B "-x", &r), IA_ERR_INVAL);
	ck_assert_int_eq(parse(CT, NULL, "--" B "\rx", &r), IA_ERR_INVAL);
	ck_assert_int_eq(parse(CT, NULL, "--" B " --", &r), IA_ERR_INVAL);
	ck_assert_ptr_null(r.t.p);
	/* transport padding before the CRLF is allowed */
	ck_assert_int_eq(parse(CT, NULL,
			       "--" B " \t \r\nContent-Disposition: form-data; "
			       "name=a\r\n\r\nv\r\n--" B "--",
			       &r),
			 0);
	ck_assert_str_eq(r.t.p, "<a|(null)|(null)>v</>");
	free(r.t.p);
}
END_TEST

START_TEST(test_empty_form_and_leading_crlf)
{
	struct rec r = {{NULL, 0}, 0, 0, 0};

	ck_assert_int_eq(parse(CT, NULL, "--" B "--", &r), 0);
	ck_assert_int_eq(parse(CT, NULL, "\r\n--" B "--\r\n", &r), 0);
	ck_assert_ptr_null(r.t.p);
	ck_assert_int_eq(parse(CT, NULL,
			       "\r\n--" B "\r\nContent-Disposition: form-data; "
			       "name=a\r\n\r\n\r\n--" B "--",
			       &r),
			 0);
	ck_assert_str_eq(r.t.p, "<a|(null)|(null)></>");
	free(r.t.p);
}
END_TEST

START_TEST(test_unicode_value)
{
	const char *v = "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";
	struct rec r = {{NULL, 0}, 0, 0, 0};
	char *body = xasprintf("--" B "\r\nContent-Disposition: form-data; name=u\r\n"
			       "Content-Type: text/plain; charset=UTF-8\r\n\r\n%s\r\n--" B "--",
			       v);
	char *expect = xasprintf("<u|(null)|text/plain; charset=UTF-8>%s</>", v);

	ck_assert_int_eq(parse(CT, NULL, body, &r), 0);
	ck_assert_str_eq(r.t.p, expect);
	free(r.t.p);
	free(body);
	free(expect);
}
END_TEST

START_TEST(test_callback_abort)
{
	const char *body = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n"
			   "value\r\n--" B "--";
	struct rec r = {{NULL, 0}, -42, 0, 0};
	struct multipart *mp = NULL;

	ck_assert_int_eq(multipart_new(CT, NULL, &rec_cb, &r, &mp), 0);
	ck_assert_int_eq(multipart_feed(mp, body, strlen(body)), -42);
	ck_assert_int_eq(multipart_feed(mp, "more", 4), -42);
	ck_assert_int_eq(multipart_finish(mp), -42);
	ck_assert_str_eq(r.t.p, "<a|(null)|(null)>"); /* no data after the abort */
	multipart_free(mp);
	free(r.t.p);

	r.t.p = NULL;
	r.t.n = 0;
	r.abort_begin = 0;
	r.abort_data = IA_ERR_IO;
	ck_assert_int_eq(parse(CT, NULL, body, &r), IA_ERR_IO);
	ck_assert_str_eq(r.t.p, "<a|(null)|(null)>value");
	free(r.t.p);

	/* a positive code is passed through too, not taken for "found" */
	r.t.p = NULL;
	r.t.n = 0;
	r.abort_data = 1;
	ck_assert_int_eq(parse(CT, NULL, body, &r), 1);
	free(r.t.p);
}
END_TEST

/* Near-delimiters must not split the data into many tiny callbacks. */
START_TEST(test_near_delimiters_few_calls)
{
	struct bytes body = {NULL, 0}, data = {NULL, 0};
	struct rec r = {{NULL, 0}, 0, 0, 0};
	size_t i, cut;

	for (i = 0; i < 1000; i++)
		bytes_adds(&data, i % 2 ? "\r\n--"
					  "----WebKitF"
					: "\r\n-\r");
	bytes_adds(&body, "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n");
	bytes_add(&body, data.p, data.n);
	bytes_adds(&body, "\r\n--" B "--");
	ck_assert_int_eq(parse_cuts(CT, NULL, &body, NULL, 0, &r), 0);
	ck_assert_uint_eq(r.ndata, 1);
	free(r.t.p);
	/* a cut inside the data: at most one more call for a carried prefix */
	cut = body.n - data.n / 2 + 3;
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(parse_cuts(CT, NULL, &body, &cut, 1, &r), 0);
	ck_assert_uint_le(r.ndata, 3);
	ck_assert_uint_eq(r.t.n, strlen("<a|(null)|(null)>") + data.n + 3);
	free(r.t.p);
	free(body.p);
	free(data.p);
}
END_TEST

START_TEST(test_null_callbacks_and_free)
{
	const struct multipart_callbacks none = {NULL, NULL, NULL};
	const char *body = "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n"
			   "value\r\n--" B "--";
	struct multipart *mp = NULL;

	multipart_free(NULL);
	ck_assert_int_eq(multipart_new(CT, NULL, &none, NULL, &mp), 0);
	ck_assert_int_eq(multipart_feed(mp, NULL, 0), 0);
	ck_assert_int_eq(multipart_feed(mp, body, strlen(body)), 0);
	ck_assert_int_eq(multipart_finish(mp), 0);
	multipart_free(mp);
}
END_TEST

static Suite *multipart_suite(void)
{
	Suite *s = suite_create("multipart");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wellformed);
	tcase_add_test(tc, test_every_split);
	tcase_add_test(tc, test_every_double_split);
	tcase_add_test(tc, test_byte_at_a_time);
	tcase_add_test(tc, test_missing_close);
	tcase_add_test(tc, test_bad_boundary);
	tcase_add_test(tc, test_good_boundaries);
	tcase_add_test(tc, test_too_many_parts);
	tcase_add_test(tc, test_name_too_long);
	tcase_add_test(tc, test_header_block_too_big);
	tcase_add_test(tc, test_quoted_names);
	tcase_add_test(tc, test_bad_headers);
	tcase_add_test(tc, test_nul_in_header);
	tcase_add_test(tc, test_after_boundary);
	tcase_add_test(tc, test_empty_form_and_leading_crlf);
	tcase_add_test(tc, test_unicode_value);
	tcase_add_test(tc, test_callback_abort);
	tcase_add_test(tc, test_near_delimiters_few_calls);
	tcase_add_test(tc, test_null_callbacks_and_free);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(multipart_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
