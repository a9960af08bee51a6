/*
 * orphans.h - media that nothing will ever clean up, and rows whose
 * objects are gone. A request worker killed mid-upload leaves
 * MEDIA_ROOT/tmp/ia-upload-* behind; a batch worker killed with its job
 * child leaves MEDIA_ROOT/tmp/ia-job-*; older versions' encoders left
 * <key>.<pid>.tmp beside their target; a crash between storing an object
 * and committing its row leaves an object no row names (local disk or
 * bucket alike, through store_each). ia-batch sweeps
 * the temp files at start and periodically (orphans_sweep_tmp); `iactl
 * media orphans [--clean]` reports (and removes) all three kinds.
 */
#ifndef IA_ORPHANS_H
#define IA_ORPHANS_H

#include <stdbool.h>
#include <stdint.h>

struct db;
struct settings;

/* Files younger than this are in flight, never orphans (seconds). */
#define ORPHANS_MIN_AGE 3600

/*
 * Remove temp files older than max_age seconds: MEDIA_ROOT/tmp/ia-upload-*
 * and ia-job-* directories, and on local disk
 * {sources,images}/<2 hex>/<name>.<pid>.tmp whose pid is not a live
 * process. Writes the number removed to *removed (may be
 * NULL). Errors reading a directory are skipped: a sweep is best effort.
 */
int orphans_sweep_tmp(const struct settings *s, int64_t max_age, int *removed);

/* What orphans_scan found (or removed, with clean). */
struct orphans_report {
	int64_t tmp_files;     /* stale temp files */
	int64_t orphan_files;  /* media files no row names, older than max_age */
	int64_t missing_files; /* keys named by rows whose file is missing */
	int64_t removed;       /* files removed (clean only) */
};

/*
 * Walk MEDIA_ROOT against the images table: calls fn(ud, kind, key) for
 * each finding, kind "tmp", "orphan" or "missing" (key is the media key,
 * or a path relative to MEDIA_ROOT for temp files; borrowed for the call).
 * With clean, removes stale temp files and orphan files (rows with
 * missing files are only reported). fn may be NULL. Reads the database
 * only.
 */
int orphans_scan(struct db *db, const struct settings *s, int64_t max_age, bool clean,
		 void (*fn)(void *ud, const char *kind, const char *key), void *ud,
		 struct orphans_report *out);

#endif
