/*
 * submit.h - accepting work: an image upload for one of the upload
 * services, or a prompt for generation. Everything between "the request
 * is authenticated" and "202 Accepted": bounded multipart parsing, type by
 * magic bytes, extension check, pixel bound before decoding, parameter
 * validation, EXIF-normalised storage under a generated name, and the
 * charging transaction that enqueues the job. On any failure nothing is
 * left behind: no row, no file, no charge.
 */
#ifndef IA_SUBMIT_H
#define IA_SUBMIT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "upload.h"

struct db;
struct settings;

/* The HTTP answer of a submission: status and a JSON body (owned). */
struct submit_reply {
	int status;
	cJSON *body;
};

struct submit_upload_req {
	int64_t user_id;
	const char *slug;         /* upload service */
	const char *started_msg;  /* "<Name> started." override, NULL = from the service name */
	const char *content_type; /* request Content-Type */
	int64_t content_length;   /* -1 when absent */
	upload_read_fn read;      /* body reader */
	void *read_ctx;
};

/*
 * Accept an upload; always fills *out (caller deletes out->body). The job
 * row records the parameters as accepted (imgops_params_json) and the file's
 * sanitised name (text_file_name) for <image>'s params and original_name.
 */
void submit_upload(struct db *db, const struct settings *s, const struct submit_upload_req *r,
		   struct submit_reply *out);

/* Accept a generation request (JSON body already parsed). Its params are
 * the optional negative_prompt and seed; it has no original_name. */
void submit_generate(struct db *db, const struct settings *s, int64_t user_id, const cJSON *body,
		     struct submit_reply *out);

#endif
