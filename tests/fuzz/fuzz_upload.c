/*
 * fuzz_upload.c - libFuzzer target for lib/upload.c (and lib/multipart.c
 * below it): a whole upload form read in pseudo-random slices.
 *
 * Input layout: byte 0 seeds the slice sizes; if its top bit is set the
 * text up to the first '\n' is the Content-Type, else a fixed
 * multipart/form-data type with boundary "AaB03x" is used. The rest is the
 * body. Checked beyond memory safety: errors are the documented ones, a
 * failure leaves no temp file, a success has no NUL in a value, at most
 * UPLOAD_MAX_FIELDS fields, a temp file exactly file_size long, and
 * cleanup removes it.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "upload.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_MAX_BODY (64 * 1024)

struct reader {
	const char *p;
	size_t left;
	unsigned seed;
};

static long fuzz_read(void *ctx, char *buf, size_t len)
{
	struct reader *r = ctx;
	size_t n = r->left < len ? r->left : len;

	r->seed = r->seed * 1103515245u + 12345u;
	if (n > 1 + (r->seed >> 16) % 700)
		n = 1 + (r->seed >> 16) % 700;
	memcpy(buf, r->p, n);
	r->p += n;
	r->left -= n;
	return (long)n;
}

/* Number of entries in dir besides . and .. */
static int fuzz_count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		abort();
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void fuzz_check_form(const struct upload_form *f)
{
	struct stat st;
	size_t i;

	if (f->nfields > UPLOAD_MAX_FIELDS)
		abort();
	for (i = 0; i < f->nfields; i++)
		if (f->fields[i].name == NULL || f->fields[i].value == NULL ||
		    strlen(f->fields[i].name) > UPLOAD_MAX_NAME ||
		    strlen(f->fields[i].value) > UPLOAD_MAX_VALUE)
			abort();
	if (f->file_tmp_path != NULL) {
		if (stat(f->file_tmp_path, &st) != 0 || (size_t)st.st_size != f->file_size)
			abort();
		if (f->file_name == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char fixed[] = "multipart/form-data; boundary=AaB03x";
	const char *dir = fuzz_tmpdir();
	struct upload_form form;
	struct reader r;
	char *ctype = NULL;
	int rc;

	if (size == 0)
		return 0;
	r.p = (const char *)data + 1;
	r.left = size - 1;
	r.seed = data[0];
	if (data[0] & 0x80) {
		const char *nl = memchr(r.p, '\n', r.left);
		size_t clen = nl ? (size_t)(nl - r.p) : r.left;

		ctype = fuzz_cstr((const uint8_t *)r.p, clen);
		r.p += nl ? clen + 1 : clen;
		r.left -= nl ? clen + 1 : clen;
	}
	memset(&form, 0, sizeof(form));
	rc = upload_parse(ctype ? ctype : fixed, fuzz_read, &r, FUZZ_MAX_BODY, "image", dir, &form);
	if (rc == 0) {
		fuzz_check_form(&form);
		upload_form_cleanup(&form);
	} else if (rc != IA_ERR_INVAL && rc != IA_ERR_TOOBIG) {
		abort();
	}
	if (fuzz_count_files(dir) != 0)
		abort(); /* a temp file survived a failure or the cleanup */
	free(ctype);
	return 0;
}
