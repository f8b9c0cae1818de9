/*
 * cloister dev: development deployments.
 *
 *   cloister dev init DIR [--auditor NAME]... [--inbound SERVICE=PEER[,PEER]]...
 */
#include "compat.h"

#include "cli.h"
#include "deploy.h"

static const char usage_text[] =
    "usage: cloister dev init DIR [--auditor NAME]... "
    "[--inbound SERVICE=PEER[,PEER]]...\n"
    "\n"
    "Make development keys for every role in DIR/keys (the sim attestation\n"
    "authority, whose certificate becomes the trust root, and the auditors)\n"
    "and the build configuration DIR/build.json.\n"
    "\n"
    "  --auditor NAME    an auditor (repeatable; default: auditor1, auditor2)\n"
    "  --inbound S=P,..  peers admitted on service S's internal endpoint,\n"
    "                    replacing the platform default for S (repeatable)\n";

int
cmd_dev(int argc, char **argv)
{
	const char *auditors[16], *dir = NULL;
	struct deploy_inbound inbound[16];
	char spec[16][256];
	size_t nauditors = 0, ninbound = 0;
	struct cl_error err;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "init") != 0) {
		cli_error("unknown 'dev' command '%s'", argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--auditor") == 0 && i + 1 < argc &&
		    nauditors < CL_ARRAY_SIZE(auditors)) {
			auditors[nauditors++] = argv[++i];
		} else if (strcmp(argv[i], "--inbound") == 0 && i + 1 < argc &&
		    ninbound < CL_ARRAY_SIZE(inbound)) {
			char *eq;

			snprintf(spec[ninbound], sizeof(spec[0]), "%s", argv[++i]);
			if ((eq = strchr(spec[ninbound], '=')) == NULL) {
				cli_error("--inbound needs SERVICE=PEER[,PEER], not "
				    "'%s'", argv[i]);
				return 2;
			}
			*eq = '\0';
			inbound[ninbound].service = spec[ninbound];
			inbound[ninbound].peers = eq + 1;
			ninbound++;
		} else if (argv[i][0] != '-' && dir == NULL) {
			dir = argv[i];
		} else {
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (dir == NULL) {
		fputs(usage_text, stderr);
		return 2;
	}
	cl_error_clear(&err);
	if (deploy_init(dir, auditors, nauditors, inbound, ninbound, &err) != 0) {
		cli_error("cannot initialise '%s': %s", dir, err.message);
		return 1;
	}
	printf("made development keys and %s/%s\n", dir, DEPLOY_BUILD_CONFIG);
	return 0;
}
