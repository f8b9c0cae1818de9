/*
 * Enclave info: generation, auditor signatures, verification, lookup.
 */
#include "compat.h"

#include <jansson.h>

#include "crypto.h"
#include "enclave_info.h"

#define ENCLAVE_INFO_FILE_MAX (256 * 1024)

void
enclave_info_sig_path(char *out, size_t len, const char *path,
    const char *sigdir, const char *auditor)
{
	const char *base = strrchr(path, '/');

	if (sigdir == NULL)
		snprintf(out, len, "%s.%s.sig", path, auditor);
	else
		snprintf(out, len, "%s/%s.%s.sig", sigdir, base ? base + 1 : path,
		    auditor);
}

static int
check_signature(const struct buf *text, const char *path, const char *sigdir,
    const struct buildconf_auditor *au, struct cl_error *err)
{
	struct buf b64 = BUF_INIT, sig = BUF_INIT;
	char sp[1024];
	int rc = CL_EDENIED;

	enclave_info_sig_path(sp, sizeof(sp), path, sigdir, au->name);
	if (crypto_read_file(sp, 4096, &b64, NULL) != 0) {
		cl_error_set(err, CL_EDENIED, "enclave info '%s' lacks the "
		    "signature of auditor '%s' (no '%s')", path, au->name, sp);
		goto out;
	}
	while (b64.len > 0 && (b64.p[b64.len - 1] == '\n' || b64.p[b64.len - 1] == '\r'))
		buf_setlen(&b64, b64.len - 1);
	if (crypto_b64_decode(&sig, b64.p, b64.len) != 0 ||
	    crypto_verify(au->key, text->p, text->len, (uint8_t *)sig.p, sig.len,
	    NULL) != 0) {
		cl_error_set(err, CL_EDENIED, "signature of auditor '%s' on enclave "
		    "info '%s' does not verify", au->name, path);
		goto out;
	}
	rc = 0;
out:
	buf_release(&b64);
	buf_release(&sig);
	return rc;
}

int
enclave_info_load(struct enclave_info *ei, const char *path, const char *sigdir,
    const struct buildconf *bc, struct cl_error *err)
{
	struct buf text = BUF_INIT;
	json_error_t jerr;
	json_t *root = NULL, *svcs, *v;
	const char *name, *hex;
	uint8_t bsha[32];
	int rc;

	memset(ei, 0, sizeof(*ei));
	if ((rc = crypto_read_file(path, ENCLAVE_INFO_FILE_MAX, &text, err)) != 0)
		goto out;
	/* Signatures first: nothing unsigned is even parsed. */
	for (size_t i = 0; i < bc->nauditors; i++)
		if ((rc = check_signature(&text, path, sigdir, &bc->auditor[i], err)) != 0)
			goto out;
	rc = CL_EINVAL;
	root = json_loadb(text.p, text.len, JSON_REJECT_DUPLICATES, &jerr);
	svcs = json_object_get(root, "services");
	hex = json_string_value(json_object_get(root, "build_config_sha256"));
	if (!json_is_object(root) || json_integer_value(json_object_get(root,
	    "version")) != 1 || !json_is_object(svcs) || hex == NULL ||
	    crypto_unhex(bsha, 32, hex) != 0) {
		cl_error_set(err, CL_EINVAL, "enclave info '%s' is malformed", path);
		goto out;
	}
	if (memcmp(bsha, bc->sha256, 32) != 0) {
		cl_error_set(err, CL_EDENIED, "enclave info '%s' was made for "
		    "another build configuration", path);
		goto out;
	}
	json_object_foreach(svcs, name, v) {
		struct enclave_entry *e = &ei->entry[ei->n];

		if (ei->n == ENCLAVE_INFO_MAX || !buildconf_valid_name(name) ||
		    !json_is_string(v) ||
		    crypto_unhex(e->measurement, 32, json_string_value(v)) != 0) {
			cl_error_set(err, CL_EINVAL, "enclave info '%s': bad entry "
			    "'%.40s'", path, name);
			goto out;
		}
		snprintf(e->name, sizeof(e->name), "%s", name);
		ei->n++;
	}
	rc = 0;
out:
	json_decref(root);
	buf_release(&text);
	return rc;
}

const struct enclave_entry *
enclave_info_by_measurement(const struct enclave_info *ei,
    const uint8_t m[TEE_MEASUREMENT_BYTES])
{
	for (size_t i = 0; i < ei->n; i++)
		if (memcmp(ei->entry[i].measurement, m, TEE_MEASUREMENT_BYTES) == 0)
			return &ei->entry[i];
	return NULL;
}

const struct enclave_entry *
enclave_info_by_name(const struct enclave_info *ei, const char *name)
{
	for (size_t i = 0; i < ei->n; i++)
		if (strcmp(ei->entry[i].name, name) == 0)
			return &ei->entry[i];
	return NULL;
}

int
enclave_info_generate(const char *path, const struct buildconf *bc,
    const char *const *name, const char *const *exe, size_t n,
    struct cl_error *err)
{
	json_t *root, *svcs = json_object();
	char hex[65];
	char *text;
	int rc;

	for (size_t i = 0; i < n; i++) {
		uint8_t m[TEE_MEASUREMENT_BYTES];

		if (!buildconf_valid_name(name[i])) {
			json_decref(svcs);
			return cl_error_set(err, CL_EINVAL, "bad service name '%s'",
			    name[i]);
		}
		if (tee_sim_measure(exe[i], bc->sha256, m, err) != 0) {
			json_decref(svcs);
			return CL_EIO;
		}
		crypto_hex(hex, m, sizeof(m));
		json_object_set_new(svcs, name[i], json_string(hex));
	}
	crypto_hex(hex, bc->sha256, 32);
	root = json_pack("{s:i, s:s, s:s, s:o}", "version", 1, "tee", "sim",
	    "build_config_sha256", hex, "services", svcs);
	text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	rc = crypto_write_file(path, text, strlen(text), 0644, err);
	free(text);
	json_decref(root);
	return rc;
}

int
enclave_info_sign(const char *path, const char *auditor, EVP_PKEY *key,
    struct cl_error *err)
{
	struct buf text = BUF_INIT, sig = BUF_INIT, b64 = BUF_INIT;
	char sp[1024];
	int rc;

	if ((rc = crypto_read_file(path, ENCLAVE_INFO_FILE_MAX, &text, err)) != 0)
		goto out;
	if ((rc = crypto_sign(key, text.p, text.len, &sig, err)) != 0)
		goto out;
	crypto_b64_encode(&b64, (uint8_t *)sig.p, sig.len);
	buf_addch(&b64, '\n');
	enclave_info_sig_path(sp, sizeof(sp), path, NULL, auditor);
	rc = crypto_write_file(sp, b64.p, b64.len, 0644, err);
out:
	buf_release(&text);
	buf_release(&sig);
	buf_release(&b64);
	return rc;
}
