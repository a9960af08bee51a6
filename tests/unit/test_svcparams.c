/*
 * test_svcparams.c - unit tests for lib/svcparams.c: every upload service
 * and generate have an entry, defaults resolve, each check's DRF message,
 * the published JSON shape (absent keys where they do not apply), and that
 * lib/imgops.c validates with the very bounds the table publishes: for
 * every integer parameter, min and max pass and min-1 and max+1 fail with
 * the published bound in the message.
 */
#include "config.h"

#include "err.h"
#include "imgops.h"
#include "svcparams.h"
#include "util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const upload_slugs[] = {"greyscale", "remove-background", "resize",  "thumbnail",
					   "cropping",  "enhancement",       "outline", "avatar"};

#define NSLUGS (sizeof(upload_slugs) / sizeof(upload_slugs[0]))

START_TEST(test_every_service_has_an_entry_with_format)
{
	const struct svcparams *g = svcparams_find("generate");
	const struct svcparam *f;
	size_t i;

	for (i = 0; i < NSLUGS; i++) {
		const struct svcparams *s = svcparams_find(upload_slugs[i]);

		ck_assert_ptr_nonnull(s);
		f = svcparams_param(s, "format");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(f->type, SVCPARAM_CHOICE);
		ck_assert_str_eq(f->def, "png");
		ck_assert_ptr_eq(f->choices, s->formats); /* one list, published twice */
	}
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_null(svcparams_param(g, "format"));
	ck_assert_str_eq(g->formats[0], "png");
	ck_assert_ptr_null(g->formats[1]);
	ck_assert_ptr_null(svcparams_find("nope"));
	ck_assert_ptr_null(svcparams_find(NULL));
	ck_assert_ptr_null(svcparams_param(NULL, "x"));
}
END_TEST

START_TEST(test_remove_background_offers_no_jpeg)
{
	const struct svcparams *s = svcparams_find("remove-background");

	ck_assert_str_eq(s->formats[0], "png");
	ck_assert_str_eq(s->formats[1], "webp");
	ck_assert_ptr_null(s->formats[2]);
}
END_TEST

START_TEST(test_resolve_and_check_messages)
{
	const struct svcparams *t = svcparams_find("thumbnail");
	const struct svcparam *mw = svcparams_param(t, "max_width");
	const struct svcparam *w = svcparams_param(svcparams_find("resize"), "width");
	const struct svcparam *sc = svcparams_param(svcparams_find("enhancement"), "scale");
	const struct svcparam *pr = svcparams_param(svcparams_find("enhancement"), "prompt");
	char msg[128], *long_prompt;
	long long iv = 0;

	ck_assert_str_eq(svcparams_resolve(mw, NULL), "1280");
	ck_assert_str_eq(svcparams_resolve(mw, ""), "1280");
	ck_assert_str_eq(svcparams_resolve(mw, "12"), "12");
	ck_assert_ptr_null(svcparams_resolve(w, NULL)); /* required: never a default */
	ck_assert_str_eq(svcparams_resolve(w, ""), "");

	ck_assert_int_eq(svcparams_check(w, NULL, &iv, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_str_eq(msg, "This field is required.");
	ck_assert_int_eq(svcparams_check(w, "", &iv, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_str_eq(msg, "A valid integer is required.");
	ck_assert_int_eq(svcparams_check(w, " 12.0 ", &iv, msg, sizeof(msg)), 0);
	ck_assert_int_eq(iv, 12);
	ck_assert_int_eq(svcparams_check(w, "99999999999999999999", &iv, msg, sizeof(msg)),
			 IA_ERR_INVAL);
	ck_assert_str_eq(msg, "Ensure this value is less than or equal to 8192.");
	ck_assert_int_eq(svcparams_check(sc, "3", &iv, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_str_eq(msg, "\"3\" is not a valid choice.");
	ck_assert_int_eq(svcparams_check(sc, "2", &iv, msg, sizeof(msg)), 0);
	ck_assert_int_eq(iv, 2);
	ck_assert_int_eq(svcparams_check(sc, svcparams_resolve(sc, NULL), &iv, msg, sizeof(msg)),
			 0);
	ck_assert_int_eq(iv, 4);

	long_prompt = xmalloc(pr->max_length * 2 + 3);
	memset(long_prompt, 0, pr->max_length * 2 + 3);
	for (size_t i = 0; i < pr->max_length; i++)
		memcpy(long_prompt + 2 * i, "\xc3\xa9", 2); /* é: two bytes, one character */
	ck_assert_int_eq(svcparams_check(pr, long_prompt, NULL, msg, sizeof(msg)), 0);
	long_prompt[pr->max_length * 2] = 'e'; /* one character more */
	ck_assert_int_eq(svcparams_check(pr, long_prompt, NULL, msg, sizeof(msg)), IA_ERR_INVAL);
	ck_assert_str_eq(msg, "Ensure this field has no more than 2000 characters.");
	free(long_prompt);
}
END_TEST

/* The published object of a parameter name of service slug. */
static const cJSON *published(cJSON *o, const char *name)
{
	const cJSON *p;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(o, "params"))
	{
		if (strcmp(cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring, name) == 0)
			return p;
	}
	return NULL;
}

START_TEST(test_json_shape)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *p;
	char *text;

	svcparams_add_json(svcparams_find("outline"), o);
	p = published(o, "low_threshold");
	ck_assert_ptr_nonnull(p);
	text = cJSON_PrintUnformatted(p);
	ck_assert_str_eq(text,
			 "{\"name\":\"low_threshold\",\"type\":\"integer\",\"required\":false,"
			 "\"default\":50,\"min\":0,\"max\":255}");
	free(text);
	text = cJSON_PrintUnformatted(published(o, "format"));
	ck_assert_str_eq(text, "{\"name\":\"format\",\"type\":\"choice\",\"required\":false,"
			       "\"default\":\"png\",\"choices\":[\"png\",\"jpeg\",\"webp\"]}");
	free(text);
	text = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(o, "formats"));
	ck_assert_str_eq(text, "[\"png\",\"jpeg\",\"webp\"]");
	free(text);
	cJSON_Delete(o);

	o = cJSON_CreateObject();
	svcparams_add_json(svcparams_find("generate"), o);
	text = cJSON_PrintUnformatted(published(o, "prompt"));
	ck_assert_str_eq(text, "{\"name\":\"prompt\",\"type\":\"string\",\"required\":true,"
			       "\"max_length\":2000}");
	free(text);
	text = cJSON_PrintUnformatted(published(o, "seed"));
	ck_assert_str_eq(text, "{\"name\":\"seed\",\"type\":\"integer\",\"required\":false,"
			       "\"min\":0,\"max\":4294967294}");
	free(text);
	cJSON_Delete(o);

	o = cJSON_CreateObject();
	svcparams_add_json(NULL, o);
	text = cJSON_PrintUnformatted(o);
	ck_assert_str_eq(text, "{\"formats\":[],\"params\":[]}");
	free(text);
	cJSON_Delete(o);
}
END_TEST

/*
 * Run imgops_validate_params for slug with one integer parameter set to v and
 * every other required integer at its minimum (no source: no crop box or
 * output bound check). Returns the rc; the field name goes to field.
 */
static int validate_with(const char *slug, const char *name, long long v, char *field,
			 size_t fieldlen, char *msg, size_t msglen)
{
	const struct svcparams *t = svcparams_find(slug);
	struct img_param p[8];
	char vals[8][24];
	size_t i, n = 0;

	for (i = 0; i < t->nparams && n < 8; i++) {
		const struct svcparam *q = &t->params[i];

		if (q->type != SVCPARAM_INTEGER)
			continue;
		if (strcmp(q->name, name) == 0)
			snprintf(vals[n], sizeof(vals[n]), "%lld", v);
		else if (strcmp(name, "low_threshold") == 0 &&
			 strcmp(q->name, "high_threshold") == 0)
			snprintf(vals[n], sizeof(vals[n]), "%lld", q->max); /* low <= high */
		else
			snprintf(vals[n], sizeof(vals[n]), "%lld", q->min);
		p[n].key = q->name;
		p[n].value = vals[n];
		n++;
	}
	field[0] = msg[0] = '\0';
	return imgops_validate_params(slug, p, n, NULL, field, fieldlen, msg, msglen);
}

START_TEST(test_imgops_validates_with_the_published_bounds)
{
	char field[64], msg[160], want[160];
	size_t i, j, checked = 0;

	for (i = 0; i < NSLUGS; i++) {
		const struct svcparams *t = svcparams_find(upload_slugs[i]);

		for (j = 0; j < t->nparams; j++) {
			const struct svcparam *q = &t->params[j];

			if (q->type != SVCPARAM_INTEGER)
				continue;
			ck_assert_int_eq(validate_with(t->slug, q->name, q->min, field,
						       sizeof(field), msg, sizeof(msg)),
					 0);
			ck_assert_int_eq(validate_with(t->slug, q->name, q->max, field,
						       sizeof(field), msg, sizeof(msg)),
					 0);
			ck_assert_int_eq(validate_with(t->slug, q->name, q->min - 1, field,
						       sizeof(field), msg, sizeof(msg)),
					 IA_ERR_INVAL);
			ck_assert_str_eq(field, q->name);
			snprintf(want, sizeof(want),
				 "Ensure this value is greater than or equal to %lld.", q->min);
			ck_assert_str_eq(msg, want);
			ck_assert_int_eq(validate_with(t->slug, q->name, q->max + 1, field,
						       sizeof(field), msg, sizeof(msg)),
					 IA_ERR_INVAL);
			ck_assert_str_eq(field, q->name);
			snprintf(want, sizeof(want),
				 "Ensure this value is less than or equal to %lld.", q->max);
			ck_assert_str_eq(msg, want);
			checked++;
		}
	}
	ck_assert_uint_eq(checked, 10); /* resize 2, thumbnail 2, cropping 4, outline 2 */
}
END_TEST

START_TEST(test_imgops_refuses_formats_the_table_does_not_offer)
{
	struct img_param p[] = {{"format", "jpeg"}};
	char field[64], msg[160];

	ck_assert_int_eq(imgops_validate_params("remove-background", p, 1, NULL, field,
						sizeof(field), msg, sizeof(msg)),
			 IA_ERR_INVAL);
	ck_assert_str_eq(field, "format");
	ck_assert_str_eq(msg,
			 "JPEG has no transparency: choose png or webp for remove-background.");
	ck_assert_int_eq(
	    imgops_validate_params("greyscale", p, 1, NULL, field, sizeof(field), msg, sizeof(msg)),
	    0);
	p[0].value = "gif";
	ck_assert_int_eq(
	    imgops_validate_params("greyscale", p, 1, NULL, field, sizeof(field), msg, sizeof(msg)),
	    IA_ERR_INVAL);
	ck_assert_str_eq(msg, "\"gif\" is not a valid choice.");
	ck_assert_int_eq(
	    imgops_validate_params("generate", p, 1, NULL, field, sizeof(field), msg, sizeof(msg)),
	    IA_ERR_NOTFOUND);
}
END_TEST

static Suite *svcparams_suite(void)
{
	Suite *s = suite_create("svcparams");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_every_service_has_an_entry_with_format);
	tcase_add_test(tc, test_remove_background_offers_no_jpeg);
	tcase_add_test(tc, test_resolve_and_check_messages);
	tcase_add_test(tc, test_json_shape);
	tcase_add_test(tc, test_imgops_validates_with_the_published_bounds);
	tcase_add_test(tc, test_imgops_refuses_formats_the_table_does_not_offer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(svcparams_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
