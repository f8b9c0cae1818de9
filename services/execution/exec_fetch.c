/*
 * Getting a task's files in and out (docs/files.md): an input's
 * ciphertext is fetched by its URL, its checksum checked against the cmac
 * registered with it (refused on a mismatch), and decrypted into an
 * anonymous file the sandboxed function reads; an output's plaintext is
 * encrypted under the key its owners registered and written to its URL,
 * never over an existing file, and its checksum becomes the output's
 * cmac.
 *
 * URLs:
 *  - file:///absolute/path, inside the worker's file_root (unset:
 *    file:// refused); outputs are created with O_EXCL.
 *  - http:// and https:// through libcurl, one easy handle per request
 *    (runner threads fetch at once).  An input is a GET whose body is
 *    streamed into an anonymous file, never held in memory, and refused
 *    past input_limit; any status but 2xx fails it ("GET URL: HTTP
 *    404").  An output is encrypted into an anonymous file first, then
 *    PUT from it with Content-Length and "If-None-Match: *", so a server
 *    that honours the header never overwrites a file (412: "exists
 *    already"); undoing it (the task failed later) is a best-effort
 *    DELETE.  Only the http and https protocols, no redirect followed
 *    (a 3xx fails), no proxy (the environment's *_proxy are ignored), no
 *    content decoding: the checksum pins the bytes as sent.  connect_
 *    timeout and transfer_timeout bound each request, and one slower
 *    than EXE_LOW_SPEED_BYTES a second for EXE_LOW_SPEED_SECS is cut.
 *    https always verifies the server's certificate and name, against
 *    the system's CA store or, instead, https_ca_file.
 *  - The platform's fusion: outputs, anything else: refused, saying so.
 * Both kinds of input become a seekable fd of ciphertext, checked and
 * decrypted by one function (verify_decrypt); input_limit bounds both.
 *
 * Reasons name the input or output and show a URL without its userinfo
 * and query (which may hold credentials or a pre-signed signature).
 *
 * Schemes: aes-gcm-128, aes-gcm-256 and chunked (lib/filecrypt.h); raw
 * inputs are refused (the registry defines no checksum for them yet).
 *
 * Hosts: with allowed_hosts set, an http(s) url must name one of them
 * (checked before any connection); unset, any host, and a failure's
 * reason tells a user whether a host answered: set it where workers can
 * reach what users must not (the platform's own network).
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <strings.h>

#include <linux/openat2.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "execution.h"
#include "filecrypt.h"
#include "log.h"

/* a request slower than this many bytes a second for so long is cut */
#define EXE_LOW_SPEED_BYTES	1024L
#define EXE_LOW_SPEED_SECS	30L

/* the options exe_fetch_init was given; NULL before */
static const struct exe_opts *fetch_opts;

/* The parts of crypto_info, decoded; buffers hold the key and iv. */
struct exe_key {
	struct filecrypt_key k;
	struct buf key, iv;
};

static void
exe_key_release(struct exe_key *ek)
{
	if (ek->key.cap > 0)
		OPENSSL_cleanse(ek->key.p, ek->key.cap);
	buf_release(&ek->key);
	buf_release(&ek->iv);
}

static int
parse_crypto(const char *what, const char *name, const json_t *ci,
    struct exe_key *ek, struct buf *reason)
{
	const char *schema, *key, *iv;
	enum filecrypt_scheme sch;

	memset(ek, 0, sizeof(*ek));
	buf_init(&ek->key, 0);
	buf_init(&ek->iv, 0);
	schema = json_string_value(json_object_get(ci, "schema"));
	key = json_string_value(json_object_get(ci, "key"));
	iv = json_string_value(json_object_get(ci, "iv"));
	if (schema == NULL)
		goto bad;
	if (filecrypt_scheme_parse(schema, &sch) != 0) {
		buf_addf(reason, "%s '%s': encryption scheme '%.40s' is not "
		    "supported", what, name, schema);
		return -1;
	}
	if (key == NULL || crypto_b64_decode(&ek->key, key, strlen(key)) != 0 ||
	    ek->key.len != filecrypt_keybytes(sch))
		goto bad;
	if (filecrypt_noncebytes(sch) > 0 && (iv == NULL ||
	    crypto_b64_decode(&ek->iv, iv, strlen(iv)) != 0 ||
	    ek->iv.len != filecrypt_noncebytes(sch)))
		goto bad;
	ek->k.scheme = sch;
	ek->k.key = (const uint8_t *)ek->key.p;
	ek->k.keylen = ek->key.len;
	ek->k.iv = ek->iv.len > 0 ? (const uint8_t *)ek->iv.p : NULL;
	ek->k.ivlen = ek->iv.len;
	return 0;
bad:
	buf_addf(reason, "%s '%s': malformed crypto_info", what, name);
	return -1;
}

/*
 * file:// urls
 */

/*
 * Open path (inside root, as exe_file_url_path made sure) without
 * leaving root and without following any symbolic link on the way
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): whoever may put files
 * in file_root cannot point the worker at one outside it.
 */
static int
open_beneath(const char *root, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS,
	};
	size_t n = strlen(root);
	int dfd, fd, e;

	while (n > 0 && root[n - 1] == '/')
		n--;
	if ((dfd = open(n > 0 ? root : "/", O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dfd, path + n + 1, &how, sizeof(how));
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

static const char *
open_error(int e)
{
	return e == ELOOP || e == EXDEV ? "it goes through a symbolic link "
	    "(none is followed under file_root)" : strerror(e);
}

/* Input name's ciphertext at url: a regular file within input_limit. */
static int
file_open_input(const char *name, const char *url, const char *root,
    struct buf *reason)
{
	const char *path;
	struct stat st;
	int fd;

	if ((path = exe_file_url_path("input", name, url, root, reason)) == NULL)
		return -1;
	if ((fd = open_beneath(root, path, O_RDONLY, 0)) < 0 ||
	    fstat(fd, &st) != 0) {
		buf_addf(reason, "input '%s': cannot read '%.200s': %s", name,
		    url, open_error(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_addf(reason, "input '%s': '%.200s' is not a regular file",
		    name, url);
		goto fail;
	}
	if (st.st_size > fetch_opts->input_bytes) {
		buf_addf(reason, "input '%s': '%.200s' is larger than the "
		    "input_limit (%lld bytes)", name, url,
		    (long long)fetch_opts->input_bytes);
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Write the ciphertext of output name to a new file at url (never over
 * an existing one); out_path gets its path while it exists.
 */
static int
file_store_output(const char *name, const char *url, const char *root,
    const struct filecrypt_key *k, int plain_fd,
    uint8_t sum[FILECRYPT_SUMBYTES_MAX], size_t *sumlen, char *out_path,
    size_t pathlen, struct buf *reason)
{
	const char *path;
	struct cl_error err;
	int fd, rc = -1;

	if ((path = exe_file_url_path("output", name, url, root, reason)) ==
	    NULL)
		return -1;
	if (strlen(path) >= pathlen) {
		buf_addf(reason, "output '%s': path too long", name);
		return -1;
	}
	fd = open_beneath(root, path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			buf_addf(reason, "output '%s': '%.200s' exists already "
			    "(outputs are never overwritten)", name, url);
		else
			buf_addf(reason, "output '%s': cannot create '%.200s': "
			    "%s", name, url, open_error(errno));
		return -1;
	}
	snprintf(out_path, pathlen, "%s", path);
	cl_error_clear(&err);
	if (filecrypt_encrypt(k, fd, plain_fd, sum, sumlen, &err) != 0) {
		buf_addf(reason, "output '%s': %s", name, err.message);
		goto out;
	}
	if (fsync(fd) != 0) {
		buf_addf(reason, "output '%s': cannot write '%.200s': %s", name,
		    url, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	if (rc != 0) {
		unlink(out_path);
		out_path[0] = '\0';
	}
	return rc;
}

/*
 * http:// and https:// urls
 */

/*
 * 0 when url may be reached (allowed_hosts unset, or its host listed);
 * -1 with reason otherwise.
 */
static int
http_allowed(const char *what, const char *name, const char *method,
    const char *url, const char *shown, struct buf *reason)
{
	const char *list = fetch_opts->allowed_hosts;
	CURLU *u;
	char *host = NULL;
	int rc = -1;

	if (list == NULL)
		return 0;
	if ((u = curl_url()) == NULL) {
		buf_addf(reason, "%s '%s': out of memory", what, name);
		return -1;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		buf_addf(reason, "%s '%s': %s %s: not a valid url", what, name,
		    method, shown);
	else if (!exe_host_listed(host, list))
		buf_addf(reason, "%s '%s': %s %s: host '%.100s' is not among "
		    "this worker's allowed_hosts", what, name, method, shown,
		    host);
	else
		rc = 0;
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/*
 * A handle for one request to url with what every request shares:
 * protocols, no redirects, no proxy, timeouts, certificate checks.
 * errbuf receives libcurl's message on failure.  NULL if libcurl fails.
 */
static CURL *
http_handle(const char *url, char errbuf[CURL_ERROR_SIZE])
{
	const struct exe_opts *o = fetch_opts;
	CURL *h;

	if (o == NULL)
		BUG("exe_fetch_init was not called");
	errbuf[0] = '\0';
	if ((h = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)o->connect_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->transfer_ms) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, EXE_LOW_SPEED_BYTES) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, EXE_LOW_SPEED_SECS) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "cloister-execution") !=
	    CURLE_OK)
		goto fail;
	/* the deployment's CA file replaces the system's store */
	if (o->https_ca_file != NULL &&
	    (curl_easy_setopt(h, CURLOPT_CAINFO, o->https_ca_file) !=
	    CURLE_OK || curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK))
		goto fail;
	return h;
fail:
	curl_easy_cleanup(h);
	return NULL;
}

/*
 * Add why a finished request failed to reason ("WHAT 'NAME': METHOD URL:
 * HTTP 404", or libcurl's message; without "WHAT 'NAME': " when name is
 * NULL) and return -1, or return 0 when it got a 2xx.
 */
static int
http_outcome(CURL *h, CURLcode cc, const char *what, const char *name,
    const char *method, const char *url, const char *errbuf,
    struct buf *reason)
{
	char shown[EXE_URL_SHOWN + 1];
	long status = 0;

	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK)
		status = 0;
	if ((status >= 200 && status <= 299) && cc == CURLE_OK)
		return 0;
	if (name != NULL)
		buf_addf(reason, "%s '%s': ", what, name);
	buf_addf(reason, "%s %s: ", method, exe_url_shown(url, shown));
	if (status != 0 && (status < 200 || status > 299))
		buf_addf(reason, "HTTP %ld%s", status, status >= 300 &&
		    status <= 399 ? " (redirects are not followed)" : "");
	else
		buf_adds(reason, errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(cc));
	return -1;
}

/* Where a GET's body goes: the fd, up to limit bytes. */
struct http_sink {
	int fd;
	int64_t limit, len;
	bool too_big;
	int err;	/* errno of a failed write */
};

static size_t
http_sink_write(char *p, size_t size, size_t n, void *arg)
{
	struct http_sink *g = arg;
	size_t len = size * n, off = 0;
	ssize_t w;

	if ((uint64_t)len > (uint64_t)(g->limit - g->len)) {
		g->too_big = true;
		return 0;
	}
	while (off < len) {
		w = write(g->fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			g->err = w < 0 ? errno : EIO;
			return 0;
		}
		off += (size_t)w;
	}
	g->len += (int64_t)len;
	return len;
}

/* GET input name's ciphertext at url into a fresh anonymous file. */
static int
http_open_input(const char *name, const char *url, struct buf *reason)
{
	char errbuf[CURL_ERROR_SIZE], shown[EXE_URL_SHOWN + 1];
	struct http_sink g = { .fd = -1 };
	CURLcode cc;
	CURL *h = NULL;
	int rc = -1;

	exe_url_shown(url, shown);
	if (http_allowed("input", name, "GET", url, shown, reason) != 0)
		return -1;
	g.limit = fetch_opts->input_bytes;
	if ((g.fd = exe_anon_file(name, reason)) < 0)
		return -1;
	if ((h = http_handle(url, errbuf)) == NULL ||
	    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_sink_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &g) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)g.limit) != CURLE_OK) {
		buf_addf(reason, "input '%s': GET %s: cannot set up the "
		    "request", name, shown);
		goto out;
	}
	cc = curl_easy_perform(h);
	/* a refusal's status says more than its body's size */
	if (cc != CURLE_OK && (g.too_big || cc == CURLE_FILESIZE_EXCEEDED)) {
		if (http_outcome(h, CURLE_OK, "input", name, "GET", url,
		    errbuf, reason) == 0)
			buf_addf(reason, "input '%s': GET %s: larger than the "
			    "input_limit (%lld bytes)", name, shown,
			    (long long)g.limit);
		goto out;
	}
	if (g.err != 0) {
		buf_addf(reason, "input '%s': cannot store it: %s", name,
		    strerror(g.err));
		goto out;
	}
	if (http_outcome(h, cc, "input", name, "GET", url, errbuf,
	    reason) != 0)
		goto out;
	if (lseek(g.fd, 0, SEEK_SET) != 0) {
		buf_addf(reason, "input '%s': %s", name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	if (rc != 0) {
		close(g.fd);
		return -1;
	}
	return g.fd;
}

/* Where a PUT's body comes from: the fd, from its offset. */
struct http_source {
	int fd;
	int err;	/* errno of a failed read */
};

static size_t
http_source_read(char *p, size_t size, size_t n, void *arg)
{
	struct http_source *s = arg;
	ssize_t r;

	do
		r = read(s->fd, p, size * n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		s->err = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

static int
http_source_seek(void *arg, curl_off_t off, int origin)
{
	struct http_source *s = arg;

	return lseek(s->fd, (off_t)off, origin) < 0 ? CURL_SEEKFUNC_FAIL :
	    CURL_SEEKFUNC_OK;
}

/*
 * Encrypt output name into an anonymous file, then PUT it to url with
 * "If-None-Match: *"; out_path gets url once it is stored.
 */
static int
http_store_output(const char *name, const char *url,
    const struct filecrypt_key *k, int plain_fd,
    uint8_t sum[FILECRYPT_SUMBYTES_MAX], size_t *sumlen, char *out_path,
    size_t pathlen, struct buf *reason)
{
	char errbuf[CURL_ERROR_SIZE], shown[EXE_URL_SHOWN + 1];
	struct http_source src = { .fd = -1 };
	struct curl_slist *hdr = NULL;
	struct cl_error err;
	struct stat st;
	long status = 0;
	CURLcode cc;
	CURL *h = NULL;
	int rc = -1;

	exe_url_shown(url, shown);
	if (strlen(url) >= pathlen) {
		buf_addf(reason, "output '%s': url '%s' is too long (at most "
		    "%zu bytes over http)", name, shown, pathlen - 1);
		return -1;
	}
	if (http_allowed("output", name, "PUT", url, shown, reason) != 0)
		return -1;
	if ((src.fd = exe_anon_file(name, reason)) < 0)
		return -1;
	cl_error_clear(&err);
	if (filecrypt_encrypt(k, src.fd, plain_fd, sum, sumlen, &err) != 0) {
		buf_addf(reason, "output '%s': %s", name, err.message);
		goto out;
	}
	if (fstat(src.fd, &st) != 0 || lseek(src.fd, 0, SEEK_SET) != 0) {
		buf_addf(reason, "output '%s': %s", name, strerror(errno));
		goto out;
	}
	if ((hdr = curl_slist_append(NULL, "If-None-Match: *")) == NULL ||
	    (h = http_handle(url, errbuf)) == NULL ||
	    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READFUNCTION, http_source_read) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READDATA, &src) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, http_source_seek) !=
	    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SEEKDATA, &src) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)st.st_size) != CURLE_OK) {
		buf_addf(reason, "output '%s': PUT %s: cannot set up the "
		    "request", name, shown);
		goto out;
	}
	cc = curl_easy_perform(h);
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) ==
	    CURLE_OK && status == 412) {
		buf_addf(reason, "output '%s': '%s' exists already (outputs "
		    "are never overwritten)", name, shown);
		goto out;
	}
	if (src.err != 0) {
		buf_addf(reason, "output '%s': cannot read it back: %s", name,
		    strerror(src.err));
		goto out;
	}
	if (http_outcome(h, cc, "output", name, "PUT", url, errbuf,
	    reason) != 0)
		goto out;
	snprintf(out_path, pathlen, "%s", url);
	rc = 0;
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	close(src.fd);
	return rc;
}

/* DELETE url, best effort: a failure is logged. */
static void
http_delete(const char *url)
{
	char errbuf[CURL_ERROR_SIZE], shown[EXE_URL_SHOWN + 1];
	struct buf reason = BUF_INIT;
	long status = 0;
	CURLcode cc;
	CURL *h;

	if ((h = http_handle(url, errbuf)) == NULL ||
	    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOBODY, 1L) != CURLE_OK) {
		log_warnx("cannot remove '%s': cannot set up the request",
		    exe_url_shown(url, shown));
		goto out;
	}
	cc = curl_easy_perform(h);
	/* a 404: gone already */
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK || status != 404)
		if (http_outcome(h, cc, NULL, NULL, "DELETE", url, errbuf,
		    &reason) != 0)
			log_warnx("cannot remove an output: %s", reason.p);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	buf_release(&reason);
}

/*
 * The interface (execution.h)
 */

int
exe_fetch_init(const struct exe_opts *opts, struct cl_error *err)
{
	const curl_version_info_data *v;
	CURLcode cc;
	X509 *x = NULL;
	BIO *b;

	if (opts->https_ca_file != NULL) {
		if ((b = BIO_new_file(opts->https_ca_file, "r")) != NULL) {
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			BIO_free(b);
		}
		if (x == NULL)
			return cl_error_set(err, CL_ECONFIG, "https_ca_file "
			    "'%s' is not a readable file of PEM certificates",
			    opts->https_ca_file);
		X509_free(x);
	}
	v = curl_version_info(CURLVERSION_NOW);
	/* CURLOPT_PROTOCOLS_STR came with 7.85.0 */
	if (v == NULL || v->version_num < 0x075500 ||
	    (v->features & CURL_VERSION_SSL) == 0)
		return cl_error_set(err, CL_ECONFIG, "libcurl 7.85.0 or "
		    "later, with TLS, is needed (this is %s)",
		    v != NULL ? v->version : "unknown");
	if ((cc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		return cl_error_set(err, CL_EINTERNAL, "cannot initialise "
		    "libcurl: %s", curl_easy_strerror(cc));
	fetch_opts = opts;
	return 0;
}

void
exe_fetch_fini(void)
{
	if (fetch_opts != NULL)
		curl_global_cleanup();
	fetch_opts = NULL;
}

int
exe_anon_file(const char *name, struct buf *reason)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		buf_addf(reason, "cannot create a file for '%s': %s", name,
		    strerror(errno));
	return fd;
}

/*
 * Check input name's ciphertext (in, seekable, at offset 0) against the
 * registered checksum want and decrypt it into a fresh anonymous file
 * (*out_fd, at offset 0).
 */
static int
verify_decrypt(const char *name, int in, const struct filecrypt_key *k,
    const uint8_t *want, size_t sumlen, int *out_fd, struct buf *reason)
{
	uint8_t got[FILECRYPT_SUMBYTES_MAX];
	size_t gotlen = 0;
	struct cl_error err;
	struct stat st;
	int out = -1;

	/* an aes-gcm checksum is the tag at the end: check it before the key */
	if (k->scheme != FILECRYPT_CHUNKED) {
		if (fstat(in, &st) != 0 || st.st_size < (off_t)sumlen ||
		    pread(in, got, sumlen, st.st_size - (off_t)sumlen) !=
		    (ssize_t)sumlen || CRYPTO_memcmp(got, want, sumlen) != 0) {
			buf_addf(reason, "input '%s': checksum mismatch", name);
			goto fail;
		}
	}
	if ((out = exe_anon_file(name, reason)) < 0)
		goto fail;
	cl_error_clear(&err);
	if (filecrypt_decrypt(k, out, in, NULL, 0, got, &gotlen, &err) != 0) {
		buf_addf(reason, "input '%s': %s", name, err.message);
		goto fail;
	}
	if (gotlen != sumlen || CRYPTO_memcmp(got, want, sumlen) != 0) {
		buf_addf(reason, "input '%s': checksum mismatch", name);
		goto fail;
	}
	if (lseek(out, 0, SEEK_SET) != 0) {
		buf_addf(reason, "input '%s': %s", name, strerror(errno));
		goto fail;
	}
	*out_fd = out;
	return 0;
fail:
	if (out >= 0)
		close(out);
	return -1;
}

int
exe_fetch_input(const char *name, const json_t *spec, const char *root,
    int *out_fd, struct buf *reason)
{
	const char *url, *cmac;
	uint8_t want[FILECRYPT_SUMBYTES_MAX];
	size_t sumlen;
	struct exe_key ek;
	int in = -1, rc = -1;

	*out_fd = -1;
	url = json_string_value(json_object_get(spec, "url"));
	cmac = json_string_value(json_object_get(spec, "cmac"));
	if (url == NULL || cmac == NULL) {
		buf_addf(reason, "input '%s': no url or cmac", name);
		return -1;
	}
	if (parse_crypto("input", name, json_object_get(spec, "crypto_info"),
	    &ek, reason) != 0)
		goto out;
	sumlen = filecrypt_sumbytes(ek.k.scheme);
	if (strlen(cmac) != 2 * sumlen || crypto_unhex(want, sumlen,
	    cmac) != 0) {
		buf_addf(reason, "input '%s': checksum mismatch (the "
		    "registered cmac is not a %s checksum)", name,
		    filecrypt_scheme_name(ek.k.scheme));
		goto out;
	}
	if (exe_is_http_url(url))
		in = http_open_input(name, url, reason);
	else
		in = file_open_input(name, url, root, reason);
	if (in < 0)
		goto out;
	rc = verify_decrypt(name, in, &ek.k, want, sumlen, out_fd, reason);
out:
	if (in >= 0)
		close(in);
	exe_key_release(&ek);
	return rc;
}

int
exe_store_output(const char *name, const json_t *spec, const char *root,
    int plain_fd, char out_cmac[2 * 32 + 1], char *out_path, size_t pathlen,
    struct buf *reason)
{
	const char *url;
	uint8_t sum[FILECRYPT_SUMBYTES_MAX];
	size_t sumlen = 0;
	struct exe_key ek;
	int rc = -1;

	out_path[0] = '\0';
	url = json_string_value(json_object_get(spec, "url"));
	if (url == NULL) {
		buf_addf(reason, "output '%s': no url", name);
		return -1;
	}
	if (parse_crypto("output", name, json_object_get(spec, "crypto_info"),
	    &ek, reason) != 0)
		goto out;
	if (lseek(plain_fd, 0, SEEK_SET) != 0) {
		buf_addf(reason, "output '%s': %s", name, strerror(errno));
		goto out;
	}
	if (exe_is_http_url(url))
		rc = http_store_output(name, url, &ek.k, plain_fd, sum, &sumlen,
		    out_path, pathlen, reason);
	else
		rc = file_store_output(name, url, root, &ek.k, plain_fd, sum,
		    &sumlen, out_path, pathlen, reason);
	if (rc == 0)
		crypto_hex(out_cmac, sum, sumlen);
out:
	exe_key_release(&ek);
	return rc;
}

void
exe_unstore_output(const char *path)
{
	if (path[0] == '\0')
		return;
	if (exe_is_http_url(path))
		http_delete(path);
	else if (unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove '%s'", path);
}
