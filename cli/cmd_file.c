/*
 * cloister file: encrypt and decrypt files locally, before upload and
 * after download, in the formats of lib/filecrypt.h (docs/files.md).
 *
 *   cloister file keygen --scheme S KEYFILE
 *   cloister file encrypt --scheme S --key-file F [--iv HEX]
 *       [--segment-size N] [--crypto-info FILE] IN OUT
 *   cloister file crypto-info --scheme S --key-file F [--iv HEX] FILE
 *   cloister file decrypt --scheme S --key-file F [--iv HEX] [--cmac HEX]
 *       IN OUT
 *   cloister file decrypt --crypto-info FILE [--cmac HEX] IN OUT
 *
 * A key file holds the key as one line of hex, mode 0600; keygen never
 * overwrites one.  encrypt prints the checksum to register with the
 * file ("cmac HEX") and, for aes-gcm without --iv, the random iv it chose
 * ("iv HEX"), which must be registered too; --crypto-info writes the
 * registration's crypto_info object (scheme, key, iv) to a 0600 file for
 * `cloister data register-input --crypto-info @FILE`.  crypto-info
 * writes one for an output file, with a fresh random iv unless --iv.
 * decrypt writes OUT only
 * after the whole file verified (and matched --cmac when given).  No
 * network: these commands need no deployment.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>

#include <openssl/rand.h>

#include "cli.h"
#include "crypto.h"
#include "filecrypt.h"
#include "secret.h"

static const char usage_text[] =
    "usage: cloister file keygen --scheme S KEYFILE\n"
    "       cloister file encrypt --scheme S --key-file F [--iv HEX] "
    "[--segment-size N]\n"
    "           [--crypto-info FILE] IN OUT\n"
    "       cloister file crypto-info --scheme S --key-file F [--iv HEX] "
    "FILE\n"
    "       cloister file decrypt --scheme S --key-file F [--iv HEX] "
    "[--cmac HEX] IN OUT\n"
    "       cloister file decrypt --crypto-info FILE [--cmac HEX] IN OUT\n"
    "\n"
    "Schemes: aes-gcm-128, aes-gcm-256 (the whole file, 12-byte iv; the\n"
    "cmac is the GCM tag) and chunked (streaming, for large files; the\n"
    "cmac is the SHA-256 of the encrypted file).\n"
    "\n"
    "  keygen      write a new random key, as hex, to KEYFILE (mode 0600)\n"
    "  encrypt     encrypt IN into OUT and print the cmac to register;\n"
    "              for aes-gcm without --iv a random iv is chosen and\n"
    "              printed (register it with the file; never reuse one);\n"
    "              --crypto-info FILE writes what to register with it\n"
    "  crypto-info write the crypto_info JSON to register an output file\n"
    "              with (a fresh random iv for aes-gcm unless --iv)\n"
    "  decrypt     decrypt IN into OUT, written only once the whole file\n"
    "              verified; --cmac refuses a file with another checksum\n";

struct file_opts {
	enum filecrypt_scheme scheme;
	bool have_scheme;
	const char *key_file, *iv_hex, *cmac_hex, *info_file;
	size_t segbytes;
	const char *arg[2];
	size_t narg;
};

static int
parse(struct file_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] == '-' && a[1] != '\0' && i + 1 >= argc) {
			cli_error("option '%s' needs a value", a);
			return -1;
		}
		if (strcmp(a, "--scheme") == 0) {
			if (filecrypt_scheme_parse(argv[++i], &o->scheme) != 0) {
				cli_error("unknown scheme '%s' (aes-gcm-128, "
				    "aes-gcm-256, chunked)", argv[i]);
				return -1;
			}
			o->have_scheme = true;
		} else if (strcmp(a, "--key-file") == 0) {
			o->key_file = argv[++i];
		} else if (strcmp(a, "--iv") == 0) {
			o->iv_hex = argv[++i];
		} else if (strcmp(a, "--crypto-info") == 0) {
			o->info_file = argv[++i];
		} else if (strcmp(a, "--cmac") == 0) {
			o->cmac_hex = argv[++i];
		} else if (strcmp(a, "--segment-size") == 0) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' ||
			    v < FILECRYPT_CHUNKED_SEGBYTES_MIN ||
			    v > FILECRYPT_CHUNKED_SEGBYTES_MAX) {
				cli_error("--segment-size needs bytes (%d to %d), "
				    "not '%s'", FILECRYPT_CHUNKED_SEGBYTES_MIN,
				    FILECRYPT_CHUNKED_SEGBYTES_MAX, argv[i]);
				return -1;
			}
			o->segbytes = (size_t)v;
		} else if (a[0] == '-' && a[1] != '\0') {
			cli_error("unknown option '%s'", a);
			return -1;
		} else if (o->narg < CL_ARRAY_SIZE(o->arg)) {
			o->arg[o->narg++] = a;
		} else {
			cli_error("unexpected argument '%s'", a);
			return -1;
		}
	}
	if (!o->have_scheme && !(strcmp(argv[1], "decrypt") == 0 &&
	    o->info_file != NULL)) {
		cli_error("--scheme is required (aes-gcm-128, aes-gcm-256, "
		    "chunked)");
		return -1;
	}
	return 0;
}

static int
keygen(const struct file_opts *o)
{
	uint8_t key[FILECRYPT_SUMBYTES_MAX];
	char hex[2 * sizeof(key) + 2];
	size_t n = filecrypt_keybytes(o->scheme);
	struct cl_error err;
	struct stat st;
	int rc = 1;

	if (o->narg != 1 || o->key_file != NULL || o->iv_hex != NULL ||
	    o->cmac_hex != NULL || o->info_file != NULL) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (lstat(o->arg[0], &st) == 0) {
		cli_error("'%s' already exists: keygen never overwrites a key",
		    o->arg[0]);
		return 1;
	}
	cl_error_clear(&err);
	if (RAND_bytes(key, (int)n) != 1) {
		cli_error("the random generator failed");
		return 1;
	}
	crypto_hex(hex, key, n);
	hex[2 * n] = '\n';
	if (crypto_write_file(o->arg[0], hex, 2 * n + 1, 0600, &err) != 0)
		cli_error("%s", err.message);
	else
		rc = 0;
	secret_wipe(key, sizeof(key));
	secret_wipe(hex, sizeof(hex));
	return rc;
}

/* Read a hex key of exactly n bytes from path into key. */
static int
read_key(const char *path, uint8_t *key, size_t n)
{
	struct buf text = BUF_INIT;
	struct cl_error err;
	struct stat st;
	int rc = -1;

	cl_error_clear(&err);
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		cli_error("key file '%s' is readable by others (chmod 600)",
		    path);
		return -1;
	}
	if (crypto_read_file(path, 4096, &text, &err) != 0) {
		cli_error("%s", err.message);
		return -1;
	}
	while (text.len > 0 && (text.p[text.len - 1] == '\n' ||
	    text.p[text.len - 1] == '\r' || text.p[text.len - 1] == ' '))
		text.p[--text.len] = '\0';
	if (crypto_unhex(key, n, text.p) != 0)
		cli_error("key file '%s' must hold %zu bytes as hex (%zu "
		    "characters)", path, n, 2 * n);
	else
		rc = 0;
	secret_wipe(text.p, text.len);
	buf_release(&text);
	return rc;
}

/*
 * Read a crypto_info file (as write_crypto_info makes) into k, whose key
 * and iv point into key and iv.
 */
static int
read_crypto_info(const char *path, struct filecrypt_key *k, uint8_t *key,
    uint8_t *iv)
{
	struct buf text = BUF_INIT, kb = BUF_INIT, ib = BUF_INIT;
	struct cl_error err;
	const char *schema, *k64, *i64;
	json_t *info = NULL;
	int rc = -1;

	cl_error_clear(&err);
	if (crypto_read_file(path, 4096, &text, &err) != 0) {
		cli_error("%s", err.message);
		return -1;
	}
	info = json_loadb(text.p, text.len, JSON_REJECT_DUPLICATES, NULL);
	schema = json_string_value(json_object_get(info, "schema"));
	k64 = json_string_value(json_object_get(info, "key"));
	i64 = json_string_value(json_object_get(info, "iv"));
	if (schema == NULL || filecrypt_scheme_parse(schema, &k->scheme) != 0 ||
	    k64 == NULL || crypto_b64_decode(&kb, k64, strlen(k64)) != 0 ||
	    kb.len != filecrypt_keybytes(k->scheme) ||
	    (filecrypt_noncebytes(k->scheme) > 0 && (i64 == NULL ||
	    crypto_b64_decode(&ib, i64, strlen(i64)) != 0 ||
	    ib.len != filecrypt_noncebytes(k->scheme)))) {
		cli_error("'%s' is not a crypto_info file ({\"schema\", "
		    "\"key\", \"iv\"}, as 'cloister file crypto-info' "
		    "writes)", path);
		goto out;
	}
	memcpy(key, kb.p, kb.len);
	k->key = key;
	k->keylen = kb.len;
	if (ib.len > 0)
		memcpy(iv, ib.p, ib.len);
	k->iv = ib.len > 0 ? iv : NULL;
	k->ivlen = ib.len;
	rc = 0;
out:
	secret_wipe(text.p, text.len);
	secret_wipe(kb.p, kb.len);
	buf_release(&text);
	buf_release(&kb);
	buf_release(&ib);
	json_decref(info);
	return rc;
}

/*
 * Write the crypto_info a file is registered with: its scheme, key and
 * iv, base64, as the management protocol wants them (mode 0600: it holds
 * the key).
 */
static int
write_crypto_info(const char *path, const struct filecrypt_key *k)
{
	struct buf key = BUF_INIT, iv = BUF_INIT;
	struct cl_error err;
	json_t *info;
	char *text = NULL;
	int rc = -1;

	crypto_b64_encode(&key, k->key, k->keylen);
	info = json_pack("{s:s, s:s}", "schema", filecrypt_scheme_name(
	    k->scheme), "key", key.p);
	if (k->ivlen > 0) {
		crypto_b64_encode(&iv, k->iv, k->ivlen);
		json_object_set_new(info, "iv", json_string(iv.p));
	}
	cl_error_clear(&err);
	if (info == NULL || (text = json_dumps(info, JSON_COMPACT)) == NULL)
		cli_error("out of memory");
	else if (crypto_write_file(path, text, strlen(text), 0600, &err) != 0)
		cli_error("%s", err.message);
	else
		rc = 0;
	if (text != NULL) {
		secret_wipe(text, strlen(text));
		free(text);
	}
	json_decref(info);
	secret_wipe(key.p, key.len);
	buf_release(&key);
	buf_release(&iv);
	return rc;
}

/*
 * The key of an encryption or decryption, into k (pointing into key and
 * iv): from a crypto_info file (decrypt --crypto-info), or from
 * --scheme, --key-file and --iv, with a random iv for an aes-gcm
 * encryption without one (*iv_chosen).  0, or the exit status.
 */
static int
load_key(const struct file_opts *o, bool enc, struct filecrypt_key *k,
    uint8_t *key, uint8_t *iv, bool *iv_chosen)
{
	size_t ivlen = filecrypt_noncebytes(o->scheme);

	*iv_chosen = false;
	if (!enc && o->info_file != NULL) {
		if (o->key_file != NULL || o->iv_hex != NULL) {
			cli_error("--crypto-info holds the key and iv: no "
			    "--key-file or --iv with it");
			return 2;
		}
		if (read_crypto_info(o->info_file, k, key, iv) != 0)
			return 1;
		if (o->have_scheme && o->scheme != k->scheme) {
			cli_error("'%s' is for scheme '%s', not '%s'",
			    o->info_file, filecrypt_scheme_name(k->scheme),
			    filecrypt_scheme_name(o->scheme));
			return 1;
		}
		return 0;
	}
	if (o->key_file == NULL) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (ivlen == 0 && o->iv_hex != NULL) {
		cli_error("scheme '%s' takes no --iv",
		    filecrypt_scheme_name(o->scheme));
		return 2;
	}
	if (o->segbytes != 0 && o->scheme != FILECRYPT_CHUNKED) {
		cli_error("--segment-size is for the chunked scheme");
		return 2;
	}
	if (ivlen > 0 && o->iv_hex != NULL &&
	    crypto_unhex(iv, ivlen, o->iv_hex) != 0) {
		cli_error("--iv needs %zu bytes as hex, not '%s'", ivlen,
		    o->iv_hex);
		return 2;
	}
	if (ivlen > 0 && o->iv_hex == NULL) {
		if (!enc) {
			cli_error("scheme '%s' needs the file's --iv",
			    filecrypt_scheme_name(o->scheme));
			return 2;
		}
		if (RAND_bytes(iv, (int)ivlen) != 1) {
			cli_error("the random generator failed");
			return 1;
		}
		*iv_chosen = true;
	}
	k->scheme = o->scheme;
	k->key = key;
	k->keylen = filecrypt_keybytes(o->scheme);
	k->iv = ivlen > 0 ? iv : NULL;
	k->ivlen = ivlen;
	k->segbytes = o->segbytes;
	return read_key(o->key_file, key, k->keylen) == 0 ? 0 : 1;
}

static int
file_crypt(const struct file_opts *o, bool enc, bool info_only)
{
	uint8_t key[FILECRYPT_SUMBYTES_MAX], iv[FILECRYPT_AESGCM_NONCEBYTES];
	uint8_t sum[FILECRYPT_SUMBYTES_MAX], expect[FILECRYPT_SUMBYTES_MAX];
	char hex[2 * FILECRYPT_SUMBYTES_MAX + 1];
	struct filecrypt_key k = { 0 };
	size_t sumlen;
	bool iv_chosen;
	struct cl_error err;
	int rc;

	if (o->narg != (info_only ? 1 : 2) || (enc && o->cmac_hex != NULL) ||
	    (!enc && o->segbytes != 0)) {
		fputs(usage_text, stderr);
		return 2;
	}
	if ((rc = load_key(o, enc, &k, key, iv, &iv_chosen)) != 0)
		goto done;
	rc = 1;
	if (info_only) {
		rc = write_crypto_info(o->arg[0], &k) == 0 ? 0 : 1;
		goto done;
	}
	if (o->cmac_hex != NULL && crypto_unhex(expect,
	    filecrypt_sumbytes(k.scheme), o->cmac_hex) != 0) {
		cli_error("--cmac needs %zu bytes as hex for '%s', not '%s'",
		    filecrypt_sumbytes(k.scheme),
		    filecrypt_scheme_name(k.scheme), o->cmac_hex);
		rc = 2;
		goto done;
	}
	cl_error_clear(&err);
	if (enc ? filecrypt_encrypt_path(&k, o->arg[1], o->arg[0], sum, &sumlen,
	    &err) : filecrypt_decrypt_path(&k, o->arg[1], o->arg[0],
	    o->cmac_hex ? expect : NULL, o->cmac_hex ?
	    filecrypt_sumbytes(k.scheme) : 0, sum, &sumlen, &err)) {
		cli_error("cannot %s %s", enc ? "encrypt" : "decrypt",
		    err.message);
		goto done;
	}
	crypto_hex(hex, sum, sumlen);
	printf("cmac %s\n", hex);
	if (iv_chosen) {
		crypto_hex(hex, iv, k.ivlen);
		printf("iv %s\n", hex);
	}
	if (o->info_file != NULL && enc &&
	    write_crypto_info(o->info_file, &k) != 0)
		goto done;
	rc = 0;
done:
	secret_wipe(key, sizeof(key));
	return rc;
}

int
cmd_file(int argc, char **argv)
{
	struct file_opts o;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "keygen") != 0 && strcmp(argv[1], "encrypt") != 0 &&
	    strcmp(argv[1], "decrypt") != 0 &&
	    strcmp(argv[1], "crypto-info") != 0) {
		cli_error("unknown 'file' command '%s'", argv[1]);
		return 2;
	}
	if (parse(&o, argc, argv) != 0)
		return 2;
	if (strcmp(argv[1], "keygen") == 0)
		return keygen(&o);
	if (strcmp(argv[1], "crypto-info") == 0)
		return file_crypt(&o, true, true);
	return file_crypt(&o, strcmp(argv[1], "encrypt") == 0, false);
}
