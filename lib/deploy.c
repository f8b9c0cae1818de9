/*
 * Deployment directories: development keys, build configuration and
 * signed enclave info.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509v3.h>

#include "buildconf.h"
#include "cl_limits.h"
#include "crypto.h"
#include "deploy.h"
#include "enclave_info.h"

const struct deploy_inbound deploy_default_inbound[] = {
	{ "authentication", "frontend" },
	{ "management", "frontend" },
	{ "storage", "management,scheduler" },
	{ "access_control", "frontend,management" },
	{ "scheduler", "execution" },
	{ "echo", "frontend" },
};
const size_t deploy_default_ninbound = CL_ARRAY_SIZE(deploy_default_inbound);

#define DEFAULT_VALIDITY_S 3600

void
deploy_path(char *out, size_t len, const char *dir, const char *file)
{
	snprintf(out, len, "%s/%s", dir, file);
}

/* Self-signed CA certificate for the attestation authority. */
static X509 *
authority_cert(EVP_PKEY *key)
{
	X509 *cert = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	bool ok;

	ok = cert != NULL && n != NULL &&
	    X509_set_version(cert, X509_VERSION_3) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)time(NULL)) == 1 &&
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Cloister", -1, -1, 0) == 1 &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Cloister sim attestation authority", -1, -1,
	    0) == 1 &&
	    X509_set_subject_name(cert, n) == 1 &&
	    X509_set_issuer_name(cert, n) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(cert), -60) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 86400) != NULL &&
	    X509_set_pubkey(cert, key) == 1;
	if (ok) {
		X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
		    "critical,CA:TRUE");
		ok = ext != NULL && X509_add_ext(cert, ext, -1) == 1;
		X509_EXTENSION_free(ext);
	}
	ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
	X509_NAME_free(n);
	if (!ok) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

static json_t *
inbound_json(const struct deploy_inbound *inbound, size_t ninbound)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < deploy_default_ninbound + ninbound; i++) {
		const struct deploy_inbound *in = i < deploy_default_ninbound ?
		    &deploy_default_inbound[i] :
		    &inbound[i - deploy_default_ninbound];
		json_t *arr = json_array();
		char *copy = strdup(in->peers), *save = NULL, *p;

		for (p = strtok_r(copy, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save))
			json_array_append_new(arr, json_string(p));
		free(copy);
		json_object_set_new(obj, in->service, arr);	/* later wins */
	}
	return obj;
}

int
deploy_init(const char *dir, const char *const *auditors, size_t nauditors,
    const struct deploy_inbound *inbound, size_t ninbound, struct cl_error *err)
{
	static const char *const default_auditors[] = { "auditor1", "auditor2" };
	char path[1024];
	struct buf pem = BUF_INIT;
	EVP_PKEY *authority = NULL;
	X509 *cert = NULL;
	json_t *root = NULL, *aud = json_object();
	char *text = NULL;
	struct stat st;
	int rc = CL_EINTERNAL;

	if (nauditors == 0) {
		auditors = default_auditors;
		nauditors = CL_ARRAY_SIZE(default_auditors);
	}
	for (size_t i = 0; i < nauditors; i++)
		if (!buildconf_valid_name(auditors[i])) {
			rc = cl_error_set(err, CL_EINVAL, "bad auditor name '%s'",
			    auditors[i]);
			goto out;
		}
	for (size_t i = 0; i < ninbound; i++)
		if (!buildconf_valid_name(inbound[i].service)) {
			rc = cl_error_set(err, CL_EINVAL, "bad service name '%s'",
			    inbound[i].service);
			goto out;
		}
	deploy_path(path, sizeof(path), dir, DEPLOY_BUILD_CONFIG);
	if (stat(path, &st) == 0) {
		rc = cl_error_set(err, CL_EEXIST, "'%s' exists: this directory is "
		    "already initialised", path);
		goto out;
	}
	mkdir(dir, 0755);
	deploy_path(path, sizeof(path), dir, "keys");
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		rc = cl_error_set(err, CL_EIO, "cannot create '%s': %s", path,
		    strerror(errno));
		goto out;
	}

	if ((authority = crypto_ec_keygen()) == NULL ||
	    (cert = authority_cert(authority)) == NULL) {
		rc = cl_error_set(err, CL_EINTERNAL, "cannot make the attestation "
		    "authority");
		goto out;
	}
	deploy_path(path, sizeof(path), dir, DEPLOY_AUTHORITY_KEY);
	if ((rc = crypto_write_private_pem(path, authority, err)) != 0)
		goto out;
	if ((rc = crypto_cert_pem(cert, &pem)) != 0)
		goto out;
	deploy_path(path, sizeof(path), dir, DEPLOY_AUTHORITY_CERT);
	if ((rc = crypto_write_file(path, pem.p, pem.len, 0644, err)) != 0)
		goto out;

	for (size_t i = 0; i < nauditors; i++) {
		EVP_PKEY *k = crypto_ed25519_keygen();
		struct buf pub = BUF_INIT;
		char kp[1024];

		snprintf(kp, sizeof(kp), "%s/keys/auditor-%s.key", dir, auditors[i]);
		if (k == NULL || (rc = crypto_write_private_pem(kp, k, err)) != 0 ||
		    (rc = crypto_public_pem(k, &pub)) != 0) {
			EVP_PKEY_free(k);
			buf_release(&pub);
			if (rc == 0)
				rc = cl_error_set(err, CL_EINTERNAL, "cannot make "
				    "auditor key");
			goto out;
		}
		json_object_set_new(aud, auditors[i], json_string(pub.p));
		EVP_PKEY_free(k);
		buf_release(&pub);
	}
	root = json_pack("{s:i, s:s, s:O, s:I, s:I, s:o}", "version", 1,
	    "attestation_root", pem.p, "auditors", aud, "max_frame",
	    (json_int_t)CL_FRAME_MAX_DEFAULT, "attestation_validity_seconds",
	    (json_int_t)DEFAULT_VALIDITY_S, "inbound",
	    inbound_json(inbound, ninbound));
	text = json_dumps(root, JSON_INDENT(2));
	deploy_path(path, sizeof(path), dir, DEPLOY_BUILD_CONFIG);
	rc = crypto_write_file(path, text, strlen(text), 0644, err);
out:
	free(text);
	json_decref(root);
	json_decref(aud);
	buf_release(&pem);
	X509_free(cert);
	EVP_PKEY_free(authority);
	return rc;
}

int
deploy_enclave_info(const char *dir, const char *const *name,
    const char *const *exe, size_t n, struct cl_error *err)
{
	struct buildconf bc;
	char path[1024], kdir[1024];
	struct dirent *de;
	DIR *d;
	int rc, nsig = 0;

	deploy_path(path, sizeof(path), dir, DEPLOY_BUILD_CONFIG);
	if ((rc = buildconf_load(&bc, path, err)) != 0)
		return rc;
	deploy_path(path, sizeof(path), dir, DEPLOY_ENCLAVE_INFO);
	if ((rc = enclave_info_generate(path, &bc, name, exe, n, err)) != 0)
		goto out;
	deploy_path(kdir, sizeof(kdir), dir, "keys");
	if ((d = opendir(kdir)) == NULL) {
		rc = cl_error_set(err, CL_EIO, "cannot open '%s': %s", kdir,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char auditor[64], kp[1300];
		size_t len = strlen(de->d_name);
		EVP_PKEY *k;

		if (strncmp(de->d_name, "auditor-", 8) != 0 || len < 13 ||
		    strcmp(de->d_name + len - 4, ".key") != 0 ||
		    len - 12 >= sizeof(auditor))
			continue;
		memcpy(auditor, de->d_name + 8, len - 12);
		auditor[len - 12] = '\0';
		snprintf(kp, sizeof(kp), "%s/%s", kdir, de->d_name);
		if ((k = crypto_read_private_pem(kp, err)) == NULL) {
			rc = CL_EIO;
			break;
		}
		rc = enclave_info_sign(path, auditor, k, err);
		EVP_PKEY_free(k);
		if (rc != 0)
			break;
		nsig++;
	}
	closedir(d);
	if (rc == 0 && nsig == 0)
		rc = cl_error_set(err, CL_ENOTFOUND, "no auditor keys in '%s'", kdir);
out:
	buildconf_release(&bc);
	return rc == 0 ? nsig : rc;
}
