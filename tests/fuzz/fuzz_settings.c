/*
 * fuzz_settings.c - libFuzzer target for the KEY=VALUE settings file of
 * lib/settings.c. The environment is emptied once and IA_CONFIG names an
 * in-memory file holding the input. A successful load must give every
 * string setting a value, a non-empty SECRET_KEY whose length is right
 * and numbers in the documented range; a failed one must say why.
 * settings_origin_allowed is then asked about a few origins.
 */
#include "config.h"

#include "err.h"
#include "fuzz.h"
#include "settings.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const origins[] = {"http://app.example", "", "a", ",", "http://x y"};
	static int ready;
	struct settings s;
	char err[256] = "";
	size_t i;
	int rc;

	if (!ready) {
		clearenv();
		ready = 1;
	}
	if (size > 64 * 1024)
		return 0;
	if (setenv("IA_CONFIG", fuzz_memfile(data, size), 1) != 0)
		abort();
	memset(&s, 0, sizeof(s));
	rc = settings_load(&s, err, sizeof(err));
	if (rc != 0) {
		if (rc != IA_ERR_INVAL || err[0] == '\0')
			abort();
		return 0;
	}
	if (s.secret_key == NULL || s.secret_key_len == 0 ||
	    s.secret_key_len != strlen(s.secret_key) || s.state_dir == NULL || s.db_path == NULL ||
	    s.media_root == NULL || s.public_url == NULL || s.cors_allowed_origins == NULL ||
	    s.smtp_password == NULL || s.contact_email == NULL)
		abort();
	if (s.signup_credits < 0 || s.credit_multiplier < 0 || s.stability_timeout < 0 ||
	    s.rate_limit_per_minute < 0 || s.media_url_lifetime < 0)
		abort();
	for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++)
		(void)settings_origin_allowed(&s, origins[i]);
	settings_cleanup(&s);
	return 0;
}
