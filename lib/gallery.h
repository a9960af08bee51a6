/*
 * gallery.h - the filters of a user's image list, GET /api/v1/user/images/
 * (API.md "Images"): ?status= (comma-separated pending, processing, done,
 * failed; default done,failed, the processed images) and ?service=<slug>,
 * read from the query string, checked, and written back into the page
 * links so that next/previous keep them.
 */
#ifndef IA_GALLERY_H
#define IA_GALLERY_H

#include "jobs.h"

struct api_errors;
struct db;
struct http_request;

#define GALLERY_LINK_MAX 128

/* A checked filter; caller-owned, nothing to clean up. */
struct gallery_query {
	struct jobs_filter filter; /* filter.service points into service */
	char service[32];
	/* "&service=...&status=..." for the page links, "" for the defaults */
	char link[GALLERY_LINK_MAX];
};

/*
 * Parse a status list ("pending,processing") into JOBS_* bits. Empty items
 * are skipped; an empty list (or one of empty items) is the default,
 * JOBS_PROCESSED. On an unknown item writes django-filter's message
 * ("Select a valid choice. x is not one of the available choices.") into
 * msg (truncated to msglen) and returns IA_ERR_INVAL.
 */
int gallery_parse_status(const char *list, unsigned *bits, char *msg, size_t msglen);

/*
 * Read ?status= and ?service= of req into *q. A service must be a slug of
 * the services table (db). Field errors go to e ({"status": [...]},
 * {"service": [...]}) and make the return IA_ERR_INVAL; a database error
 * is returned as such (e untouched). q is filled only on success.
 */
int gallery_query_read(struct http_request *req, struct db *db, struct gallery_query *q,
		       struct api_errors *e);

#endif
