/*
 * test_stability.c - unit tests for lib/stability.c without the network:
 * the request of each service (endpoint, URL, Authorization header,
 * multipart fields), refusals, the ai_response record of answers (error
 * bodies, headers, key redaction), and the retry loop against a port
 * nobody listens on. The HTTP exchange itself is tested against the fake
 * server in tests/api/test_stability.py.
 */
#include "config.h"

#include "err.h"
#include "imggen.h"
#include "settings.h"
#include "stability.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define KEY "sk-unit-secret-0123456789"

static struct settings st;
static char src_png[64];

static void setup(void)
{
	struct img_result res;
	char *ai = NULL;

	memset(&st, 0, sizeof(st));
	st.stability_ai_key = (char *)KEY;
	st.stability_api_base = (char *)"http://stability.test/";
	st.stability_generate_model = (char *)"core";
	st.stability_timeout = 5;
	st.stability_retry_base_ms = 10;
	snprintf(src_png, sizeof(src_png), "/tmp/test_stability.%ld.png", (long)getpid());
	ck_assert_int_eq(imggen_generate("source", "1:1", "1", IMG_FMT_PNG, src_png, &res, &ai), 0);
	free(ai);
}

static void teardown(void)
{
	unlink(src_png);
}

/* The value of text part name, or NULL; fails the test when it is a file. */
static const char *part(const struct stability_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparts; i++)
		if (strcmp(r->parts[i].name, name) == 0)
			return r->parts[i].value;
	return NULL;
}

static const struct httpc_part *file_part(const struct stability_req *r, const char *name)
{
	for (size_t i = 0; i < r->nparts; i++)
		if (strcmp(r->parts[i].name, name) == 0 && r->parts[i].file_path != NULL)
			return &r->parts[i];
	return NULL;
}

START_TEST(test_generate_request)
{
	struct stability_call c = {.service = "generate",
				   .prompt = "a red fox",
				   .negative_prompt = "blurry",
				   .aspect_ratio = "21:9",
				   .seed = "42",
				   .format = IMG_FMT_WEBP};
	struct stability_req r;

	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/generate/core");
	ck_assert_str_eq(r.url, "http://stability.test/v2beta/stable-image/generate/core");
	ck_assert_str_eq(r.auth, "Authorization: Bearer " KEY);
	ck_assert_str_eq(r.model, "core");
	ck_assert_uint_eq(r.nparts, 5);
	ck_assert_str_eq(part(&r, "prompt"), "a red fox");
	ck_assert_str_eq(part(&r, "negative_prompt"), "blurry");
	ck_assert_str_eq(part(&r, "aspect_ratio"), "21:9");
	ck_assert_str_eq(part(&r, "seed"), "42");
	ck_assert_str_eq(part(&r, "output_format"), "webp");
	ck_assert_ptr_null(file_part(&r, "image"));
	stability_req_cleanup(&r);
	ck_assert_ptr_null(r.auth);
}
END_TEST

START_TEST(test_generate_defaults_and_models)
{
	struct stability_call c = {.service = "generate", .prompt = "p", .format = IMG_FMT_PNG};
	struct stability_req r;

	st.stability_generate_model = (char *)"ultra";
	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/generate/ultra");
	ck_assert_str_eq(part(&r, "aspect_ratio"), "16:9");
	ck_assert_ptr_null(part(&r, "seed"));
	ck_assert_ptr_null(part(&r, "negative_prompt"));
	ck_assert_str_eq(part(&r, "output_format"), "png");
	stability_req_cleanup(&r);
	st.stability_generate_model = (char *)"sd3";
	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/generate/sd3");
	stability_req_cleanup(&r);
	st.stability_generate_model = (char *)"dall-e";
	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_INVAL);
	st.stability_generate_model = (char *)"core";
	c.prompt = NULL;
	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_INVAL);
}
END_TEST

START_TEST(test_edit_requests)
{
	struct stability_call c = {
	    .service = "remove-background", .source_path = src_png, .format = IMG_FMT_PNG};
	const struct httpc_part *img;
	struct stability_req r;

	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/edit/remove-background");
	img = file_part(&r, "image");
	ck_assert_ptr_nonnull(img);
	ck_assert_str_eq(img->file_path, src_png);
	ck_assert_str_eq(img->filename, "image.png");
	ck_assert_str_eq(img->content_type, "image/png");
	ck_assert_ptr_null(part(&r, "prompt"));
	ck_assert_str_eq(part(&r, "output_format"), "png");
	stability_req_cleanup(&r);

	c.format = IMG_FMT_JPEG; /* the endpoint answers png or webp only */
	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_INVAL);

	c.service = "enhancement";
	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/upscale/fast");
	ck_assert_ptr_null(part(&r, "prompt"));
	ck_assert_str_eq(part(&r, "output_format"), "jpeg");
	stability_req_cleanup(&r);

	c.prompt = "crisp photo";
	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/upscale/conservative");
	ck_assert_str_eq(part(&r, "prompt"), "crisp photo");
	ck_assert_ptr_nonnull(file_part(&r, "image"));
	stability_req_cleanup(&r);

	c.service = "avatar";
	c.prompt = NULL;
	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	ck_assert_str_eq(r.path, "/v2beta/stable-image/control/style");
	ck_assert_ptr_nonnull(part(&r, "prompt")); /* required by Stability: a neutral default */
	ck_assert_ptr_nonnull(file_part(&r, "image"));
	stability_req_cleanup(&r);
}
END_TEST

START_TEST(test_refusals)
{
	struct stability_call c = {
	    .service = "greyscale", .source_path = src_png, .format = IMG_FMT_PNG};
	struct stability_req r;

	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_UNSUPPORTED);
	c.service = "remove-background";
	c.source_path = NULL;
	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_INVAL);
	c.source_path = "/nonexistent/file.png";
	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_INVAL);
	c.source_path = src_png;
	c.format = IMG_FMT_GIF;
	ck_assert_int_eq(stability_req_build(&st, &c, &r), IA_ERR_INVAL);
}
END_TEST

static cJSON *ai_json(const struct httpc_response *resp, const char *transport)
{
	struct stability_call c = {.service = "generate", .prompt = "p", .format = IMG_FMT_PNG};
	struct stability_req r;
	char *text;
	cJSON *o;

	ck_assert_int_eq(stability_req_build(&st, &c, &r), 0);
	text = stability_ai_response(&r, resp, transport, 2, KEY);
	ck_assert_ptr_null(strstr(text, KEY));
	ck_assert_ptr_null(strstr(text, "Bearer"));
	o = cJSON_Parse(text);
	ck_assert_ptr_nonnull(o);
	free(text);
	stability_req_cleanup(&r);
	return o;
}

START_TEST(test_ai_response_error_body)
{
	char body[] = "{\"id\":\"x1\",\"name\":\"content_moderation\",\"errors\":[\"flagged\",7,"
		      "\"your key " KEY " was used\"]}";
	char headers[] = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n\r\n";
	struct httpc_response resp = {403, body, sizeof(body) - 1, headers};
	cJSON *o = ai_json(&resp, NULL), *errors;

	ck_assert_str_eq(cJSON_GetObjectItem(o, "provider")->valuestring, "stability");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "endpoint")->valuestring,
			 "/v2beta/stable-image/generate/core");
	ck_assert_str_eq(cJSON_GetObjectItem(o, "model")->valuestring, "core");
	ck_assert_int_eq(cJSON_GetObjectItem(o, "status")->valueint, 403);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "content_moderation");
	errors = cJSON_GetObjectItem(o, "errors");
	ck_assert_int_eq(cJSON_GetArraySize(errors), 2); /* the number is dropped */
	ck_assert_str_eq(cJSON_GetArrayItem(errors, 0)->valuestring, "flagged");
	ck_assert_str_eq(cJSON_GetArrayItem(errors, 1)->valuestring,
			 "your key [redacted] was used");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "finish_reason")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "seed")));
	ck_assert_int_eq(cJSON_GetObjectItem(o, "attempts")->valueint, 2);
	cJSON_Delete(o);
}
END_TEST

/*
 * Regression (fuzz_stability): an error message longer than the 500 bytes
 * kept was cut inside a UTF-8 character, so the record stored with the job
 * and served as JSON was not valid UTF-8.
 */
START_TEST(test_ai_response_error_cut_inside_utf8_character)
{
	char body[1024];
	char headers[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	struct httpc_response resp = {400, body, 0, headers};
	const char *msg;
	size_t i, n = 0;
	cJSON *o;

	n += (size_t)snprintf(body, sizeof(body), "{\"errors\":[\"x");
	for (i = 0; i < 300; i++) /* "x" then 300 "é": byte 500 is inside one */
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\xC3\xA9");
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"]}");
	resp.body_len = n;
	o = ai_json(&resp, NULL);
	msg = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "errors"), 0)->valuestring;
	n = strlen(msg);
	ck_assert_uint_eq(n, 499); /* "x" + 249 whole characters */
	ck_assert_int_eq(msg[0], 'x');
	for (i = 1; i < n; i += 2)
		ck_assert(msg[i] == '\xC3' && msg[i + 1] == '\xA9');
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_ai_response_success_and_transport)
{
	char body[] = "\x89PNG";
	char headers[] = "HTTP/1.1 200 OK\r\nfinish-reason: SUCCESS\r\nSeed: 1234567\r\n\r\n";
	struct httpc_response resp = {200, body, 4, headers};
	cJSON *o = ai_json(&resp, NULL);

	ck_assert_int_eq(cJSON_GetObjectItem(o, "status")->valueint, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(o, "finish_reason")->valuestring, "SUCCESS");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "seed")));
	ck_assert_int_eq(cJSON_GetObjectItem(o, "seed")->valueint, 1234567);
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "errors"));
	cJSON_Delete(o);

	o = ai_json(NULL, "timeout or connection failure");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(o, "status")));
	ck_assert_str_eq(cJSON_GetObjectItem(o, "error")->valuestring,
			 "timeout or connection failure");
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_run_without_key)
{
	struct stability_call c = {.service = "generate", .prompt = "p", .format = IMG_FMT_PNG};
	struct stability_outcome o;
	char err[256] = "";

	st.stability_ai_key = (char *)"";
	ck_assert_int_eq(stability_run(&st, &c, "/tmp/never-written.png", &o, err, sizeof(err)),
			 IA_ERR_UNAVAILABLE);
	ck_assert_ptr_null(o.ai_response);
	ck_assert_str_eq(err, "This service is not available right now."); /* no setting name */
	ck_assert_int_eq(access("/tmp/never-written.png", F_OK), -1);
}
END_TEST

/* Nothing listens on port 1: three quick attempts with backoff, then a recorded failure. */
START_TEST(test_run_retries_transport_errors)
{
	struct stability_call c = {
	    .service = "generate", .prompt = "p", .format = IMG_FMT_PNG, .budget = 30};
	struct stability_outcome o;
	struct timespec t0, t1;
	char err[256] = "", out[64];
	cJSON *ai;
	double ms;

	snprintf(out, sizeof(out), "/tmp/test_stability.%ld.out.png", (long)getpid());
	st.stability_api_base = (char *)"http://127.0.0.1:1";
	st.stability_retry_base_ms = 40;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(stability_run(&st, &c, out, &o, err, sizeof(err)), IA_ERR_UPSTREAM);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_int_eq(o.attempts, STABILITY_TRIES);
	ck_assert(ms >= 40 + 80); /* backoff 40 ms, then 80 ms */
	ck_assert(ms < 5000);
	ck_assert_ptr_nonnull(o.ai_response);
	ai = cJSON_Parse(o.ai_response);
	ck_assert_int_eq(cJSON_GetObjectItem(ai, "attempts")->valueint, STABILITY_TRIES);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(ai, "status")));
	ck_assert_int_eq(access(out, F_OK), -1);
	cJSON_Delete(ai);
	stability_outcome_cleanup(&o);
}
END_TEST

/* A budget smaller than one retry's wait stops after the first attempt. */
START_TEST(test_run_budget_bounds_retries)
{
	struct stability_call c = {
	    .service = "generate", .prompt = "p", .format = IMG_FMT_PNG, .budget = 2};
	struct stability_outcome o;
	char err[256] = "";

	st.stability_api_base = (char *)"http://127.0.0.1:1";
	st.stability_retry_base_ms = 1500;
	ck_assert_int_eq(stability_run(&st, &c, "/tmp/never-written.png", &o, err, sizeof(err)),
			 IA_ERR_UPSTREAM);
	ck_assert_int_eq(o.attempts, 1);
	stability_outcome_cleanup(&o);
}
END_TEST

static Suite *stability_suite(void)
{
	Suite *s = suite_create("stability");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_generate_request);
	tcase_add_test(tc, test_generate_defaults_and_models);
	tcase_add_test(tc, test_edit_requests);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_ai_response_error_body);
	tcase_add_test(tc, test_ai_response_success_and_transport);
	tcase_add_test(tc, test_ai_response_error_cut_inside_utf8_character);
	tcase_add_test(tc, test_run_without_key);
	tcase_add_test(tc, test_run_retries_transport_errors);
	tcase_add_test(tc, test_run_budget_bounds_retries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stability_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
