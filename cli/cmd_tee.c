/*
 * cloister tee status: which TEE interfaces this host offers.
 */
#include "compat.h"

#include "cli.h"
#include "tee.h"

int
cmd_tee(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "status") != 0) {
		fputs("usage: cloister tee status\n", argc == 2 &&
		    strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	tee_host_status(stdout);
	return 0;
}
