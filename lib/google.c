/*
 * google.c - "Sign in with Google". This module implements the server side
 * of Google Identity Services' ID token flow the way the original service
 * did it: the token is not decoded here but handed to Google's tokeninfo
 * endpoint, whose answer (the token's claims, or an error status) is then
 * checked against our client id, the issuer, the expiry and the email
 * verification flag. Any doubt is a failure: the caller answers every one
 * of them with the same "Failed to verify token." Protocol only: what a
 * verified identity means for our accounts is lib/googlelogin.c.
 */
#include "config.h"

#include "google.h"
#include "err.h"
#include "httpc.h"
#include "log.h"
#include "settings.h"
#include "text.h"
#include "users.h"
#include "util.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool google_iss_ok(const cJSON *iss);
static bool google_exp_ok(const cJSON *exp, int64_t now);
static bool google_verified(const cJSON *v);
static void google_copy_name(char *dst, size_t size, const cJSON *v);

static bool google_iss_ok(const cJSON *iss)
{
	return cJSON_IsString(iss) &&
	       (strcmp(iss->valuestring, "accounts.google.com") == 0 ||
		strcmp(iss->valuestring, "https://accounts.google.com") == 0);
}

/* tokeninfo sends exp as a decimal string; accept a number too. */
static bool google_exp_ok(const cJSON *exp, int64_t now)
{
	int64_t t;

	if (cJSON_IsString(exp))
		return ia_parse_int64(exp->valuestring, 0, INT64_MAX, &t) == 0 && t > now;
	if (cJSON_IsNumber(exp))
		return isfinite(exp->valuedouble) && exp->valuedouble > (double)now;
	return false;
}

static bool google_verified(const cJSON *v)
{
	return cJSON_IsTrue(v) || (cJSON_IsString(v) && strcmp(v->valuestring, "true") == 0);
}

/*
 * Copy a name claim cut to USER_NAME_MAX characters (and to the buffer),
 * never splitting a UTF-8 sequence; "" when absent, not a string, or not
 * text by API.md's rules for names (invalid UTF-8, control characters).
 */
static void google_copy_name(char *dst, size_t size, const cJSON *v)
{
	const unsigned char *s;
	size_t i, chars = 0;

	dst[0] = '\0';
	if (!cJSON_IsString(v))
		return;
	s = (const unsigned char *)v->valuestring;
	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] & 0xC0) == 0x80)
			continue;
		if (chars == USER_NAME_MAX)
			break; /* i is the start of character 31 */
		chars++;
	}
	if (i > size - 1) { /* only malformed UTF-8 gets here: back off to a start */
		i = size - 1;
		while (i > 0 && (s[i] & 0xC0) == 0x80)
			i--;
	}
	memcpy(dst, s, i);
	dst[i] = '\0';
	if (text_check(dst, false, NULL) != 0) /* API.md's text rules: no such name */
		dst[0] = '\0';
}

int google_check_claims(const cJSON *claims, const char *client_id, int64_t now,
			struct google_identity *out)
{
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	const cJSON *email = cJSON_GetObjectItemCaseSensitive(claims, "email");

	if (!cJSON_IsObject(claims) || client_id == NULL || client_id[0] == '\0')
		return IA_ERR_AUTH;
	if (!cJSON_IsString(aud) || strcmp(aud->valuestring, client_id) != 0 ||
	    !google_iss_ok(cJSON_GetObjectItemCaseSensitive(claims, "iss")) ||
	    !google_exp_ok(cJSON_GetObjectItemCaseSensitive(claims, "exp"), now) ||
	    !google_verified(cJSON_GetObjectItemCaseSensitive(claims, "email_verified")))
		return IA_ERR_AUTH;
	if (!cJSON_IsString(email) || email->valuestring[0] == '\0' ||
	    strlen(email->valuestring) > USER_EMAIL_MAX ||
	    strchr(email->valuestring, '@') == NULL ||
	    strpbrk(email->valuestring, " \t\r\n<>") != NULL)
		return IA_ERR_AUTH;
	memset(out, 0, sizeof(*out));
	memcpy(out->email, email->valuestring, strlen(email->valuestring) + 1);
	google_copy_name(out->first_name, sizeof(out->first_name),
			 cJSON_GetObjectItemCaseSensitive(claims, "given_name"));
	google_copy_name(out->last_name, sizeof(out->last_name),
			 cJSON_GetObjectItemCaseSensitive(claims, "family_name"));
	return 0;
}

int google_verify(const struct settings *s, const char *credential, int64_t now,
		  struct google_identity *out)
{
	struct httpc_request req = {0};
	struct httpc_response resp = {0};
	struct google_identity id;
	cJSON *claims = NULL;
	char *esc = NULL, *url = NULL;
	int rc = IA_ERR_AUTH;

	if (s->google_client_id == NULL || s->google_client_id[0] == '\0') {
		log_error("google: GOOGLE_CLIENT_ID is not set; every Google login fails");
		return IA_ERR_AUTH;
	}
	if (credential == NULL || credential[0] == '\0' ||
	    strlen(credential) > GOOGLE_CREDENTIAL_MAX)
		return IA_ERR_AUTH;
	esc = httpc_escape(credential);
	url = xasprintf("%s%cid_token=%s", s->google_tokeninfo_url,
			strchr(s->google_tokeninfo_url, '?') != NULL ? '&' : '?', esc);
	req.method = "GET";
	req.url = url;
	req.connect_timeout = 5;
	req.timeout = GOOGLE_TIMEOUT;
	req.max_response = 64 * 1024;
	if (httpc_perform(&req, &resp) != 0) {
		log_warn("google: tokeninfo unreachable");
		goto out;
	}
	if (resp.status != 200) {
		log_info("google: tokeninfo answered HTTP %ld", resp.status);
		goto out;
	}
	claims = cJSON_ParseWithLength(resp.body, resp.body_len);
	if (google_check_claims(claims, s->google_client_id, now, &id) != 0) {
		log_info("google: token claims rejected");
		goto out;
	}
	*out = id;
	rc = 0;
out:
	cJSON_Delete(claims);
	httpc_response_cleanup(&resp);
	free(url);
	free(esc);
	return rc;
}
