/*
 * stability.h - the Stability AI engine: one job's call to the v2beta REST
 * API (generate/{core,sd3,ultra}, edit/remove-background,
 * upscale/{conservative,fast}, control/style) through httpc, with bounded
 * retries, a check that the answer really is an image, and a JSON record of
 * what happened for the job's ai_response.
 *
 * Retry policy: a call makes at most STABILITY_TRIES attempts, retrying on
 * a transport error or timeout, 429 and 5xx, after STABILITY_RETRY_BASE_MS
 * then twice that. Because of that, a failure returned here is final for
 * the job (the worker fails and refunds it, it does not requeue it).
 *
 * The API key travels only in the Authorization header; it is never
 * logged and never written into ai_response or an error text (anything the
 * provider echoes back is scrubbed of it).
 */
#ifndef IA_STABILITY_H
#define IA_STABILITY_H

#include <stddef.h>

#include "httpc.h"
#include "imgops.h"

struct settings;

#define STABILITY_TRIES 3
/* A 429/5xx's Retry-After is honoured up to this many seconds (and within
 * the job's budget); beyond it the job fails and is refunded. */
#define STABILITY_RETRY_AFTER_MAX 120
#define STABILITY_MAX_PARTS       8

/* What one job asks of Stability AI. Strings are borrowed. */
struct stability_call {
	const char *service;         /* generate | remove-background | enhancement | avatar */
	const char *prompt;          /* may be NULL (edit services) */
	const char *negative_prompt; /* may be NULL */
	const char *aspect_ratio;    /* generate; NULL = "16:9" */
	const char *seed;            /* decimal text, or NULL for a random seed */
	const char *source_path;     /* the input image of the edit services */
	enum img_format format;      /* png | jpeg | webp */
	long budget;                 /* seconds the call may take in all; 0 = no bound */
};

/* A built request: endpoint path, URL and multipart parts. */
struct stability_req {
	char path[96];  /* e.g. "/v2beta/stable-image/generate/core" */
	char model[16]; /* "core" | "sd3" | "ultra" for generate, else "" */
	char *url;      /* heap: STABILITY_API_BASE + path */
	char *auth;     /* heap: "Authorization: Bearer <key>" (wiped on cleanup) */
	char filename[32];
	struct httpc_part parts[STABILITY_MAX_PARTS];
	size_t nparts;
};

/*
 * Build the request for call c (no network). Part values borrow from c,
 * so c must outlive *out. IA_ERR_UNSUPPORTED for a service Stability has no
 * endpoint for; IA_ERR_INVAL for a missing source image, an unknown
 * STABILITY_GENERATE_MODEL or an output format the endpoint refuses
 * (remove-background: png or webp). Release with stability_req_cleanup.
 */
int stability_req_build(const struct settings *s, const struct stability_call *c,
			struct stability_req *out);
void stability_req_cleanup(struct stability_req *r);

/* The outcome of stability_run; caller-owned, release with stability_outcome_cleanup. */
struct stability_outcome {
	struct img_result img; /* on success */
	char *ai_response;     /* heap JSON object text, on success and on failure */
	int attempts;          /* HTTP attempts made */
	/* Each attempt's HTTP status (0: no answer) and seconds, for metrics. */
	long attempt_status[STABILITY_TRIES];
	double attempt_seconds[STABILITY_TRIES];
};

/*
 * Run call c and store the image at out_path (written to a temp name beside
 * it, checked by its magic bytes and header, then renamed). Unlike the
 * usual rule, *out is filled on failure too: out->ai_response records
 * the provider's answer (status, error name and messages, finish reason,
 * seed) whenever a request was attempted, and err gets a short reason for
 * the user. Returns 0; IA_ERR_UNAVAILABLE when no key is configured;
 * IA_ERR_UNSUPPORTED / IA_ERR_INVAL as stability_req_build; IA_ERR_UPSTREAM
 * when Stability refused, failed, timed out, filtered the content or sent
 * something that is not an image of the requested format; IA_ERR_IO when
 * the file cannot be written. Logs one line per failed attempt (no
 * secrets).
 */
int stability_run(const struct settings *s, const struct stability_call *c, const char *out_path,
		  struct stability_outcome *out, char *err, size_t errlen);
void stability_outcome_cleanup(struct stability_outcome *o);

/*
 * The ai_response JSON of an answer (heap text, caller frees): provider,
 * endpoint, model (generate only), status, and from the answer the error
 * name and messages of a JSON error body, the finish-reason and seed
 * headers, and the number of attempts. r may be NULL for a transport
 * failure; then "error" is transport_error. Occurrences of key (may be NULL or empty) are replaced
 * by "[redacted]".
 */
char *stability_ai_response(const struct stability_req *q, const struct httpc_response *r,
			    const char *transport_error, int attempts, const char *key);

#endif
