/*
 * Fuzz harness for what the worker makes of the URLs users register
 * (services/execution/exec_url.c): the scheme, the local path of a
 * file:// URL inside file_root, the allowed_hosts check, and a URL as
 * reasons show it.
 *
 * Input layout: up to three lines, URL, file_root and an allowed_hosts
 * list (a missing line is empty; a NUL byte ends everything).
 *
 * Invariants checked (violation = __builtin_trap):
 *   - a file:// path is accepted only inside file_root: it is the URL
 *     less "file://", starts with file_root (trailing slashes aside) and
 *     a '/', names something below it, and has no "." or ".."
 *     component; a refusal always says why;
 *   - a shown URL is at most EXE_URL_SHOWN bytes and never holds the
 *     "user:password" of the URL's authority, nor its query;
 *   - a host listed as itself is always allowed; a wildcard never
 *     allows an IP address.
 */
#include "compat.h"

#include "buf.h"
#include "execution.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)	do { if (!(cond)) __builtin_trap(); } while (0)

static void
check_path(const char *url, const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n > 0 && root[n - 1] == '/')
		n--;
	CHECK(path == url + 7);
	CHECK(strncmp(path, root, n) == 0 && path[n] == '/' &&
	    path[n + 1] != '\0');
	CHECK(strstr(path, "/../") == NULL && strstr(path, "/./") == NULL);
	n = strlen(path);
	CHECK(!(n >= 3 && strcmp(path + n - 3, "/..") == 0));
	CHECK(!(n >= 2 && strcmp(path + n - 2, "/.") == 0));
}

static void
check_shown(const char *url)
{
	char shown[EXE_URL_SHOWN + 1];
	const char *auth, *end, *at = NULL, *q;

	CHECK(exe_url_shown(url, shown) == shown);
	CHECK(strlen(shown) <= EXE_URL_SHOWN);
	auth = url + strspn(url, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	auth = auth > url && strncmp(auth, "://", 3) == 0 ? auth + 3 : url;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	/* a userinfo with a password: the password is never shown */
	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		if (colon != NULL && at - colon > 4) {
			char secret[64];
			size_t len = CL_MIN((size_t)(at - colon - 1),
			    sizeof(secret) - 1);

			memcpy(secret, colon + 1, len);
			secret[len] = '\0';
			if (strchr(secret, '@') == NULL &&
			    strstr(url + (at - url) + 1, secret) == NULL)
				CHECK(strstr(shown, secret) == NULL);
		}
	}
	/* a query of more than a few bytes is never shown */
	q = strchr(at != NULL ? at : url, '?');
	if (q != NULL && strlen(q) > 8 && strchr(q + 1, '?') == NULL &&
	    strstr(url, q + 1) == q + 1)
		CHECK(strstr(shown, q + 1) == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line[3] = { NULL, NULL, NULL };
	struct buf reason = BUF_INIT;
	const char *path;
	char *p;

	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	for (int i = 0; i < 3; i++) {
		line[i] = p;
		p += strcspn(p, "\n");
		if (*p == '\n')
			*p++ = '\0';
	}

	(void)exe_is_http_url(line[0]);
	path = exe_file_url_path("input", "x", line[0], line[1], &reason);
	if (path != NULL)
		check_path(line[0], line[1], path);
	else
		CHECK(reason.len > 0);
	buf_clear(&reason);
	CHECK(exe_file_url_path("input", "x", line[0], NULL, &reason) ==
	    NULL && reason.len > 0);
	check_shown(line[0]);

	if (line[2][0] != '\0' && strchr(line[2], ',') == NULL &&
	    line[2][0] != ' ' && line[2][strlen(line[2]) - 1] != ' ')
		CHECK(exe_host_listed(line[2], line[2]));
	if (exe_host_listed(line[0], line[2]) &&
	    strspn(line[0], "0123456789.") == strlen(line[0]) &&
	    line[0][0] != '\0') {
		/* an IP address is only ever allowed by name */
		bool named = false;

		for (const char *e = line[2]; *e != '\0';) {
			size_t n = strcspn(e, ",");

			while (n > 0 && *e == ' ') {
				e++;
				n--;
			}
			while (n > 0 && e[n - 1] == ' ')
				n--;
			if (n == strlen(line[0]) && strncmp(e, line[0], n) == 0)
				named = true;
			e += strcspn(e, ",");
			if (*e == ',')
				e++;
		}
		CHECK(named);
	}
	buf_release(&reason);
	free(text);
	return 0;
}
