/*
 * api.h - what the cgi-bin handlers share: DRF-style field validation of
 * JSON bodies, the <user> object, pagination arguments and the standard
 * error replies of API.md.
 */
#ifndef IA_API_H
#define IA_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct db;
struct http_request;
struct settings;
struct user;

/* Field errors collected as {"field": ["message", ...]}. */
struct api_errors {
	cJSON *obj;
};

void api_errors_init(struct api_errors *e);
void api_errors_add(struct api_errors *e, const char *field, const char *msg);
bool api_errors_any(const struct api_errors *e);
/* Reply 400 with the collected errors. */
void api_errors_reply(struct http_request *req, const struct api_errors *e);
void api_errors_cleanup(struct api_errors *e);

/*
 * A string field of body: returns it (borrowed from body) or NULL when
 * absent/null/empty. Adds DRF's messages to e: "This field is required."
 * (required and absent), "This field may not be blank." (required and
 * empty), "Not a valid string." (another JSON type or invalid UTF-8) and
 * the length messages for min_chars/max_chars (UTF-8 characters; 0 = no
 * bound).
 */
const char *api_field_string(const cJSON *body, const char *name, bool required, size_t min_chars,
			     size_t max_chars, struct api_errors *e);
/*
 * A text field (API.md: names, prompts, contact fields): as
 * api_field_string, and also refused with a field error when it breaks the
 * text rules of text.h. multiline allows newline and tab (messages,
 * prompts); one-line text (names, subjects) allows no control character.
 */
const char *api_field_text(const cJSON *body, const char *name, bool required, size_t min_chars,
			   size_t max_chars, bool multiline, struct api_errors *e);
/* A boolean field: true/false, 1/0, "true"/"false"; "Must be a valid boolean." otherwise. */
bool api_field_bool(const cJSON *body, const char *name, struct api_errors *e);

/* RFC 5321-ish syntax check of an email address (≤ 254 bytes). */
bool api_email_valid(const char *email);
/* Number of UTF-8 characters of s, or -1 when s is not valid UTF-8. */
long api_utf8_len(const char *s);

struct job_row;
struct credits_entry;
struct service;
struct flag_list;

/* The <image> JSON object of API.md with fresh signed URLs (from s's
 * media settings; caller deletes). */
cJSON *api_image_json(const struct settings *s, const struct job_row *r);
/*
 * The 202 answer for image r still 'pending' or 'processing': detail,
 * status and, when position is not NULL, the place in the queue the
 * caller read (queue_position). Caller deletes; builds JSON only.
 */
cJSON *api_in_flight_json(const struct job_row *r, const int64_t *position);
/* One credits/history entry (caller deletes). */
cJSON *api_ledger_json(const struct credits_entry *c);
/* One services entry (caller deletes), with the "formats" and "params"
 * that lib/svcparams.c validates with. */
cJSON *api_service_json(const struct service *s);

/*
 * The <user> JSON object of API.md (caller deletes) for u with the
 * feature flags the caller loaded (flags_list_load; NULL means none).
 * Builds JSON only: no database read.
 */
cJSON *api_user_json(const struct user *u, const struct flag_list *flags);

/*
 * Read ?page= and ?page_size= (defaults 1 and 10, size at most 50; a
 * malformed size means the default, as DRF). On a malformed page replies
 * 404 {"detail": "Invalid page."} and returns <0.
 */
int api_page_args(struct http_request *req, int64_t *page, int64_t *page_size);
/*
 * Build the DRF page envelope {"count","next","previous","results"} around
 * results (consumed). Replies 404 "Invalid page." when page is past the
 * end (and page > 1), else 200.
 */
void api_reply_page(struct http_request *req, int64_t count, int64_t page, int64_t page_size,
		    cJSON *results);
/* As api_reply_page, with extra (NULL or "&name=value...", URL-encoded)
 * appended to the next/previous links: the list's filters. */
void api_reply_page_query(struct http_request *req, int64_t count, int64_t page, int64_t page_size,
			  const char *extra, cJSON *results);

/*
 * Count one request against the per-minute limit of an endpoint group
 * ("login", "signup", "reset", "google", "contact") for the client
 * address: REMOTE_ADDR, or behind a proxy of TRUSTED_PROXIES the address
 * its X-Forwarded-For names (clientip_resolve). When over the limit
 * replies 429 with Retry-After and returns <0.
 */
int api_throttle(struct http_request *req, struct db *db, const char *group);

#endif
