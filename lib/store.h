/*
 * store.h - media files under MEDIA_ROOT and their signed URLs.
 *
 * A media key is a relative path such as "images/3f/3fa2...c1.png": made
 * here from fresh randomness (never from a client's file name), always under
 * "images/" or "sources/", with no empty, "." or ".." segment (so no leading
 * or doubled "/"), no ".." anywhere and no characters outside [A-Za-z0-9._/-].
 * Upload temp files (store_tmp_dir) are never keys. Files are
 * written to a temp name beside their final place and renamed.
 *
 * A signed URL is {PUBLIC_URL}/media/<key>?exp=<unix>&sig=<hex>, where sig
 * is HMAC-SHA256(SECRET_KEY, "<key>\n<exp>"); nginx serves the file only
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
/* MEDIA_ROOT/key as a heap string (caller frees). */
char *store_path(const struct settings *s, const char *key);
/* Create the parent directories of key under MEDIA_ROOT. */
int store_prepare(const struct settings *s, const char *key);
/* A temp directory under MEDIA_ROOT for uploads in flight (heap path). */
char *store_tmp_dir(const struct settings *s);
/* Remove the file of key; a missing file is not an error. NULL is a no-op. */
int store_remove(const struct settings *s, const char *key);
/* True when the file of key exists; writes its size to *bytes (may be NULL). */
bool store_exists(const struct settings *s, const char *key, int64_t *bytes);

/* The signed absolute URL of key valid until now + MEDIA_URL_LIFETIME (heap). */
char *store_signed_url(const struct settings *s, const char *key, int64_t now);
/*
 * Check a request URI "/media/<key>?exp=..&sig=..". 0 when valid;
 * IA_ERR_EXPIRED past exp; IA_ERR_AUTH for any other defect.
 */
int store_verify_uri(const struct settings *s, const char *uri, int64_t now);
/* The same; on success also writes the URL's exp (unix time) to *exp. */
int store_verify_uri_exp(const struct settings *s, const char *uri, int64_t now, int64_t *exp);

#endif
