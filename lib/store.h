/*
 * store.h - media objects (uploads and results), their keys, and their
 * signed URLs, on local disk or S3 behind one interface.
 *
 * A media key is a relative path such as "images/3f/3fa2...c1.png": made
 * here from fresh randomness (never from a client's file name), always under
 * "images/" or "sources/", with no empty, "." or ".." segment (so no leading
 * or doubled "/"), no ".." anywhere and no characters outside [A-Za-z0-9._/-].
 * Temp files (store_tmp_dir) are never keys.
 *
 * A signed URL is /media/<key>?exp=<unix>&sig=<hex>, root-relative (no
 * scheme or host: the original service's serializer had no request, and
 * its client prefixes its API origin), where sig is
 * HMAC-SHA256(SECRET_KEY, "<key>\n<exp>"); nginx serves the file only
 * after the media program has checked it (auth_request).
 */
#ifndef IA_STORE_H
#define IA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct settings;

#define STORE_KEY_MAX 128

/* A fresh key "<dir>/<2 hex>/<32 hex>.<ext>" written into out[STORE_KEY_MAX]. */
void store_new_key(const char *dir, const char *ext, char out[STORE_KEY_MAX]);
/* True when key is a well-formed media key (see above); key is not NULL. */
bool store_key_valid(const char *key);
/* A set of media keys (heap strings), e.g. every key rows name. */
struct store_keys {
	char **v;
	size_t n, cap;
};

/* Add a copy of key; a store_each_fn-shaped callback for db walks too. */
int store_keys_add(void *keys, const char *key);
/* Sort and drop duplicates, so that store_keys_has may be asked. */
void store_keys_sort(struct store_keys *k);
/* True when the sorted set holds key. */
bool store_keys_has(const struct store_keys *k, const char *key);
/* Free every key; the struct is zeroed. */
void store_keys_cleanup(struct store_keys *k);

/*
 * Storage operations. The bytes of a key live on one backend, chosen by
 * MEDIA_STORAGE: the local disk under MEDIA_ROOT (store_local.c) or an
 * S3 bucket (store_s3.c); callers never learn which. Engines work on
 * local files: store_fetch gives them one, store_put_file publishes one.
 * Every operation validates key (store_key_valid) and answers
 * IA_ERR_INVAL for a bad one. IA_ERR_UPSTREAM means the storage could
 * not be reached or kept failing (a 503 for clients, a retry for jobs);
 * IA_ERR_IO any other failure.
 */

/* "local" or "s3": the backend MEDIA_STORAGE chose. */
const char *store_backend_name(const struct settings *s);

/*
 * Publish the local file at path as key, atomically: a reader sees all of
 * it or nothing, never a part. content_type (may be NULL) is recorded
 * where the backend keeps one. path must be a file under store_tmp_dir
 * (the local backend renames it into place) and is consumed on every
 * outcome: moved, or removed. The S3 backend streams it, never holding
 * the whole file in memory, and retries a 5xx or SlowDown with backoff.
 */
int store_put_file(const struct settings *s, const char *key, const char *path,
		   const char *content_type);

/* A local file holding an object's bytes, for the engines. */
struct store_local {
	char *path; /* heap */
	bool temp;  /* a copy of ours: store_local_cleanup removes it */
};

/*
 * Make key's bytes readable as a local file. On local disk *out names the
 * media file itself (read it, never write it); on S3 the object is
 * downloaded into dir (an existing directory; NULL = store_tmp_dir).
 * 0; IA_ERR_NOTFOUND when there is no such object.
 */
int store_fetch(const struct settings *s, const char *key, const char *dir,
		struct store_local *out);
/* Remove a temp copy and free out->path; a zeroed struct is a no-op. */
void store_local_cleanup(struct store_local *l);

/* Remove the object of key; a missing one is not an error. NULL is a no-op. */
int store_remove(const struct settings *s, const char *key);
/* 0 and its size in *bytes (may be NULL) when key exists; IA_ERR_NOTFOUND. */
int store_stat(const struct settings *s, const char *key, int64_t *bytes);
/* store_stat(...) == 0: the object exists. */
bool store_exists(const struct settings *s, const char *key, int64_t *bytes);

/*
 * 0 when the storage can take objects (/health/'s "storage"): MEDIA_ROOT
 * is a writable directory; for S3 also the bucket answers. No writes.
 */
int store_check(const struct settings *s);

/*
 * The temp directory of this host for files on their way in or out
 * (MEDIA_ROOT/tmp, created when missing; heap path). On local disk it is
 * on the media file system, so store_put_file is a rename.
 */
char *store_tmp_dir(const struct settings *s);
/* A new private directory store_tmp_dir/<prefix>XXXXXX (heap path), or NULL
 * with errno set. */
char *store_tmp_mkdtemp(const struct settings *s, const char *prefix);
/*
 * Remove dir and the files directly in it (not deeper); a missing dir is
 * fine. Async-signal-safe (system calls only, no allocation): a signal
 * handler may call it. dir may be NULL.
 */
void store_tmp_rmdir(const char *dir);

/*
 * Where nginx fetches key's bytes once the media program has checked the
 * signed URL: NULL on local disk (nginx reads MEDIA_ROOT itself); for S3 a
 * presigned GET URL of the object valid STORE_UPSTREAM_LIFETIME seconds
 * from now (heap).
 */
#define STORE_UPSTREAM_LIFETIME 60
char *store_upstream_url(const struct settings *s, const char *key, int64_t now);

/*
 * Call fn for every media key (store_key_valid) whose object's key starts
 * with prefix ("images/", "sources/"), with its size and modification
 * time (unix seconds), in no particular order; other objects are skipped.
 * A non-zero return from fn stops the walk and is returned.
 */
typedef int (*store_each_fn)(const char *key, int64_t bytes, int64_t mtime, void *ctx);
int store_each(const struct settings *s, const char *prefix, store_each_fn fn, void *ctx);

/* The signed root-relative URL "/media/<key>?exp=..&sig=.." of key, valid
 * until now + MEDIA_URL_LIFETIME (heap). */
char *store_signed_url(const struct settings *s, const char *key, int64_t now);
/*
 * Check a request URI "/media/<key>?exp=..&sig=..". 0 when valid;
 * IA_ERR_EXPIRED past exp; IA_ERR_AUTH for any other defect.
 */
int store_verify_uri(const struct settings *s, const char *uri, int64_t now);
/* The same; on success also writes the URL's exp (unix time) to *exp. */
/* The key of a media URI "/media/<key>?..." into key; IA_ERR_INVAL when the
 * URI has no valid key. Checks no signature: verify the URI first. */
int store_uri_key(const char *uri, char key[STORE_KEY_MAX]);
int store_verify_uri_exp(const struct settings *s, const char *uri, int64_t now, int64_t *exp);

#endif
