/*
 * accounts.c - the FastCGI program behind API.md's "Accounts" table:
 * signup, tokens, user info, email verification, password reset, public
 * config and contact. No mail is sent here: it goes into the outbox in the
 * request's transaction and ia-batch delivers it.
 * nginx sends every /api/v1/ path that no other program claims here, so
 * its router also answers the 404s of unknown API paths.
 */
#include "config.h"

#include "accounts.h"
#include "api.h"
#include "app.h"
#include "auth.h"
#include "contact.h"
#include "err.h"
#include "google.h"
#include "googlelogin.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "resets.h"
#include "router.h"
#include "settings.h"
#include "users.h"
#include "util.h"
#include "verify.h"

#include <stdlib.h>
#include <string.h>

/* Add "refresh" and "access" tokens of u to o; <0 when they cannot be issued. */
static int accounts_add_pair(cJSON *o, const struct user *u)
{
	char *access = NULL, *refresh = NULL;
	int rc = auth_issue_pair(settings_get(), u, &access, &refresh);

	if (rc != 0)
		return rc;
	cJSON_AddStringToObject(o, "refresh", refresh);
	cJSON_AddStringToObject(o, "access", access);
	free(access);
	free(refresh);
	return 0;
}

static void accounts_reply_pair(struct http_request *req, const struct user *u)
{
	char *access = NULL, *refresh = NULL;
	cJSON *o;

	if (auth_issue_pair(settings_get(), u, &access, &refresh) != 0) {
		http_reply_detail(req, 500, "Could not issue tokens.");
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "refresh", refresh);
	cJSON_AddStringToObject(o, "access", access);
	http_reply_json(req, 200, o);
	cJSON_Delete(o);
	free(access);
	free(refresh);
}

static void handle_signup(struct http_request *req, const struct route_args *args)
{
	struct api_errors e;
	struct accounts_signup nu = {0};
	cJSON *body = NULL;
	const char *website;
	int64_t id;
	int rc;

	(void)args;
	if (api_throttle(req, app_db(), "signup") != 0 || http_json_body(req, &body) != 0)
		return;
	api_errors_init(&e);
	website = api_field_string(body, "website", false, 0, 0, &e);
	if (website != NULL) {
		http_reply_detail(req, 400, "Error Occurred.");
		goto out;
	}
	nu.email = api_field_string(body, "email", true, 0, USER_EMAIL_MAX, &e);
	if (nu.email != NULL && !api_email_valid(nu.email))
		api_errors_add(&e, "email", "Enter a valid email address.");
	nu.password = api_field_string(body, "password", true, 8, 128, &e);
	nu.first_name = api_field_text(body, "first_name", false, 0, USER_NAME_MAX, false, &e);
	nu.last_name = api_field_text(body, "last_name", false, 0, USER_NAME_MAX, false, &e);
	if (api_errors_any(&e)) {
		api_errors_reply(req, &e);
		goto out;
	}
	rc = accounts_signup(app_db(), settings_get(), &nu, &id);
	if (rc == IA_ERR_EXISTS)
		http_reply_field_error(req, "email", "user with this email already exists.");
	else if (rc != 0)
		http_reply_detail(req, 503, "Could not create the account, try again.");
	else
		http_reply_detail(req, 201, "User created successfully.");
out:
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}

static void handle_token_obtain(struct http_request *req, const struct route_args *args)
{
	cJSON *body = NULL;
	const cJSON *email, *password;
	struct user u;
	long len;
	int rc;

	(void)args;
	if (api_throttle(req, app_db(), "login") != 0 || http_json_body(req, &body) != 0)
		return;
	email = cJSON_GetObjectItemCaseSensitive(body, "email");
	password = cJSON_GetObjectItemCaseSensitive(body, "password");
	if (!cJSON_IsString(email) || !cJSON_IsString(password) || email->valuestring[0] == '\0' ||
	    password->valuestring[0] == '\0') {
		http_reply_detail(req, 400, "Email and password are required.");
		goto out;
	}
	if (!api_email_valid(email->valuestring)) {
		http_reply_detail(req, 400, "Invalid email format.");
		goto out;
	}
	/* Bounded in code points, as signup counts them: a password of 128
	 * four-byte characters that signup took must sign in. No lower bound
	 * here: accounts carried over from Django may hold shorter ones. */
	len = api_utf8_len(password->valuestring);
	rc = len < 0 || len > 128
		 ? IA_ERR_AUTH
		 : users_authenticate(app_db(), email->valuestring, password->valuestring, &u);
	if (rc == IA_ERR_AUTH)
		http_reply_detail(req, 401, "No active account found with the given credentials");
	else if (rc != 0)
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	else if (u.banned)
		http_reply_detail(req, 403, "Account is suspended.");
	else
		accounts_reply_pair(req, &u);
out:
	cJSON_Delete(body);
}

static void handle_token_refresh(struct http_request *req, const struct route_args *args)
{
	cJSON *body = NULL, *o;
	const cJSON *refresh;
	char *access = NULL;
	struct user u;
	int rc;

	(void)args;
	if (http_json_body(req, &body) != 0)
		return;
	refresh = cJSON_GetObjectItemCaseSensitive(body, "refresh");
	if (refresh == NULL || cJSON_IsNull(refresh)) {
		http_reply_field_error(req, "refresh", "This field is required.");
		goto out;
	}
	rc = cJSON_IsString(refresh)
		 ? auth_check_refresh(settings_get(), app_db(), refresh->valuestring, &u)
		 : IA_ERR_AUTH;
	if (rc == IA_ERR_FORBIDDEN) {
		http_reply_detail(req, 403, "Account is suspended.");
	} else if (rc != 0 || auth_issue_access(settings_get(), &u, &access) != 0) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "detail", "Token is invalid or expired");
		cJSON_AddStringToObject(o, "code", "token_not_valid");
		http_reply_json(req, 401, o);
		cJSON_Delete(o);
	} else {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "access", access);
		http_reply_json(req, 200, o);
		cJSON_Delete(o);
	}
out:
	free(access);
	cJSON_Delete(body);
}

/*
 * POST /users/add/credits/ (API.md "Payments"): the original's endpoint by
 * which a client added credits to itself after a card payment. It stays
 * only so that client's success path works (issue 13 point 14): it grants
 * nothing, writes nothing (credits come only from the verified Stripe
 * webhook) and names the current balance. The body, whatever it claims,
 * is read only to give malformed JSON the usual 400.
 */
static void handle_add_credits(struct http_request *req, const struct route_args *args)
{
	struct user u;
	cJSON *body = NULL, *o;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0 || http_json_body(req, &body) != 0)
		return;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "detail", "Credits added successfully.");
	cJSON_AddNumberToObject(o, "credits", (double)u.credits);
	http_reply_json(req, 200, o);
	cJSON_Delete(o);
	cJSON_Delete(body);
}

/* The profile every page load asks for (accounts_profile: cached while
 * the database is unchanged). */
static void handle_user_info(struct http_request *req, const struct route_args *args)
{
	struct user u;
	char *text = NULL;
	size_t len;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0)
		return;
	if (accounts_profile(app_db(), &u, &text, &len) != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
		return;
	}
	http_reply_json_text(req, 200, text, len);
	free(text);
}

static void handle_reset_request(struct http_request *req, const struct route_args *args)
{
	cJSON *body = NULL;
	const cJSON *email;

	(void)args;
	if (api_throttle(req, app_db(), "reset") != 0 || http_json_body(req, &body) != 0)
		return;
	email = cJSON_GetObjectItemCaseSensitive(body, "email");
	if (!cJSON_IsString(email) || !api_email_valid(email->valuestring)) {
		http_reply_field_error(req, "email", "Enter a valid email address.");
		goto out;
	}
	if (resets_request(app_db(), email->valuestring, ia_now()) != 0)
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	else
		http_reply_detail(req, 200, "Password reset email sent successfully.");
out:
	cJSON_Delete(body);
}

static void handle_reset_confirm(struct http_request *req, const struct route_args *args)
{
	cJSON *body = NULL;
	const cJSON *uid, *token, *pw;
	long len;

	(void)args;
	if (api_throttle(req, app_db(), "reset") != 0 || http_json_body(req, &body) != 0)
		return;
	uid = cJSON_GetObjectItemCaseSensitive(body, "uidb64");
	token = cJSON_GetObjectItemCaseSensitive(body, "token");
	pw = cJSON_GetObjectItemCaseSensitive(body, "new_password");
	if (!cJSON_IsString(pw) || pw->valuestring[0] == '\0') {
		http_reply_detail(req, 400, "New password is required.");
		goto out;
	}
	len = api_utf8_len(pw->valuestring);
	if (len < 8 || len > 128) {
		http_reply_field_error(req, "new_password",
				       len < 8
					   ? "Ensure this field has at least 8 characters."
					   : "Ensure this field has no more than 128 characters.");
		goto out;
	}
	if (!cJSON_IsString(uid) || !cJSON_IsString(token) ||
	    resets_confirm(app_db(), uid->valuestring, token->valuestring, pw->valuestring,
			   ia_now()) != 0) {
		http_reply_detail(req, 400, "Invalid token.");
		goto out;
	}
	http_reply_detail(req, 200, "Password reset successfully.");
out:
	cJSON_Delete(body);
}

static void handle_verify_email(struct http_request *req, const struct route_args *args)
{
	cJSON *body = NULL;
	const cJSON *uid, *token;

	(void)args;
	if (http_json_body(req, &body) != 0) /* 256-bit tokens: no throttle needed */
		return;
	uid = cJSON_GetObjectItemCaseSensitive(body, "uidb64");
	token = cJSON_GetObjectItemCaseSensitive(body, "token");
	if (!cJSON_IsString(uid) || !cJSON_IsString(token) ||
	    verify_confirm(app_db(), uid->valuestring, token->valuestring, ia_now()) != 0)
		http_reply_detail(req, 400, "Invalid token.");
	else
		http_reply_detail(req, 200, "Email verified.");
	cJSON_Delete(body);
}

/* Throttled per client address like signup. */
static void handle_verify_resend(struct http_request *req, const struct route_args *args)
{
	struct user u;
	bool sent = false;

	(void)args;
	if (auth_require(req, app_db(), &u) != 0 || api_throttle(req, app_db(), "resend") != 0)
		return;
	if (verify_resend(app_db(), settings_get(), u.id, ia_now(), &sent) != 0)
		http_reply_detail(req, 503, "Service temporarily unavailable.");
	else
		http_reply_detail(req, 200, "Verification email sent.");
}

static void handle_public_config(struct http_request *req, const struct route_args *args)
{
	const struct settings *s = settings_get();
	cJSON *o = cJSON_CreateObject();

	(void)args;
	cJSON_AddStringToObject(o, "GOOGLE_CLIENT_ID", s->google_client_id);
	cJSON_AddStringToObject(o, "GOOGLE_LOGIN_REDIRECT_URI", s->google_login_redirect_uri);
	cJSON_AddStringToObject(o, "STRIPE_PUBLIC_KEY", s->stripe_public_key);
	cJSON_AddNumberToObject(o, "CREDIT_MULTIPLIER", (double)s->credit_multiplier);
	cJSON_AddBoolToObject(o, "DEV_MODE", s->dev_mode);
	http_reply_json(req, 200, o);
	cJSON_Delete(o);
}

static void handle_contact(struct http_request *req, const struct route_args *args)
{
	struct contact_message m;
	struct api_errors e;
	cJSON *body = NULL, *o;
	bool human;

	(void)args;
	if (api_throttle(req, app_db(), "contact") != 0 || http_json_body(req, &body) != 0)
		return;
	api_errors_init(&e);
	m.name = api_field_text(body, "name", true, 0, 100, false, &e);
	m.email = api_field_string(body, "email", true, 0, USER_EMAIL_MAX, &e);
	if (m.email != NULL && !api_email_valid(m.email))
		api_errors_add(&e, "email", "Enter a valid email address.");
	m.subject = api_field_text(body, "subject", true, 0, 200, false, &e);
	m.message = api_field_text(body, "message", true, 50, 5000, true, &e);
	human = api_field_bool(body, "confirmHuman", &e);
	if (!human && cJSON_GetObjectItemCaseSensitive(e.obj, "confirmHuman") == NULL)
		api_errors_add(&e, "confirmHuman", "Please confirm that you are human.");
	if (api_errors_any(&e)) {
		api_errors_reply(req, &e);
	} else if (contact_submit(app_db(), settings_get(), &m, NULL) != 0) {
		http_reply_detail(req, 503, "Could not send the message, try again.");
	} else {
		o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "success", 1);
		cJSON_AddStringToObject(o, "message", "Your message has been sent successfully.");
		http_reply_json(req, 200, o);
		cJSON_Delete(o);
	}
	api_errors_cleanup(&e);
	cJSON_Delete(body);
}

/*
 * Sign in with a Google ID token: every verification failure (bad claims,
 * provider down or slow, GOOGLE_CLIENT_ID unset) is the same 400.
 */
static void handle_google_login(struct http_request *req, const struct route_args *args)
{
	struct google_identity id;
	cJSON *body = NULL, *o;
	const cJSON *cred;
	char *profile = NULL;
	struct user u;
	size_t len;

	(void)args;
	if (api_throttle(req, app_db(), "google") != 0 || http_json_body(req, &body) != 0)
		return;
	cred = cJSON_GetObjectItemCaseSensitive(body, "credential");
	if (!cJSON_IsString(cred) || cred->valuestring[0] == '\0') {
		http_reply_detail(req, 400, "Credential not provided.");
		goto out;
	}
	if (google_verify(settings_get(), cred->valuestring, ia_now(), &id) != 0) {
		http_reply_detail(req, 400, "Failed to verify token.");
		goto out;
	}
	if (googlelogin_account(app_db(), settings_get(), &id, &u) != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
		goto out;
	}
	if (u.banned) {
		http_reply_detail(req, 403, "Account is suspended.");
		goto out;
	}
	if (accounts_profile(app_db(), &u, &profile, &len) != 0) {
		http_reply_detail(req, 503, "Service temporarily unavailable.");
		goto out;
	}
	o = cJSON_CreateObject();
	if (accounts_add_pair(o, &u) != 0) {
		http_reply_detail(req, 500, "Could not issue tokens.");
	} else {
		cJSON_AddItemToObject(o, "user", cJSON_CreateRaw(profile));
		http_reply_json(req, 200, o);
	}
	cJSON_Delete(o);
	free(profile);
out:
	cJSON_Delete(body);
}

static const struct route accounts_routes[] = {
    {"POST", "/api/v1/users/signup/", handle_signup, NULL},
    {"POST", "/api/v1/custom/token/obtain/", handle_token_obtain, NULL},
    {"POST", "/api/v1/token/obtain/", handle_token_obtain, NULL},
    {"POST", "/api/v1/token/refresh/", handle_token_refresh, NULL},
    {"POST", "/api/v1/google/login/", handle_google_login, NULL},
    {"GET", "/api/v1/user/info/", handle_user_info, NULL},
    {"POST", "/api/v1/users/add/credits/", handle_add_credits, NULL},
    {"POST", "/api/v1/users/verify/email/", handle_verify_email, NULL},
    {"POST", "/api/v1/users/verify/email/resend/", handle_verify_resend, NULL},
    {"POST", "/api/v1/users/change/password/", handle_reset_request, NULL},
    {"POST", "/api/v1/users/password/reset/confirm/", handle_reset_confirm, NULL},
    {"GET", "/api/v1/public/config/", handle_public_config, NULL},
    {"POST", "/api/v1/contact/", handle_contact, NULL},
};

int main(void)
{
	return app_run("ia-accounts", accounts_routes,
		       sizeof(accounts_routes) / sizeof(accounts_routes[0]));
}
