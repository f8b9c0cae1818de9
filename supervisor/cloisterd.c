/*
 * cloisterd: start, watch and stop every Cloister service of one
 * deployment on this machine (the embedded default).
 *
 *   cloisterd up --dir DIR       create what is missing, start everything,
 *                                print "NAME HOST:PORT" per endpoint, return
 *                                once all are ready (or fail with the reason
 *                                of the service that did not start)
 *   cloisterd down --dir DIR     stop everything
 *   cloisterd status --dir DIR   say whether it runs, and each endpoint
 *   cloisterd prepare --dir DIR  only create what is missing (the build
 *                                runs this to regenerate build/dev/)
 *
 * What "up" creates when absent (see lib/deploy.h): development keys and
 * build.json; enclave_info.json for the installed service executables,
 * signed by every auditor key in DIR/keys (regenerated at each up while
 * those development keys are there, since rebuilt executables change
 * their measurements); runtime.conf with a free loopback port per
 * endpoint and each service's data directory under DIR/data; and, for
 * development, a random password for the first PlatformAdmin in
 * DIR/keys/admin.password (0600).  Logs go to DIR/logs/<service>.log.
 *
 * Processes: the foreground "up" forks the supervisor (a daemon holding
 * DIR/cloisterd.pid), which starts each service and reports readiness
 * back through a pipe.  The supervisor restarts a service that dies, at
 * most RESTART_MAX times per RESTART_WINDOW seconds, and on SIGTERM stops
 * them all.
 */
#include "compat.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <time.h>

#include <openssl/rand.h>

#include "buf.h"
#include "conf.h"
#include "crypto.h"
#include "deploy.h"
#include "log.h"

#define READY_TIMEOUT_MS	20000
#define STOP_TIMEOUT_MS		10000
#define RESTART_MAX		5
#define RESTART_WINDOW		60

/* The services this installation has, in start order. */
static const struct service {
	const char *name;
	bool api, internal;
	const char *peers[4];	/* written as "<peer>_addr = <its internal endpoint>" */
} services[] = {
	{ "storage", false, true, { NULL } },
	{ "access_control", false, true, { NULL } },
	{ "authentication", true, true, { NULL } },
	{ "echo", true, true, { NULL } },
	{ "management", false, true, { "storage", "access_control", NULL } },
	{ "scheduler", false, true, { "storage", NULL } },
	{ "frontend", true, false, { "authentication", "management", "echo", NULL } },
	{ "execution", false, false, { "scheduler", NULL } },
};
#define NSERVICES CL_ARRAY_SIZE(services)

struct child {
	pid_t pid;
	char api[64], internal[64];
	int64_t restarts[RESTART_MAX];	/* times of recent restarts */
	size_t nrestarts;
};

static char bindir[512];
static char dir[PATH_MAX];
static volatile sig_atomic_t stopping;

static CL_NORETURN CL_PRINTF(1, 2) void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("cloisterd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
path_in(char *out, size_t len, const char *file)
{
	deploy_path(out, len, dir, file);
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* A free loopback port (closed again: services bind it soon after). */
static unsigned
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	if (port == 0)
		die("cannot find a free port on 127.0.0.1");
	return port;
}

static void
write_runtime_conf(const char *path)
{
	struct buf b = BUF_INIT;
	struct cl_error err;

	buf_addf(&b, "# Runtime configuration of the deployment in %s, made by "
	    "cloisterd up.\n# Untrusted: addresses and paths only.  See "
	    "docs/configuration.md.\n\n", dir);
	buf_addf(&b, "build_config = %s/%s\n", dir, DEPLOY_BUILD_CONFIG);
	buf_addf(&b, "enclave_info = %s/%s\n", dir, DEPLOY_ENCLAVE_INFO);
	buf_addf(&b, "attestation = sim\n");
	buf_addf(&b, "attestation_key = %s/%s\n", dir, DEPLOY_AUTHORITY_KEY);
	unsigned api[NSERVICES], internal[NSERVICES];

	for (size_t i = 0; i < NSERVICES; i++) {
		api[i] = services[i].api ? free_port() : 0;
		internal[i] = services[i].internal ? free_port() : 0;
	}
	for (size_t i = 0; i < NSERVICES; i++) {
		buf_addf(&b, "\n[%s]\n", services[i].name);
		if (services[i].api)
			buf_addf(&b, "listen = 127.0.0.1:%u\n", api[i]);
		if (services[i].internal)
			buf_addf(&b, "internal_listen = 127.0.0.1:%u\n", internal[i]);
		for (size_t k = 0; services[i].peers[k] != NULL; k++)
			for (size_t j = 0; j < NSERVICES; j++)
				if (strcmp(services[j].name, services[i].peers[k]) == 0)
					buf_addf(&b, "%s_addr = 127.0.0.1:%u\n",
					    services[j].name, internal[j]);
		if (strcmp(services[i].name, "storage") == 0)
			buf_addf(&b, "store_location = %s/data/storage\n", dir);
		if (strcmp(services[i].name, "authentication") == 0) {
			buf_addf(&b, "store_path = %s/data/authentication\n", dir);
			buf_addf(&b, "admin_password_file = %s/keys/admin.password\n",
			    dir);
		}
	}
	cl_error_clear(&err);
	if (crypto_write_file(path, b.p, b.len, 0644, &err) != 0)
		die("%s", err.message);
	buf_release(&b);
}

/* Make whatever the deployment lacks. */
static void
prepare(void)
{
	char path[PATH_MAX + 64], exe[NSERVICES][600];
	const char *name[NSERVICES], *exep[NSERVICES];
	struct cl_error err;
	bool dev_keys;

	cl_error_clear(&err);
	path_in(path, sizeof(path), DEPLOY_BUILD_CONFIG);
	if (!exists(path)) {
		if (deploy_init(dir, NULL, 0, NULL, 0, &err) != 0)
			die("cannot initialise '%s': %s", dir, err.message);
		printf("created development keys and build configuration in %s\n",
		    dir);
	}
	path_in(path, sizeof(path), "keys/auditor-auditor1.key");
	dev_keys = exists(path);
	path_in(path, sizeof(path), DEPLOY_ENCLAVE_INFO);
	if (dev_keys || !exists(path)) {
		for (size_t i = 0; i < NSERVICES; i++) {
			snprintf(exe[i], sizeof(exe[i]), "%s/cloister-%s", bindir,
			    services[i].name);
			name[i] = services[i].name;
			exep[i] = exe[i];
		}
		if (deploy_enclave_info(dir, name, exep, NSERVICES, &err) < 0)
			die("cannot make the enclave info: %s", err.message);
	}
	path_in(path, sizeof(path), "logs");
	mkdir(path, 0700);
	path_in(path, sizeof(path), "data");
	mkdir(path, 0700);
	path_in(path, sizeof(path), "keys/admin.password");
	if (dev_keys && !exists(path)) {
		uint8_t rnd[15];
		struct buf pw = BUF_INIT;

		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			die("no randomness");
		crypto_b64_encode(&pw, rnd, sizeof(rnd));
		for (size_t i = 0; i < pw.len; i++)
			if (pw.p[i] == '+' || pw.p[i] == '/')
				pw.p[i] = 'x';
		buf_addch(&pw, '\n');
		if (crypto_write_file(path, pw.p, pw.len, 0600, &err) != 0)
			die("%s", err.message);
		printf("the first PlatformAdmin is 'admin'; its password is in %s\n",
		    path);
		buf_release(&pw);
	}
	path_in(path, sizeof(path), DEPLOY_RUNTIME);
	if (!exists(path))
		write_runtime_conf(path);
}

static pid_t
read_pid(void)
{
	char path[PATH_MAX + 64], text[32] = "";
	long pid;
	FILE *fp;

	path_in(path, sizeof(path), "cloisterd.pid");
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(text, sizeof(text), fp) == NULL)
		text[0] = '\0';
	fclose(fp);
	pid = strtol(text, NULL, 10);
	if (pid <= 0 || kill((pid_t)pid, 0) != 0)
		return 0;
	return (pid_t)pid;
}

static pid_t
spawn(const struct service *s)
{
	char bin[600], conf[PATH_MAX + 64], logp[PATH_MAX + 64];
	pid_t pid;
	int fd;

	snprintf(bin, sizeof(bin), "%s/cloister-%s", bindir, s->name);
	path_in(conf, sizeof(conf), DEPLOY_RUNTIME);
	snprintf(logp, sizeof(logp), "%s/logs/%s.log", dir, s->name);
	if ((fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "-c", conf, (char *)NULL);
		fprintf(stderr, "cloisterd: cannot run '%s': %s\n", bin,
		    strerror(errno));
		_exit(127);
	}
	close(fd);
	return pid;
}

/*
 * Wait for s's readiness line after log offset start.  Returns 0 and fills
 * c, or -1 with the reason (the service's last log line) in why.
 */
static int
wait_ready(const struct service *s, struct child *c, off_t start, char *why,
    size_t whylen)
{
	char logp[PATH_MAX + 64];
	int64_t deadline;
	struct timespec ts;
	struct buf log = BUF_INIT;
	int rc = -1;

	snprintf(logp, sizeof(logp), "%s/logs/%s.log", dir, s->name);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + READY_TIMEOUT_MS;
	for (;;) {
		struct cl_error err;
		const char *r;
		int st;

		cl_error_clear(&err);
		buf_clear(&log);
		if (crypto_read_file(logp, 64 << 20, &log, &err) == 0 &&
		    (size_t)start <= log.len &&
		    (r = strstr(log.p + start, "ready: ")) != NULL &&
		    strchr(r, '\n') != NULL) {
			sscanf(strstr(r, " api=") ? strstr(r, " api=") : "",
			    " api=%63s", c->api);
			sscanf(strstr(r, " internal=") ? strstr(r, " internal=") : "",
			    " internal=%63s", c->internal);
			rc = 0;
			break;
		}
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			char *last, *end = log.p + log.len;

			while (end > log.p + start && end[-1] == '\n')
				*--end = '\0';
			last = end;
			while (last > log.p + start && last[-1] != '\n')
				last--;
			snprintf(why, whylen, "%s", *last ? last :
			    "exited without a message");
			c->pid = 0;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > deadline) {
			snprintf(why, whylen, "not ready after %d ms", READY_TIMEOUT_MS);
			break;
		}
		usleep(20000);
	}
	buf_release(&log);
	return rc;
}

static off_t
log_size(const char *name)
{
	char logp[PATH_MAX + 64];
	struct stat st;

	snprintf(logp, sizeof(logp), "%s/logs/%s.log", dir, name);
	return stat(logp, &st) == 0 ? st.st_size : 0;
}

static void
stop_all(struct child *kids)
{
	struct timespec ts;
	int64_t deadline;

	for (size_t i = NSERVICES; i-- > 0;)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + STOP_TIMEOUT_MS;
	for (size_t i = 0; i < NSERVICES; i++) {
		while (kids[i].pid > 0) {
			if (waitpid(kids[i].pid, NULL, WNOHANG) == kids[i].pid) {
				kids[i].pid = 0;
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 > deadline) {
				log_warnx("'%s' did not stop in time; killing it",
				    services[i].name);
				kill(kids[i].pid, SIGKILL);
				waitpid(kids[i].pid, NULL, 0);
				kids[i].pid = 0;
				break;
			}
			usleep(20000);
		}
	}
}

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Restart a service that died, unless it keeps dying. */
static void
maybe_restart(struct child *c, const struct service *s, int status)
{
	int64_t now = (int64_t)time(NULL);
	char why[512];
	size_t recent = 0;

	log_warnx("'%s' exited (status %#x)", s->name, status);
	for (size_t i = 0; i < c->nrestarts; i++)
		if (now - c->restarts[i] < RESTART_WINDOW)
			c->restarts[recent++] = c->restarts[i];
	c->nrestarts = recent;
	if (c->nrestarts == RESTART_MAX) {
		log_warnx("'%s' died %d times in %d s; not restarting it", s->name,
		    RESTART_MAX, RESTART_WINDOW);
		c->pid = 0;
		return;
	}
	c->restarts[c->nrestarts++] = now;
	{
		off_t start = log_size(s->name);

		if ((c->pid = spawn(s)) <= 0 ||
		    wait_ready(s, c, start, why, sizeof(why)) != 0)
			log_warnx("restarting '%s' failed: %s", s->name, why);
		else
			log_info("restarted '%s'", s->name);
	}
}

/* The daemon: start all, report through fd, watch, stop on SIGTERM. */
static CL_NORETURN void
supervise(int report)
{
	struct child kids[NSERVICES];
	struct sigaction sa = { 0 };
	char pidp[PATH_MAX + 32], why[512], line[PATH_MAX + 32];
	FILE *out = fdopen(report, "w");
	int logfd;

	memset(kids, 0, sizeof(kids));
	setsid();
	snprintf(line, sizeof(line), "%s/logs/cloisterd.log", dir);
	if ((logfd = open(line, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
		dup2(logfd, 2);
		close(logfd);
	}
	{
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		close(devnull);
	}
	log_init("cloisterd", "supervisor", LOG_LVL_INFO, LOG_FMT_TEXT);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	path_in(pidp, sizeof(pidp), "cloisterd.pid");
	snprintf(line, sizeof(line), "%d\n", (int)getpid());
	{
		struct cl_error err;

		cl_error_clear(&err);
		if (crypto_write_file(pidp, line, strlen(line), 0644, &err) != 0) {
			fprintf(out, "FAIL cloisterd: %s\n", err.message);
			exit(1);
		}
	}

	for (size_t i = 0; i < NSERVICES; i++) {
		off_t start = log_size(services[i].name);

		snprintf(why, sizeof(why), "cannot run its executable");
		kids[i].pid = spawn(&services[i]);
		if (kids[i].pid <= 0 || wait_ready(&services[i], &kids[i], start,
		    why, sizeof(why)) != 0) {
			fprintf(out, "FAIL %s: %s\n", services[i].name, why);
			fflush(out);
			stop_all(kids);
			unlink(pidp);
			exit(1);
		}
		log_info("'%s' ready (api %s, internal %s)", services[i].name,
		    kids[i].api[0] ? kids[i].api : "-",
		    kids[i].internal[0] ? kids[i].internal : "-");
		if (kids[i].api[0] && strcmp(kids[i].api, "-") != 0)
			fprintf(out, "%s %s\n", services[i].name, kids[i].api);
		if (kids[i].internal[0] && strcmp(kids[i].internal, "-") != 0)
			fprintf(out, "%s-internal %s\n", services[i].name,
			    kids[i].internal);
	}
	fprintf(out, "OK\n");
	fclose(out);

	while (!stopping) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0)
			continue;	/* EINTR from SIGTERM, or no children */
		for (size_t i = 0; i < NSERVICES && !stopping; i++)
			if (kids[i].pid == pid)
				maybe_restart(&kids[i], &services[i], st);
	}
	log_info("stopping every service");
	stop_all(kids);
	unlink(pidp);
	log_info("stopped");
	exit(0);
}

static int
cmd_up(void)
{
	int fds[2];
	pid_t pid;
	FILE *in;
	char line[600];
	int ok = 0;

	if (read_pid() > 0)
		die("already running in '%s' (cloisterd down --dir %s)", dir, dir);
	prepare();
	if (pipe2(fds, O_CLOEXEC) != 0)	/* the services must not hold it */
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		if (fork() == 0)	/* the daemon is not our child */
			supervise(fds[1]);
		_exit(0);
	}
	close(fds[1]);
	waitpid(pid, NULL, 0);
	in = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), in) != NULL) {
		if (strcmp(line, "OK\n") == 0) {
			ok = 1;
			break;
		}
		if (strncmp(line, "FAIL ", 5) == 0) {
			char rest[64];

			fprintf(stderr, "cloisterd: service %s", line + 5);
			/* end of file: the supervisor stopped the others and left */
			while (fgets(rest, sizeof(rest), in) != NULL)
				;
			break;
		}
		fputs(line, stdout);
	}
	fclose(in);
	if (!ok) {
		if (line[0] == '\0' || strncmp(line, "FAIL ", 5) != 0)
			fprintf(stderr, "cloisterd: the supervisor stopped; see "
			    "%s/logs/\n", dir);
		return 1;
	}
	return 0;
}

static int
cmd_down(void)
{
	pid_t pid = read_pid();

	if (pid == 0) {
		printf("not running in '%s'\n", dir);
		return 0;
	}
	kill(pid, SIGTERM);
	for (int i = 0; i < (STOP_TIMEOUT_MS + 5000) / 50; i++) {
		if (kill(pid, 0) != 0) {
			printf("stopped\n");
			return 0;
		}
		usleep(50000);
	}
	die("supervisor %d did not stop", (int)pid);
}

static int
cmd_status(void)
{
	char conf[PATH_MAX + 64], addr[300];
	struct cl_error err;
	pid_t pid = read_pid();

	if (pid == 0) {
		printf("not running in '%s'\n", dir);
		return 3;
	}
	printf("running (supervisor %d)\n", (int)pid);
	path_in(conf, sizeof(conf), DEPLOY_RUNTIME);
	for (size_t i = 0; i < NSERVICES; i++) {
		cl_error_clear(&err);
		if (conf_lookup(conf, services[i].name, "listen", addr,
		    sizeof(addr), &err) == 0)
			printf("%s %s\n", services[i].name, addr);
		cl_error_clear(&err);
		if (conf_lookup(conf, services[i].name, "internal_listen", addr,
		    sizeof(addr), &err) == 0)
			printf("%s-internal %s\n", services[i].name, addr);
	}
	return 0;
}

static CL_NORETURN void
usage(void)
{
	fprintf(stderr, "usage: cloisterd up|down|status|prepare --dir DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *cmd = NULL, *d = NULL;
	ssize_t n;
	char *slash;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			d = argv[++i];
		else if (strcmp(argv[i], "--help") == 0)
			usage();
		else if (cmd == NULL)
			cmd = argv[i];
		else
			usage();
	}
	if (cmd == NULL || d == NULL)
		usage();
	if (realpath(d, dir) == NULL) {
		if ((strcmp(cmd, "up") != 0 && strcmp(cmd, "prepare") != 0) ||
		    mkdir(d, 0755) != 0 ||
		    realpath(d, dir) == NULL)
			die("cannot use '%s': %s", d, strerror(errno));
	}
	n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
	if (n <= 0)
		die("cannot find my own executable");
	bindir[n] = '\0';
	if ((slash = strrchr(bindir, '/')) != NULL)
		*slash = '\0';
	if (strcmp(cmd, "up") == 0)
		return cmd_up();
	if (strcmp(cmd, "down") == 0)
		return cmd_down();
	if (strcmp(cmd, "status") == 0)
		return cmd_status();
	if (strcmp(cmd, "prepare") == 0) {
		prepare();
		return 0;
	}
	usage();
}
