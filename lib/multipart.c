/*
 * multipart.c - streaming multipart/form-data parser (RFC 7578, RFC 2046).
 *
 * The body is scanned for the delimiter "CRLF--boundary" with a matcher
 * that keeps only a count of matched bytes between chunks: a boundary may
 * contain no CR (bchars), so a failed partial match can never overlap a
 * new one and the matched bytes are simply data again. The stream is
 * treated as if it began with CRLF so that a first boundary at offset 0 is
 * found. Part headers are collected into one bounded buffer and parsed
 * when the blank line arrives; part bodies are passed through unbuffered.
 */
#include "config.h"

#include "multipart.h"
#include "err.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MP_DEF_PARTS        64
#define MP_DEF_HEADER_BYTES 8192
#define MP_DEF_NAME_LEN     256
#define MP_MAX_BOUNDARY     70
#define MP_MAX_PADDING      256 /* spaces/tabs allowed after a boundary */

enum mp_state {
	MP_PREAMBLE,   /* before the first boundary: discarded */
	MP_DELIM,      /* just after a boundary: "--", padding or CRLF */
	MP_DELIM_DASH, /* saw one '-' after a boundary */
	MP_DELIM_CR,   /* saw CR after a boundary */
	MP_HEADERS,    /* collecting a part's header block */
	MP_BODY,       /* passing part data through */
	MP_EPILOGUE,   /* after the closing boundary: discarded */
};

struct multipart {
	struct multipart_callbacks cb;
	void *ud;
	struct multipart_limits lim;
	char *delim; /* "\r\n--" boundary */
	size_t dlen;
	size_t match; /* bytes of delim matched so far */
	enum mp_state state;
	char *hdr; /* header block, max_header_bytes + 1 */
	size_t hlen;
	size_t npad;
	size_t nparts;
	int err; /* sticky */
};

/* A parsed header block; strings are heap copies or NULL. */
struct mp_part {
	char *name;
	char *filename;
	char *ctype;
	int has_disposition;
};

static int mp_is_tchar(unsigned char c);
static int mp_is_bchar(unsigned char c);
static int mp_ieq(const char *s, size_t len, const char *lit);
static const char *mp_skip_ows(const char *p);
static int mp_param_value(const char **sp, char **val);
static int mp_param_next(const char **sp, const char **key, size_t *klen, char **val);
static int mp_parse_boundary(const char *ctype, char **out);
static int mp_emit(struct multipart *mp, const char *p, size_t n);
static int mp_scan(struct multipart *mp, const char *buf, size_t len, size_t *used, int *found);
static int mp_disposition(const char *v, struct mp_part *part);
static int mp_header_line(char *line, struct mp_part *part);
static int mp_headers_done(struct multipart *mp);
static int mp_step(struct multipart *mp, char c);
static int mp_feed_scan(struct multipart *mp, const char *buf, size_t len, size_t *used);

/* RFC 7230 token characters. */
static int mp_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 bchars (space handled by the caller). */
static int mp_is_bchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("'()+_,-./:=? ", c) != NULL;
}

/* ASCII case-insensitive comparison of s[0..len) with a lower-case literal. */
static int mp_ieq(const char *s, size_t len, const char *lit)
{
	size_t i;

	if (strlen(lit) != len)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return 0;
	}
	return 1;
}

static const char *mp_skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * Parse a parameter value at *sp: a token or a quoted-string whose
 * backslash escapes are undone. On success *val is a heap string (caller
 * frees) and *sp points past the value.
 */
static int mp_param_value(const char **sp, char **val)
{
	const char *p = *sp;
	const char *start;
	char *buf;
	size_t n = 0;

	if (*p != '"') {
		start = p;
		while (mp_is_tchar((unsigned char)*p))
			p++;
		if (p == start)
			return IA_ERR_INVAL;
		*val = xstrndup(start, (size_t)(p - start));
		*sp = p;
		return 0;
	}
	p++;
	buf = xmalloc(strlen(p) + 1);
	for (;;) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			break;
		if (c == '\\') {
			p++;
			c = (unsigned char)*p;
		}
		if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
			free(buf);
			return IA_ERR_INVAL;
		}
		buf[n++] = (char)c;
		p++;
	}
	buf[n] = '\0';
	*val = buf;
	*sp = p + 1;
	return 0;
}

/*
 * Read the next "; key=value" parameter from *sp. Returns 1 with the key
 * (borrowed, klen bytes) and a heap value, 0 at the end of the string, or
 * IA_ERR_INVAL. Empty parameters (";;") are skipped.
 */
static int mp_param_next(const char **sp, const char **key, size_t *klen, char **val)
{
	const char *p = *sp;
	const char *k;
	int rc;

	for (;;) {
		p = mp_skip_ows(p);
		if (*p == '\0') {
			*sp = p;
			return 0;
		}
		if (*p != ';')
			return IA_ERR_INVAL;
		p = mp_skip_ows(p + 1);
		if (*p != ';' && *p != '\0')
			break;
	}
	k = p;
	while (mp_is_tchar((unsigned char)*p))
		p++;
	if (p == k)
		return IA_ERR_INVAL;
	*klen = (size_t)(p - k);
	p = mp_skip_ows(p);
	if (*p != '=')
		return IA_ERR_INVAL;
	p = mp_skip_ows(p + 1);
	rc = mp_param_value(&p, val);
	if (rc != 0)
		return rc;
	*key = k;
	*sp = p;
	return 1;
}

/* Extract and validate the boundary of a multipart/form-data type. */
static int mp_parse_boundary(const char *ctype, char **out)
{
	static const char type[] = "multipart/form-data";
	const char *p = mp_skip_ows(ctype);
	const char *key;
	size_t klen, i, blen;
	char *val = NULL;
	char *boundary = NULL;
	int rc;

	if (!mp_ieq(p, strnlen(p, sizeof(type) - 1), type))
		return IA_ERR_INVAL;
	p += sizeof(type) - 1;
	for (;;) {
		rc = mp_param_next(&p, &key, &klen, &val);
		if (rc != 1)
			break;
		if (mp_ieq(key, klen, "boundary")) {
			if (boundary != NULL) {
				free(val);
				rc = IA_ERR_INVAL;
				goto out;
			}
			boundary = val;
		} else {
			free(val);
		}
		val = NULL;
	}
	if (rc < 0 || boundary == NULL) {
		rc = IA_ERR_INVAL;
		goto out;
	}
	blen = strlen(boundary);
	if (blen == 0 || blen > MP_MAX_BOUNDARY || boundary[blen - 1] == ' ') {
		rc = IA_ERR_INVAL;
		goto out;
	}
	for (i = 0; i < blen; i++) {
		if (!mp_is_bchar((unsigned char)boundary[i])) {
			rc = IA_ERR_INVAL;
			goto out;
		}
	}
	*out = boundary;
	boundary = NULL;
	rc = 0;
out:
	free(boundary);
	return rc;
}

int multipart_new(const char *content_type, const struct multipart_limits *lim,
		  const struct multipart_callbacks *cb, void *ud, struct multipart **out)
{
	struct multipart *mp = NULL;
	char *boundary = NULL;
	int rc;

	if (content_type == NULL || cb == NULL || out == NULL)
		return IA_ERR_INVAL;
	rc = mp_parse_boundary(content_type, &boundary);
	if (rc != 0)
		goto out;
	mp = xcalloc(1, sizeof(*mp));
	mp->cb = *cb;
	mp->ud = ud;
	if (lim != NULL)
		mp->lim = *lim;
	if (mp->lim.max_parts == 0)
		mp->lim.max_parts = MP_DEF_PARTS;
	if (mp->lim.max_header_bytes == 0)
		mp->lim.max_header_bytes = MP_DEF_HEADER_BYTES;
	if (mp->lim.max_name_len == 0)
		mp->lim.max_name_len = MP_DEF_NAME_LEN;
	mp->delim = xasprintf("\r\n--%s", boundary);
	mp->dlen = strlen(mp->delim);
	mp->match = 2; /* as if the body began with CRLF */
	mp->state = MP_PREAMBLE;
	mp->hdr = xmalloc(mp->lim.max_header_bytes + 1);
	*out = mp;
	rc = 0;
out:
	free(boundary);
	return rc;
}

void multipart_free(struct multipart *mp)
{
	if (mp == NULL)
		return;
	free(mp->delim);
	free(mp->hdr);
	free(mp);
}

/* Pass body bytes to the data callback (dropped outside a part body). */
static int mp_emit(struct multipart *mp, const char *p, size_t n)
{
	if (n == 0 || mp->state != MP_BODY || mp->cb.on_part_data == NULL)
		return 0;
	return mp->cb.on_part_data(mp->ud, p, n);
}

/*
 * Scan buf for the delimiter, emitting the bytes before it. Sets *found
 * when the delimiter was completed (*used bytes consumed, including it);
 * otherwise the buffer ran out first (*used = len; a partial match is
 * carried in mp->match). Returns 0 or a callback's error. Data goes out in at most two calls
 * per buffer (a failed carried prefix, then one run), so a body full of
 * near-delimiters does not turn into many tiny writes.
 */
static int mp_scan(struct multipart *mp, const char *buf, size_t len, size_t *used, int *found)
{
	size_t carry = mp->match; /* delimiter bytes matched before buf */
	size_t i = 0;
	int rc;

	*found = 0;
	while (i < len) {
		if (mp->match == 0) {
			const char *cr = memchr(buf + i, '\r', len - i);

			if (cr == NULL)
				break;
			i = (size_t)(cr - buf);
		}
		if (mp->match > 0 && buf[i] != mp->delim[mp->match]) {
			/* a failed match is data; its bytes in buf join the run */
			rc = mp_emit(mp, mp->delim, carry);
			if (rc != 0)
				return rc;
			carry = 0;
			mp->match = 0;
		}
		if (buf[i] == mp->delim[mp->match]) {
			mp->match++;
			if (mp->match == mp->dlen) {
				mp->match = 0;
				*used = i + 1;
				*found = 1;
				return mp_emit(mp, buf, i + 1 - (mp->dlen - carry));
			}
		}
		i++;
	}
	*used = len;
	return mp_emit(mp, buf, len - (mp->match - carry));
}

/* Parse a Content-Disposition value into part->name / part->filename. */
static int mp_disposition(const char *v, struct mp_part *part)
{
	const char *p = v;
	const char *key;
	size_t klen;
	char *val = NULL;
	char **slot;
	int rc;

	while (mp_is_tchar((unsigned char)*p))
		p++;
	if (!mp_ieq(v, (size_t)(p - v), "form-data"))
		return IA_ERR_INVAL;
	for (;;) {
		rc = mp_param_next(&p, &key, &klen, &val);
		if (rc != 1)
			break;
		slot = NULL;
		if (mp_ieq(key, klen, "name"))
			slot = &part->name;
		else if (mp_ieq(key, klen, "filename"))
			slot = &part->filename;
		if (slot != NULL && *slot != NULL) {
			free(val);
			return IA_ERR_INVAL; /* duplicate parameter */
		}
		if (slot != NULL)
			*slot = val;
		else
			free(val);
		val = NULL;
	}
	return rc;
}

/* Handle one NUL-terminated header line (no CRLF) of a part. */
static int mp_header_line(char *line, struct mp_part *part)
{
	char *colon = strchr(line, ':');
	char *v, *end;
	size_t i;

	if (colon == NULL || colon == line)
		return IA_ERR_INVAL;
	for (i = 0; line + i < colon; i++)
		if (!mp_is_tchar((unsigned char)line[i]))
			return IA_ERR_INVAL; /* also rejects folded lines */
	v = (char *)mp_skip_ows(colon + 1);
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	if (strchr(v, '\r') != NULL || strchr(v, '\n') != NULL)
		return IA_ERR_INVAL;
	if (mp_ieq(line, (size_t)(colon - line), "content-disposition")) {
		if (part->has_disposition)
			return IA_ERR_INVAL;
		part->has_disposition = 1;
		return mp_disposition(v, part);
	}
	if (mp_ieq(line, (size_t)(colon - line), "content-type")) {
		if (part->ctype != NULL)
			return IA_ERR_INVAL;
		part->ctype = xstrdup(v);
	}
	return 0;
}

/* The blank line ending a header block arrived: parse it, begin the part. */
static int mp_headers_done(struct multipart *mp)
{
	struct mp_part part = {NULL, NULL, NULL, 0};
	char *line = mp->hdr;
	char *eol;
	int rc = IA_ERR_INVAL;

	if (memchr(mp->hdr, '\0', mp->hlen) != NULL)
		goto out;
	mp->hdr[mp->hlen] = '\0';
	while (*line != '\0') {
		eol = strstr(line, "\r\n");
		if (eol == NULL || eol == line)
			break; /* the final blank line */
		*eol = '\0';
		rc = mp_header_line(line, &part);
		if (rc != 0)
			goto out;
		line = eol + 2;
	}
	rc = IA_ERR_INVAL;
	if (part.name == NULL || part.name[0] == '\0')
		goto out;
	rc = IA_ERR_TOOBIG;
	if (strlen(part.name) > mp->lim.max_name_len)
		goto out;
	rc = 0;
	mp->state = MP_BODY;
	mp->match = 0;
	if (mp->cb.on_part_begin != NULL)
		rc = mp->cb.on_part_begin(mp->ud, part.name, part.filename, part.ctype);
out:
	free(part.name);
	free(part.filename);
	free(part.ctype);
	return rc;
}

/* Advance the byte-wise states (between a boundary and a part body). */
static int mp_step(struct multipart *mp, char c)
{
	switch (mp->state) {
	case MP_DELIM:
		if (c == '-' && mp->npad == 0) {
			mp->state = MP_DELIM_DASH;
		} else if (c == ' ' || c == '\t') {
			mp->npad++;
			if (mp->npad > MP_MAX_PADDING)
				return IA_ERR_INVAL;
		} else if (c == '\r') {
			mp->state = MP_DELIM_CR;
		} else {
			return IA_ERR_INVAL;
		}
		return 0;
	case MP_DELIM_DASH:
		if (c != '-')
			return IA_ERR_INVAL;
		mp->state = MP_EPILOGUE;
		return 0;
	case MP_DELIM_CR:
		if (c != '\n')
			return IA_ERR_INVAL;
		mp->nparts++;
		if (mp->nparts > mp->lim.max_parts)
			return IA_ERR_TOOBIG;
		mp->state = MP_HEADERS;
		mp->hlen = 0;
		return 0;
	case MP_HEADERS:
		if (mp->hlen == mp->lim.max_header_bytes)
			return IA_ERR_TOOBIG;
		mp->hdr[mp->hlen++] = c;
		if ((mp->hlen == 2 && memcmp(mp->hdr, "\r\n", 2) == 0) ||
		    (mp->hlen >= 4 && memcmp(mp->hdr + mp->hlen - 4, "\r\n\r\n", 4) == 0))
			return mp_headers_done(mp);
		return 0;
	default: return IA_ERR_INVAL; /* not reached: scanning states */
	}
}

/* Run the scanner over buf; at a delimiter, end the part in progress. */
static int mp_feed_scan(struct multipart *mp, const char *buf, size_t len, size_t *used)
{
	int found = 0;
	int rc = mp_scan(mp, buf, len, used, &found);

	if (rc != 0 || !found)
		return rc;
	if (mp->state == MP_BODY && mp->cb.on_part_end != NULL)
		rc = mp->cb.on_part_end(mp->ud);
	mp->state = MP_DELIM;
	mp->npad = 0;
	return rc;
}

int multipart_feed(struct multipart *mp, const char *data, size_t len)
{
	size_t i = 0;
	size_t used = 0;
	int rc = 0;

	if (mp == NULL || (data == NULL && len > 0))
		return IA_ERR_INVAL;
	if (mp->err != 0)
		return mp->err;
	while (i < len && rc == 0 && mp->state != MP_EPILOGUE) {
		if (mp->state == MP_PREAMBLE || mp->state == MP_BODY) {
			rc = mp_feed_scan(mp, data + i, len - i, &used);
			i += used;
		} else {
			rc = mp_step(mp, data[i++]);
		}
	}
	mp->err = rc;
	return rc;
}

int multipart_finish(struct multipart *mp)
{
	if (mp == NULL)
		return IA_ERR_INVAL;
	if (mp->err != 0)
		return mp->err;
	return mp->state == MP_EPILOGUE ? 0 : IA_ERR_INVAL;
}
