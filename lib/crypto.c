/*
 * OpenSSL wrappers: hashing, keys, signatures, PEM and small files.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "tls.h"

void
crypto_sha256(uint8_t out[CRYPTO_SHA256_BYTES], const void *p, size_t len)
{
	if (EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL) != 1)
		BUG("SHA-256 failed");
}

int
crypto_sha256_file(uint8_t out[CRYPTO_SHA256_BYTES], const char *path,
    struct cl_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char chunk[65536];
	ssize_t n;
	int fd;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		BUG("SHA-256 init failed");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		EVP_MD_CTX_free(md);
		return cl_error_set(err, CL_EIO, "cannot open '%s': %s", path,
		    strerror(errno));
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			EVP_MD_CTX_free(md);
			return cl_error_set(err, CL_EIO, "cannot read '%s': %s",
			    path, strerror(e));
		}
		EVP_DigestUpdate(md, chunk, (size_t)n);
	}
	close(fd);
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	return 0;
}

void
crypto_hex(char *out, const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
crypto_unhex(uint8_t *out, size_t len, const char *hex)
{
	if (strlen(hex) != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

EVP_PKEY *
crypto_ec_keygen(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

EVP_PKEY *
crypto_ed25519_keygen(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static const EVP_MD *
sig_md(EVP_PKEY *key)
{
	/* Ed25519 signs the message itself; EC keys sign its SHA-256. */
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

int
crypto_sign(EVP_PKEY *key, const void *p, size_t len, struct buf *sig,
    struct cl_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t slen = 0;
	char ebuf[256];
	int rc = 0;

	if (md == NULL || EVP_DigestSignInit(md, NULL, sig_md(key), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &slen, p, len) != 1) {
		rc = cl_error_set(err, CL_EINTERNAL, "cannot sign: %s",
		    tls_error_string(ebuf, sizeof(ebuf)));
		goto out;
	}
	buf_grow(sig, slen);
	if (EVP_DigestSign(md, (unsigned char *)sig->p + sig->len, &slen, p,
	    len) != 1) {
		rc = cl_error_set(err, CL_EINTERNAL, "cannot sign: %s",
		    tls_error_string(ebuf, sizeof(ebuf)));
		goto out;
	}
	buf_setlen(sig, sig->len + slen);
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
crypto_verify(EVP_PKEY *key, const void *p, size_t len, const uint8_t *sig,
    size_t siglen, struct cl_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md != NULL && EVP_DigestVerifyInit(md, NULL, sig_md(key), NULL,
	    key) == 1 && EVP_DigestVerify(md, sig, siglen, p, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
		return cl_error_set(err, CL_EDENIED, "signature does not verify");
	return 0;
}

int
crypto_spki_der(EVP_PKEY *key, struct buf *out)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);

	if (n <= 0)
		return CL_EINTERNAL;
	buf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

int
crypto_spki_sha256(EVP_PKEY *key, uint8_t out[CRYPTO_SHA256_BYTES])
{
	struct buf der = BUF_INIT;
	int rc = crypto_spki_der(key, &der);

	if (rc == 0)
		crypto_sha256(out, der.p, der.len);
	buf_release(&der);
	return rc;
}

int
crypto_read_file(const char *path, size_t max, struct buf *out,
    struct cl_error *err)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cl_error_set(err, CL_EIO, "cannot open '%s': %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		close(fd);
		return cl_error_set(err, CL_EIO, "'%s' is not a regular file of "
		    "at most %zu bytes", path, max);
	}
	buf_clear(out);
	for (;;) {
		buf_grow(out, 4096);
		n = read(fd, out->p + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_setlen(out, out->len + (size_t)n);
		if (out->len > max)
			break;
	}
	close(fd);
	if (n < 0)
		return cl_error_set(err, CL_EIO, "cannot read '%s': %s", path,
		    strerror(errno));
	if (out->len > max)
		return cl_error_set(err, CL_EIO, "'%s' grew beyond %zu bytes",
		    path, max);
	return 0;
}

int
crypto_write_file(const char *path, const void *p, size_t len, int mode,
    struct cl_error *err)
{
	struct buf tmp = BUF_INIT;
	const char *s = p;
	int fd, rc = 0;

	buf_addf(&tmp, "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0) {
		rc = cl_error_set(err, CL_EIO, "cannot create '%s': %s", tmp.p,
		    strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = cl_error_set(err, CL_EIO, "cannot write '%s': %s",
			    tmp.p, strerror(errno));
			break;
		}
		s += n;
		len -= (size_t)n;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = cl_error_set(err, CL_EIO, "cannot sync '%s': %s", tmp.p,
		    strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp.p, path) != 0)
		rc = cl_error_set(err, CL_EIO, "cannot rename to '%s': %s", path,
		    strerror(errno));
	if (rc != 0)
		unlink(tmp.p);
out:
	buf_release(&tmp);
	return rc;
}

int
crypto_write_private_pem(const char *path, EVP_PKEY *key, struct cl_error *err)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc, fd;

	/* never overwrite a key: O_EXCL on a placeholder first */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		BIO_free(mem);
		return cl_error_set(err, CL_EIO, "cannot create key file '%s': %s",
		    path, strerror(errno));
	}
	close(fd);
	if (mem == NULL || PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0,
	    NULL, NULL) != 1) {
		BIO_free(mem);
		unlink(path);
		return cl_error_set(err, CL_EINTERNAL, "cannot encode key");
	}
	n = BIO_get_mem_data(mem, &p);
	rc = crypto_write_file(path, p, (size_t)n, 0600, err);
	OPENSSL_cleanse(p, (size_t)n);
	BIO_free(mem);
	if (rc != 0)
		unlink(path);
	return rc;
}

EVP_PKEY *
crypto_read_private_pem(const char *path, struct cl_error *err)
{
	struct buf text = BUF_INIT;
	EVP_PKEY *key = NULL;
	struct stat st;
	BIO *mem;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		cl_error_set(err, CL_EDENIED, "private key '%s' is readable by "
		    "others (chmod 600)", path);
		return NULL;
	}
	if (crypto_read_file(path, 64 * 1024, &text, err) != 0)
		return NULL;
	mem = BIO_new_mem_buf(text.p, (int)text.len);
	if (mem != NULL)
		key = PEM_read_bio_PrivateKey(mem, NULL, NULL, NULL);
	BIO_free(mem);
	OPENSSL_cleanse(text.p, text.len);
	buf_release(&text);
	ERR_clear_error();
	if (key == NULL)
		cl_error_set(err, CL_EINVAL, "'%s' holds no PEM private key", path);
	return key;
}

EVP_PKEY *
crypto_public_from_pem(const char *pem, size_t len, struct cl_error *err)
{
	BIO *mem = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = mem ? PEM_read_bio_PUBKEY(mem, NULL, NULL, NULL) : NULL;

	BIO_free(mem);
	ERR_clear_error();
	if (key == NULL)
		cl_error_set(err, CL_EINVAL, "not a PEM public key");
	return key;
}

/* Append what a PEM writer writes for obj to out. */
static int
pem_to_buf(int (*write)(BIO *, const void *), const void *obj, struct buf *out)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (mem == NULL || write(mem, obj) != 1) {
		BIO_free(mem);
		return CL_EINTERNAL;
	}
	n = BIO_get_mem_data(mem, &p);
	buf_add(out, p, (size_t)n);
	BIO_free(mem);
	return 0;
}

static int
write_pubkey(BIO *b, const void *key)
{
	return PEM_write_bio_PUBKEY(b, (EVP_PKEY *)(uintptr_t)key);
}

static int
write_cert(BIO *b, const void *cert)
{
	return PEM_write_bio_X509(b, (X509 *)(uintptr_t)cert);
}

int
crypto_public_pem(EVP_PKEY *key, struct buf *out)
{
	return pem_to_buf(write_pubkey, key, out);
}

X509 *
crypto_cert_from_pem(const char *pem, size_t len, struct cl_error *err)
{
	BIO *mem = BIO_new_mem_buf(pem, (int)len);
	X509 *cert = mem ? PEM_read_bio_X509(mem, NULL, NULL, NULL) : NULL;

	BIO_free(mem);
	ERR_clear_error();
	if (cert == NULL)
		cl_error_set(err, CL_EINVAL, "not a PEM certificate");
	return cert;
}

int
crypto_cert_pem(X509 *cert, struct buf *out)
{
	return pem_to_buf(write_cert, cert, out);
}

void
crypto_b64_encode(struct buf *out, const uint8_t *p, size_t len)
{
	size_t n = 4 * ((len + 2) / 3);

	buf_grow(out, n);
	EVP_EncodeBlock((unsigned char *)out->p + out->len, p, (int)len);
	buf_setlen(out, out->len + n);
}

int
crypto_b64_decode(struct buf *out, const char *s, size_t len)
{
	size_t pad = 0;
	int n;

	if (len % 4 != 0 || len > INT_MAX)
		return CL_EINVAL;
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	buf_grow(out, len / 4 * 3);
	n = EVP_DecodeBlock((unsigned char *)out->p + out->len,
	    (const unsigned char *)s, (int)len);
	if (n < 0)
		return CL_EINVAL;
	buf_setlen(out, out->len + (size_t)n - pad);
	return 0;
}
