/*
 * Build configuration loading and validation.
 */
#include "compat.h"

#include <ctype.h>

#include <jansson.h>

#include "buf.h"
#include "buildconf.h"
#include "cl_limits.h"
#include "crypto.h"

bool
buildconf_valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= BUILDCONF_NAME_MAX || !islower((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return false;
	return true;
}

static int
load_inbound(struct buildconf *bc, json_t *inb, const char *path,
    struct cl_error *err)
{
	const char *svc;
	json_t *peers;

	json_object_foreach(inb, svc, peers) {
		struct buildconf_inbound *in;
		size_t i;
		json_t *p;

		if (bc->ninbound == BUILDCONF_MAX_SERVICES || !buildconf_valid_name(svc) ||
		    !json_is_array(peers) || json_array_size(peers) > BUILDCONF_MAX_PEERS)
			return cl_error_set(err, CL_ECONFIG, "'%s': bad inbound entry "
			    "'%.40s'", path, svc);
		in = &bc->inbound[bc->ninbound++];
		snprintf(in->service, sizeof(in->service), "%s", svc);
		json_array_foreach(peers, i, p) {
			if (!json_is_string(p) || !buildconf_valid_name(json_string_value(p)))
				return cl_error_set(err, CL_ECONFIG, "'%s': bad peer "
				    "name in inbound list of '%s'", path, svc);
			snprintf(in->peer[in->npeers++], BUILDCONF_NAME_MAX, "%s",
			    json_string_value(p));
		}
	}
	return 0;
}

int
buildconf_load(struct buildconf *bc, const char *path, struct cl_error *err)
{
	static const char *const keys[] = { "version", "attestation_root",
	    "auditors", "max_frame", "attestation_validity_seconds", "inbound",
	    NULL };
	struct buf text = BUF_INIT;
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *k, *pem;
	int rc = CL_ECONFIG;

	memset(bc, 0, sizeof(*bc));
	if (crypto_read_file(path, 1 << 20, &text, err) != 0)
		return CL_ECONFIG;
	crypto_sha256(bc->sha256, text.p, text.len);
	root = json_loadb(text.p, text.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(root)) {
		cl_error_set_at(err, CL_ECONFIG, path, jerr.line,
		    "build configuration is not a JSON object: %s", jerr.text);
		goto out;
	}
	json_object_foreach(root, k, v) {
		const char *const *a;

		for (a = keys; *a && strcmp(*a, k) != 0; a++)
			;
		if (*a == NULL) {
			cl_error_set(err, CL_ECONFIG, "'%s': unknown key '%.40s'",
			    path, k);
			goto out;
		}
	}
	if (json_integer_value(json_object_get(root, "version")) != 1) {
		cl_error_set(err, CL_ECONFIG, "'%s': unsupported version", path);
		goto out;
	}
	pem = json_string_value(json_object_get(root, "attestation_root"));
	if (pem == NULL || (bc->root_cert = crypto_cert_from_pem(pem, strlen(pem),
	    NULL)) == NULL || (bc->root = X509_get_pubkey(bc->root_cert)) == NULL) {
		cl_error_set(err, CL_ECONFIG, "'%s': 'attestation_root' is not a "
		    "PEM certificate", path);
		goto out;
	}
	v = json_object_get(root, "auditors");
	if (!json_is_object(v) || json_object_size(v) == 0 ||
	    json_object_size(v) > BUILDCONF_MAX_AUDITORS) {
		cl_error_set(err, CL_ECONFIG, "'%s': 'auditors' must list 1 to %d "
		    "auditors", path, BUILDCONF_MAX_AUDITORS);
		goto out;
	}
	{
		json_t *a;

		json_object_foreach(v, k, a) {
			struct buildconf_auditor *au = &bc->auditor[bc->nauditors];

			if (!buildconf_valid_name(k) || !json_is_string(a) ||
			    (au->key = crypto_public_from_pem(json_string_value(a),
			    json_string_length(a), NULL)) == NULL) {
				cl_error_set(err, CL_ECONFIG, "'%s': auditor '%.40s' "
				    "needs a valid name and PEM public key", path, k);
				goto out;
			}
			snprintf(au->name, sizeof(au->name), "%s", k);
			bc->nauditors++;
		}
	}
	bc->max_frame = (size_t)json_integer_value(json_object_get(root, "max_frame"));
	if (bc->max_frame < CL_FRAME_MAX_FLOOR || bc->max_frame > CL_FRAME_MAX_CEILING) {
		cl_error_set(err, CL_ECONFIG, "'%s': 'max_frame' must be %u to %u",
		    path, CL_FRAME_MAX_FLOOR, CL_FRAME_MAX_CEILING);
		goto out;
	}
	bc->validity_s = json_integer_value(json_object_get(root,
	    "attestation_validity_seconds"));
	if (bc->validity_s < 60 || bc->validity_s > 30 * 86400) {
		cl_error_set(err, CL_ECONFIG, "'%s': 'attestation_validity_seconds' "
		    "must be 60 to 2592000", path);
		goto out;
	}
	v = json_object_get(root, "inbound");
	if (v != NULL && (!json_is_object(v) || load_inbound(bc, v, path, err) != 0)) {
		cl_error_set(err, CL_ECONFIG, "'%s': 'inbound' must map services "
		    "to lists of peers", path);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	buf_release(&text);
	if (rc != 0)
		buildconf_release(bc);
	return rc;
}

void
buildconf_release(struct buildconf *bc)
{
	if (bc == NULL)
		return;
	X509_free(bc->root_cert);
	EVP_PKEY_free(bc->root);
	for (size_t i = 0; i < bc->nauditors; i++)
		EVP_PKEY_free(bc->auditor[i].key);
	memset(bc, 0, sizeof(*bc));
}

static const struct buildconf_inbound *
find_inbound(const struct buildconf *bc, const char *service)
{
	for (size_t i = 0; i < bc->ninbound; i++)
		if (strcmp(bc->inbound[i].service, service) == 0)
			return &bc->inbound[i];
	return NULL;
}

bool
buildconf_has_inbound(const struct buildconf *bc, const char *service)
{
	return find_inbound(bc, service) != NULL;
}

bool
buildconf_allows(const struct buildconf *bc, const char *service,
    const char *peer)
{
	const struct buildconf_inbound *in = find_inbound(bc, service);

	for (size_t i = 0; in != NULL && i < in->npeers; i++)
		if (strcmp(in->peer[i], peer) == 0)
			return true;
	return false;
}
