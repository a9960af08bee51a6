/*
 * fuzz_google.c - libFuzzer target for the tokeninfo answer of Google
 * sign-in (lib/google.c): the body is parsed as google_verify parses it
 * and handed to google_check_claims. An accepted identity must have a
 * plausible email (non-empty, with '@', no space or angle bracket, within
 * USER_EMAIL_MAX) and names that are NUL-terminated, within their buffers
 * and valid UTF-8 whenever the claims were.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "google.h"
#include "users.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define FUZZ_NOW 1700000000

static const char fuzz_client[] = "test-client.apps.googleusercontent.com";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct google_identity id;
	cJSON *claims;
	int rc;

	if (size > 64 * 1024)
		return 0;
	claims = cJSON_ParseWithLength((const char *)data, size);
	memset(&id, 0x5A, sizeof(id));
	rc = google_check_claims(claims, fuzz_client, FUZZ_NOW, &id);
	if (rc == 0) {
		size_t elen = strnlen(id.email, sizeof(id.email));

		if (elen == 0 || elen == sizeof(id.email) || elen > USER_EMAIL_MAX ||
		    strchr(id.email, '@') == NULL || strpbrk(id.email, " \t\r\n<>") != NULL)
			abort();
		if (strnlen(id.first_name, sizeof(id.first_name)) == sizeof(id.first_name) ||
		    strnlen(id.last_name, sizeof(id.last_name)) == sizeof(id.last_name))
			abort();
		if (fuzz_utf8_valid((const char *)data, size) &&
		    (!fuzz_utf8_valid(id.first_name, strlen(id.first_name)) ||
		     !fuzz_utf8_valid(id.last_name, strlen(id.last_name))))
			abort(); /* a name cut inside a character */
	} else if (rc != IA_ERR_AUTH) {
		abort();
	}
	cJSON_Delete(claims);
	return 0;
}
