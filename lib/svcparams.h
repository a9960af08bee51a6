/*
 * svcparams.h - the services' parameter table: for every service, the
 * fields a client sends (name, type, required, default, bounds, choices,
 * length) and the output formats it accepts. It is the one description of
 * a service's parameters: GET /api/v1/services/ publishes it (API.md
 * "Services and credits"), lib/imgops.c validates uploads with it before
 * charging and parses them with it before running, and lib/submit.c
 * checks the prompt endpoint's JSON fields with it. A client that builds
 * its forms from the published table cannot disagree with the server.
 */
#ifndef IA_SVCPARAMS_H
#define IA_SVCPARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

enum svcparam_type {
	SVCPARAM_INTEGER, /* a whole number within [min, max] */
	SVCPARAM_CHOICE,  /* one of choices, compared exactly */
	SVCPARAM_STRING,  /* text of at most max_length characters (0 = no bound) */
};

/* One parameter. Members that do not apply to its type are zero or NULL. */
struct svcparam {
	const char *name;
	enum svcparam_type type;
	bool required;
	const char *def;            /* the default as a form sends it; NULL = none */
	long long min, max;         /* SVCPARAM_INTEGER, inclusive */
	const char *const *choices; /* SVCPARAM_CHOICE, NULL-terminated */
	size_t max_length;          /* SVCPARAM_STRING, in Unicode code points */
};

/* One service's parameters and output formats (static, never freed). */
struct svcparams {
	const char *slug;
	const struct svcparam *params;
	size_t nparams;
	const char *const *formats; /* NULL-terminated, the first is the default */
};

/* The table entry of slug, or NULL for a slug the table does not know. */
const struct svcparams *svcparams_find(const char *slug);

/* Parameter name of s, or NULL. s may be NULL (then NULL). */
const struct svcparam *svcparams_param(const struct svcparams *s, const char *name);

/*
 * The value to validate for p when the client sent v (NULL when the field
 * is absent): v itself, or p's default when p is optional and v is absent
 * or empty (as DRF treats an empty optional form field). May return NULL:
 * an absent field without a default. The result is borrowed from v or
 * from the static table.
 */
const char *svcparams_resolve(const struct svcparam *p, const char *v);

/*
 * Validate the resolved value v of p (from svcparams_resolve; NULL =
 * absent). Returns 0 when valid: for an integer, and for a choice that
 * reads as an integer ("2", "4"), writes its value to *ival (may be NULL;
 * untouched otherwise). On a bad value writes a DRF message
 * ("This field is required.", "A valid integer is required.", "Ensure
 * this value is less than or equal to 8192.", "\"3\" is not a valid
 * choice.", "Ensure this field has no more than 2000 characters.") into
 * msg (NUL-terminated, truncated to msglen) and returns IA_ERR_INVAL.
 * Strings are expected to be valid UTF-8 already (text.h checks that).
 */
int svcparams_check(const struct svcparam *p, const char *v, long long *ival, char *msg,
		    size_t msglen);

/*
 * Add "formats" and "params" of API.md's services entry to obj: the
 * formats as strings, and each parameter as {"name", "type", "required",
 * "default"?, "min"?, "max"?, "choices"?, "max_length"?} (an integer's
 * default is a number; a choice's choices and default are the strings a
 * form sends). s may be NULL (a service the table does not know): then
 * both lists are empty.
 */
void svcparams_add_json(const struct svcparams *s, cJSON *obj);

#endif
