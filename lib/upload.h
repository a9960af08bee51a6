/*
 * upload.h - collects a multipart/form-data upload for the image
 * endpoints: small text fields in memory, the single file part streamed
 * into a private temp file, the whole body bounded.
 */
#ifndef IA_UPLOAD_H
#define IA_UPLOAD_H

#include <stddef.h>

#define UPLOAD_MAX_FIELDS 32
#define UPLOAD_MAX_VALUE  4096 /* bytes of one text field's value */
#define UPLOAD_MAX_NAME   100  /* bytes of a field name */

/* Reads up to len body bytes into buf: bytes read, 0 at end, <0 error. */
typedef long (*upload_read_fn)(void *ctx, char *buf, size_t len);

struct upload_field {
	char *name;
	char *value; /* NUL-terminated; raw bytes as sent, never contains NUL */
};

/* A parsed form; owned by the caller, release with upload_form_cleanup. */
struct upload_form {
	struct upload_field fields[UPLOAD_MAX_FIELDS];
	size_t nfields;
	char *file_name;     /* client's file name (never used as a path), NULL if no file part */
	char *file_tmp_path; /* temp file holding the file part, NULL if none */
	size_t file_size;
};

/*
 * Read a whole multipart/form-data body through read_fn(ctx, ...) and collect
 * it. content_type is the request's Content-Type header; file_field names
 * the one part that may carry a file (e.g. "image"); its bytes go to a new
 * file made with mkstemp (mode 0600) in tmp_dir. A part with an empty
 * filename (a browser's unfilled file input) is ignored, as Django does,
 * and so is a file part under another field name (the caller then sees no
 * file: "Image file is required."). At most max_body bytes are read.
 *
 * Returns 0 and fills *out (the caller must call upload_form_cleanup), or:
 * IA_ERR_TOOBIG when the body exceeds max_body or a field/part/name/header
 * bound is hit; IA_ERR_INVAL when the body is malformed, a text field
 * value contains a NUL byte, or there is a second file part under
 * file_field; IA_ERR_UPSTREAM when read_fn fails; IA_ERR_IO when the
 * temp file cannot be created or written (a full disk: the caller answers
 * 503). On failure no temp file is left behind and *out is untouched.
 */
int upload_parse(const char *content_type, upload_read_fn read_fn, void *ctx, size_t max_body,
		 const char *file_field, const char *tmp_dir, struct upload_form *out);

/*
 * The value of the first field called name, or NULL if absent. Borrowed:
 * valid until upload_form_cleanup.
 */
const char *upload_form_get(const struct upload_form *f, const char *name);

/*
 * Free everything in *f and unlink the temp file if it is still set (not
 * taken). Leaves *f zeroed, so a second call is harmless.
 */
void upload_form_cleanup(struct upload_form *f);

/*
 * Hand the temp file's path to the caller, who must free the string and
 * rename or unlink the file. Returns NULL when there is no file (or it was
 * already taken). The form's file_name and file_size stay as they were.
 */
char *upload_form_take_file(struct upload_form *f);

#endif
