/*
 * gallery.c - the filters of the image list (see gallery.h).
 */
#include "config.h"

#include "gallery.h"
#include "api.h"
#include "err.h"
#include "http.h"
#include "services.h"
#include "text.h"

#include <stdio.h>
#include <string.h>

#define GALLERY_CHOICE "Select a valid choice. %s is not one of the available choices."
#define GALLERY_CHOICE_UNNAMED                                                                     \
	"Select a valid choice. That choice is not one of the available choices."

/* The message for a bad value v: named when it is printable text. */
static void gallery_bad_choice(const char *v, char *msg, size_t msglen)
{
	if (text_check(v, false, NULL) == 0 && strlen(v) <= 64)
		snprintf(msg, msglen, GALLERY_CHOICE, v);
	else
		snprintf(msg, msglen, "%s", GALLERY_CHOICE_UNNAMED);
}

int gallery_parse_status(const char *list, unsigned *bits, char *msg, size_t msglen)
{
	unsigned out = 0, bit;
	char item[32];
	size_t len;

	while (*list != '\0') {
		len = strcspn(list, ",");
		if (len >= sizeof(item)) {
			snprintf(msg, msglen, "%s", GALLERY_CHOICE_UNNAMED);
			return IA_ERR_INVAL;
		}
		memcpy(item, list, len);
		item[len] = '\0';
		bit = jobs_status_bit(item);
		if (len > 0 && bit == 0) {
			gallery_bad_choice(item, msg, msglen);
			return IA_ERR_INVAL;
		}
		out |= bit;
		list += len;
		if (*list == ',')
			list++;
	}
	*bits = out != 0 ? out : JOBS_PROCESSED;
	return 0;
}

/*
 * One query parameter into buf: 0 (possibly empty), IA_ERR_NOTFOUND when
 * absent, IA_ERR_TOOBIG when longer than buf.
 */
static int gallery_param(struct http_request *req, const char *name, char *buf, size_t len)
{
	int rc = http_query_get(req, name, buf, len);

	if (rc != 0)
		buf[0] = '\0';
	return rc;
}

/* The status bits asked for, or a field error. */
static void gallery_read_status(struct http_request *req, unsigned *bits, bool *given,
				struct api_errors *e)
{
	char buf[128], msg[160];
	int rc = gallery_param(req, "status", buf, sizeof(buf));

	*bits = JOBS_PROCESSED;
	*given = false;
	if (rc == IA_ERR_TOOBIG) {
		api_errors_add(e, "status", GALLERY_CHOICE_UNNAMED);
		return;
	}
	if (gallery_parse_status(buf, bits, msg, sizeof(msg)) != 0) {
		api_errors_add(e, "status", msg);
		return;
	}
	*given = buf[0] != '\0' && *bits != 0;
}

/* The service slug asked for ("" = any), or a field error; <0 on a database error. */
static int gallery_read_service(struct http_request *req, struct db *db, char *slug, size_t len,
				struct api_errors *e)
{
	struct service svc;
	char msg[160];
	int rc = gallery_param(req, "service", slug, len);

	if (rc == IA_ERR_TOOBIG) {
		api_errors_add(e, "service", GALLERY_CHOICE_UNNAMED);
		return 0;
	}
	if (slug[0] == '\0')
		return 0;
	rc = services_get(db, slug, &svc);
	if (rc == IA_ERR_NOTFOUND) {
		gallery_bad_choice(slug, msg, sizeof(msg));
		api_errors_add(e, "service", msg);
		return 0;
	}
	return rc;
}

/* "&service=<slug>&status=<a>%2C<b>" for what was asked (both are plain words). */
static void gallery_link(struct gallery_query *q, bool status_given)
{
	size_t o = 0;
	unsigned i;

	q->link[0] = '\0';
	if (q->service[0] != '\0')
		o += (size_t)snprintf(q->link, sizeof(q->link), "&service=%s", q->service);
	for (i = 0; status_given && i < 4 && o < sizeof(q->link); i++) {
		if (!(q->filter.statuses & (1u << i)))
			continue;
		o += (size_t)snprintf(
		    q->link + o, sizeof(q->link) - o, "%s%s",
		    strstr(q->link, "status=") ? "%2C" : "&status=", jobs_status_name(1u << i));
	}
}

int gallery_query_read(struct http_request *req, struct db *db, struct gallery_query *q,
		       struct api_errors *e)
{
	struct gallery_query out;
	bool status_given;
	int rc;

	memset(&out, 0, sizeof(out));
	gallery_read_status(req, &out.filter.statuses, &status_given, e);
	rc = gallery_read_service(req, db, out.service, sizeof(out.service), e);
	if (rc != 0)
		return rc;
	if (api_errors_any(e))
		return IA_ERR_INVAL;
	gallery_link(&out, status_given);
	*q = out;
	q->filter.service = q->service[0] != '\0' ? q->service : NULL;
	return 0;
}
