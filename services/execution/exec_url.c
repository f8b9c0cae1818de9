/*
 * What the worker makes of the URLs users register (docs/files.md):
 * which scheme, the local path of a file:// URL inside file_root, the
 * host check of allowed_hosts, and a URL as a reason may show it.  Pure
 * string work on hostile input, fuzzed by fuzz/fuzz_url.
 */
#include "compat.h"

#include <strings.h>

#include "execution.h"

/*
 * The local path of a file:///path URL inside root; NULL (with reason)
 * for any other URL, a path outside root, or one with "." or ".."
 * components.  Users name these paths: without a root they could make
 * the worker read or create files anywhere it may.
 */
const char *
exe_file_url_path(const char *what, const char *name, const char *url,
    const char *root, struct buf *reason)
{
	char shown[EXE_URL_SHOWN + 1];
	const char *path, *p;
	size_t n;

	if (strncmp(url, "file://", 7) != 0 || url[7] != '/') {
		buf_addf(reason, "%s '%s': url '%s' is not supported "
		    "(file:///path, http:// or https:// only)", what, name,
		    exe_url_shown(url, shown));
		return NULL;
	}
	path = url + 7;
	if (root == NULL) {
		buf_addf(reason, "%s '%s': file:// urls are disabled on this "
		    "worker (no file_root)", what, name);
		return NULL;
	}
	n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		n--;
	for (p = path; p != NULL; p = strchr(p + 1, '/'))
		if (strncmp(p, "/./", 3) == 0 || strcmp(p, "/.") == 0 ||
		    strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0)
			break;
	if (p != NULL || strncmp(path, root, n) != 0 || path[n] != '/' ||
	    path[n + 1] == '\0') {
		buf_addf(reason, "%s '%s': url '%.200s' is outside this "
		    "worker's file_root", what, name, url);
		return NULL;
	}
	return path;
}

bool
exe_is_http_url(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0;
}

/*
 * url as a reason or log line may show it: without the "user:password@"
 * of its authority, a query or fragment cut to "?...", at most
 * EXE_URL_SHOWN bytes.  Returns out.
 */
const char *
exe_url_shown(const char *url, char out[EXE_URL_SHOWN + 1])
{
	size_t slen = strspn(url, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	const char *auth, *end, *host, *q;

	/* a scheme is letters, digits, '+', '.' and '-' before "://" */
	auth = slen > 0 && strncmp(url + slen, "://", 3) == 0 ?
	    url + slen + 3 : url;
	end = auth + strcspn(auth, "/?#");
	host = auth;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			host = p + 1;
	q = host + strcspn(host, "?#");
	snprintf(out, EXE_URL_SHOWN + 1, "%.*s%.*s%s", (int)(auth - url), url,
	    (int)(q - host), host, *q != '\0' ? "?..." : "");
	return out;
}

/*
 * True when host is one of list (comma-separated, case-insensitive; an
 * entry "*.example.org" matches every subdomain of example.org, not
 * example.org itself, and never an IP address).
 */
bool
exe_host_listed(const char *host, const char *list)
{
	size_t hlen = strlen(host);
	bool ip = host[0] == '[' || strspn(host, "0123456789.") == hlen;

	while (*list != '\0') {
		size_t n = strcspn(list, ",");
		const char *e = list;

		while (n > 0 && *e == ' ') {
			e++;
			n--;
		}
		while (n > 0 && e[n - 1] == ' ')
			n--;
		if (n > 2 && e[0] == '*' && e[1] == '.') {
			if (!ip && hlen > n - 1 && strncasecmp(host + hlen - (n - 1),
			    e + 1, n - 1) == 0)
				return true;
		} else if (n > 0 && n == hlen && strncasecmp(host, e, n) == 0)
			return true;
		list += strcspn(list, ",");
		if (*list == ',')
			list++;
	}
	return false;
}
