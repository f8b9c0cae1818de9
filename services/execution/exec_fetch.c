/*
 * Getting a task's files in and out (docs/files.md): an input's
 * ciphertext is fetched by its URL, its checksum checked against the cmac
 * registered with it (refused on a mismatch), and decrypted into an
 * anonymous file the sandboxed function reads; an output's plaintext is
 * encrypted under the key its owners registered and written to its URL,
 * never over an existing file, and its checksum becomes the output's
 * cmac.
 *
 * URLs: file:///absolute/path only, today, inside the worker's
 * file_root (unset: file:// refused).  http(s) (libcurl) and the
 * platform's fusion: outputs are refused with a reason saying so.
 * Schemes: aes-gcm-128, aes-gcm-256 and chunked (lib/filecrypt.h); raw
 * inputs are refused (the registry defines no checksum for them yet).
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <fcntl.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "execution.h"
#include "filecrypt.h"
#include "log.h"

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
 * The local path of a file:///path URL inside root; NULL (with reason)
 * for any other URL, a path outside root, or one with "." or ".."
 * components.  Users name these paths: without a root they could make
 * the worker read or create files anywhere it may.
 */
static const char *
file_url_path(const char *what, const char *name, const char *url,
    const char *root, struct buf *reason)
{
	const char *path = url + 7, *p;
	size_t n;

	if (strncmp(url, "file://", 7) != 0 || url[7] != '/') {
		buf_addf(reason, "%s '%s': url '%.200s' is not supported "
		    "(file:///path only)", what, name, url);
		return NULL;
	}
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

int
exe_anon_file(const char *name, struct buf *reason)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		buf_addf(reason, "cannot create a file for '%s': %s", name,
		    strerror(errno));
	return fd;
}

int
exe_fetch_input(const char *name, const json_t *spec, const char *root,
    int *out_fd, struct buf *reason)
{
	const char *url, *cmac, *path;
	uint8_t want[FILECRYPT_SUMBYTES_MAX], got[FILECRYPT_SUMBYTES_MAX];
	size_t sumlen, gotlen = 0;
	struct exe_key ek;
	struct cl_error err;
	struct stat st;
	int in = -1, out = -1, rc = -1;

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
	if ((path = file_url_path("input", name, url, root, reason)) == NULL)
		goto out;
	if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(in, &st) != 0) {
		buf_addf(reason, "input '%s': cannot read '%.200s': %s", name,
		    url, strerror(errno));
		goto out;
	}
	/* an aes-gcm checksum is the tag at the end: check it before the key */
	if (ek.k.scheme != FILECRYPT_CHUNKED) {
		if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sumlen ||
		    pread(in, got, sumlen, st.st_size - (off_t)sumlen) !=
		    (ssize_t)sumlen || CRYPTO_memcmp(got, want, sumlen) != 0) {
			buf_addf(reason, "input '%s': checksum mismatch", name);
			goto out;
		}
	}
	if ((out = exe_anon_file(name, reason)) < 0)
		goto out;
	cl_error_clear(&err);
	if (filecrypt_decrypt(&ek.k, out, in, NULL, 0, got, &gotlen,
	    &err) != 0) {
		buf_addf(reason, "input '%s': %s", name, err.message);
		goto out;
	}
	if (gotlen != sumlen || CRYPTO_memcmp(got, want, sumlen) != 0) {
		buf_addf(reason, "input '%s': checksum mismatch", name);
		goto out;
	}
	if (lseek(out, 0, SEEK_SET) != 0) {
		buf_addf(reason, "input '%s': %s", name, strerror(errno));
		goto out;
	}
	*out_fd = out;
	out = -1;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	exe_key_release(&ek);
	return rc;
}

int
exe_store_output(const char *name, const json_t *spec, const char *root,
    int plain_fd, char out_cmac[2 * 32 + 1], char *out_path, size_t pathlen,
    struct buf *reason)
{
	const char *url, *path;
	uint8_t sum[FILECRYPT_SUMBYTES_MAX];
	size_t sumlen = 0;
	struct exe_key ek;
	struct cl_error err;
	int fd = -1, rc = -1;

	out_path[0] = '\0';
	url = json_string_value(json_object_get(spec, "url"));
	if (url == NULL) {
		buf_addf(reason, "output '%s': no url", name);
		return -1;
	}
	if (parse_crypto("output", name, json_object_get(spec, "crypto_info"),
	    &ek, reason) != 0)
		goto out;
	if ((path = file_url_path("output", name, url, root, reason)) ==
	    NULL)
		goto out;
	if (strlen(path) >= pathlen) {
		buf_addf(reason, "output '%s': path too long", name);
		goto out;
	}
	if (lseek(plain_fd, 0, SEEK_SET) != 0) {
		buf_addf(reason, "output '%s': %s", name, strerror(errno));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		if (errno == EEXIST)
			buf_addf(reason, "output '%s': '%.200s' exists already "
			    "(outputs are never overwritten)", name, url);
		else
			buf_addf(reason, "output '%s': cannot create '%.200s': "
			    "%s", name, url, strerror(errno));
		goto out;
	}
	snprintf(out_path, pathlen, "%s", path);
	cl_error_clear(&err);
	if (filecrypt_encrypt(&ek.k, fd, plain_fd, sum, &sumlen, &err) != 0) {
		buf_addf(reason, "output '%s': %s", name, err.message);
		goto out;
	}
	if (fsync(fd) != 0) {
		buf_addf(reason, "output '%s': cannot write '%.200s': %s", name,
		    url, strerror(errno));
		goto out;
	}
	crypto_hex(out_cmac, sum, sumlen);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && out_path[0] != '\0') {
		unlink(out_path);
		out_path[0] = '\0';
	}
	exe_key_release(&ek);
	return rc;
}

void
exe_unstore_output(const char *path)
{
	if (path[0] != '\0' && unlink(path) != 0 && errno != ENOENT)
		log_warn("cannot remove '%s'", path);
}
