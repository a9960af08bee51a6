/*
 * store_backend.h - the table of functions behind store.h, one per media
 * storage (STYLE.md rule 15, as curl's vtls and SQLite's VFS): the local
 * disk (store_local.c) and S3 (store_s3.c). Only store.c chooses between
 * them, from MEDIA_STORAGE; keys reach a backend already validated.
 * Each function has the contract of the store.h function of its name.
 */
#ifndef IA_STORE_BACKEND_H
#define IA_STORE_BACKEND_H

#include "store.h"

#include <stdint.h>

struct settings;

struct store_backend {
	const char *name;
	int (*put_file)(const struct settings *s, const char *key, const char *path,
			const char *content_type);
	int (*fetch)(const struct settings *s, const char *key, const char *dir,
		     struct store_local *out);
	int (*remove)(const struct settings *s, const char *key);
	int (*stat)(const struct settings *s, const char *key, int64_t *bytes);
	int (*check)(const struct settings *s);
	char *(*upstream_url)(const struct settings *s, const char *key, int64_t now);
	int (*each)(const struct settings *s, const char *prefix, store_each_fn fn, void *ctx);
};

/* mkdir -p of every parent directory of path (modified and restored). */
int store_mkdirs(char *path);

extern const struct store_backend store_local_backend;
extern const struct store_backend store_s3_backend;

#endif
