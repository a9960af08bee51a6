/*
 * upload.c - the upload-form collector for the image endpoints. It drives
 * the multipart parser from a read function, keeps text fields in memory
 * and streams the single file part into a temp file, so that memory use
 * stays bounded whatever the upload size. Any failure removes the temp
 * file before returning: the caller never sees half an upload.
 */
#include "config.h"

#include "upload.h"
#include "err.h"
#include "multipart.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UPLOAD_READ_CHUNK 16384
#define UPLOAD_MAX_PARTS  (UPLOAD_MAX_FIELDS + 8)
#define UPLOAD_MAX_HEADER 8192

enum upload_part_kind {
	UPLOAD_NONE,  /* between parts */
	UPLOAD_FIELD, /* a text field */
	UPLOAD_FILE,  /* the file part */
	UPLOAD_SKIP,  /* ignored (empty file name) */
};

/* State shared with the multipart callbacks while parsing. */
struct upload_ctx {
	const char *file_field;
	const char *tmp_dir;
	struct upload_form form;
	enum upload_part_kind kind;
	char *value; /* current text field, UPLOAD_MAX_VALUE + 1 */
	size_t vlen;
	char *name; /* current text field's name */
	int fd;     /* temp file, -1 when none is open */
	int seen_file;
};

static int upload_open_tmp(struct upload_ctx *u, const char *filename);
static int upload_on_begin(void *ud, const char *name, const char *filename,
			   const char *content_type);
static int upload_on_data(void *ud, const char *data, size_t len);
static int upload_on_end(void *ud);
static int upload_pump(struct multipart *mp, upload_read_fn read_fn, void *ctx, size_t max_body);

/* Create the temp file for the file part. */
static int upload_open_tmp(struct upload_ctx *u, const char *filename)
{
	char *path = xasprintf("%s/ia-upload-XXXXXX", u->tmp_dir);
	int fd = mkstemp(path); /* O_EXCL, mode 0600 */

	if (fd < 0) {
		free(path);
		return IA_ERR_IO;
	}
	u->fd = fd;
	u->form.file_tmp_path = path;
	u->form.file_name = xstrdup(filename);
	u->form.file_size = 0;
	return 0;
}

static int upload_on_begin(void *ud, const char *name, const char *filename,
			   const char *content_type)
{
	struct upload_ctx *u = ud;

	(void)content_type; /* the image type is decided by magic bytes */
	if (filename != NULL && filename[0] == '\0') {
		u->kind = UPLOAD_SKIP;
		return 0;
	}
	if (filename != NULL && strcmp(name, u->file_field) != 0) {
		u->kind = UPLOAD_SKIP; /* not the image: as if absent (API.md) */
		return 0;
	}
	if (filename != NULL) {
		if (u->seen_file)
			return IA_ERR_INVAL;
		u->seen_file = 1;
		u->kind = UPLOAD_FILE;
		return upload_open_tmp(u, filename);
	}
	if (u->form.nfields == UPLOAD_MAX_FIELDS)
		return IA_ERR_TOOBIG;
	u->kind = UPLOAD_FIELD;
	u->name = xstrdup(name);
	u->vlen = 0;
	return 0;
}

static int upload_on_data(void *ud, const char *data, size_t len)
{
	struct upload_ctx *u = ud;
	int rc;

	switch (u->kind) {
	case UPLOAD_FILE:
		rc = ia_write_all(u->fd, data, len);
		if (rc == 0)
			u->form.file_size += len;
		return rc;
	case UPLOAD_FIELD:
		if (len > UPLOAD_MAX_VALUE - u->vlen)
			return IA_ERR_TOOBIG;
		if (memchr(data, '\0', len) != NULL)
			return IA_ERR_INVAL;
		memcpy(u->value + u->vlen, data, len);
		u->vlen += len;
		return 0;
	default: return 0;
	}
}

static int upload_on_end(void *ud)
{
	struct upload_ctx *u = ud;
	struct upload_field *f;
	int rc = 0;

	if (u->kind == UPLOAD_FILE) {
		rc = close(u->fd) == 0 ? 0 : IA_ERR_IO;
		u->fd = -1;
	} else if (u->kind == UPLOAD_FIELD) {
		f = &u->form.fields[u->form.nfields++];
		f->name = u->name;
		f->value = xstrndup(u->value, u->vlen);
		u->name = NULL;
	}
	u->kind = UPLOAD_NONE;
	return rc;
}

/* Read the body into the parser, at most max_body bytes. */
static int upload_pump(struct multipart *mp, upload_read_fn read_fn, void *ctx, size_t max_body)
{
	char *buf = xmalloc(UPLOAD_READ_CHUNK);
	size_t total = 0;
	long n;
	int rc;

	for (;;) {
		n = read_fn(ctx, buf, UPLOAD_READ_CHUNK);
		if (n < 0 || (size_t)n > UPLOAD_READ_CHUNK) {
			rc = IA_ERR_UPSTREAM; /* the client's side, not our disk */
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max_body) {
			rc = IA_ERR_TOOBIG;
			goto out;
		}
		rc = multipart_feed(mp, buf, (size_t)n);
		if (rc != 0)
			goto out;
	}
	rc = multipart_finish(mp);
out:
	free(buf);
	return rc;
}

int upload_parse(const char *content_type, upload_read_fn read_fn, void *ctx, size_t max_body,
		 const char *file_field, const char *tmp_dir, struct upload_form *out)
{
	static const struct multipart_callbacks cb = {upload_on_begin, upload_on_data,
						      upload_on_end};
	const struct multipart_limits lim = {UPLOAD_MAX_PARTS, UPLOAD_MAX_HEADER, UPLOAD_MAX_NAME};
	struct multipart *mp = NULL;
	struct upload_ctx u;
	int rc;

	if (read_fn == NULL || file_field == NULL || tmp_dir == NULL || out == NULL)
		return IA_ERR_INVAL;
	memset(&u, 0, sizeof(u));
	u.file_field = file_field;
	u.tmp_dir = tmp_dir;
	u.fd = -1;
	u.value = xmalloc(UPLOAD_MAX_VALUE + 1);
	rc = multipart_new(content_type, &lim, &cb, &u, &mp);
	if (rc != 0)
		goto out;
	rc = upload_pump(mp, read_fn, ctx, max_body);
	if (rc != 0)
		goto out;
	*out = u.form;
	memset(&u.form, 0, sizeof(u.form));
out:
	multipart_free(mp);
	if (u.fd >= 0)
		close(u.fd);
	upload_form_cleanup(&u.form);
	free(u.name);
	free(u.value);
	return rc;
}

const char *upload_form_get(const struct upload_form *f, const char *name)
{
	size_t i;

	if (f == NULL || name == NULL)
		return NULL;
	for (i = 0; i < f->nfields; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value;
	return NULL;
}

void upload_form_cleanup(struct upload_form *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nfields; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	if (f->file_tmp_path != NULL)
		unlink(f->file_tmp_path);
	free(f->file_tmp_path);
	free(f->file_name);
	memset(f, 0, sizeof(*f));
}

char *upload_form_take_file(struct upload_form *f)
{
	char *path;

	if (f == NULL)
		return NULL;
	path = f->file_tmp_path;
	f->file_tmp_path = NULL;
	return path;
}
