/*
 * Every hard limit of Cloister, in one place.  (Named cl_limits.h, not
 * limits.h as STYLE.md suggests: gcc's <limits.h> reaches a project
 * limits.h through #include_next even on the quote-only include path.)  These are compile-time
 * ceilings: runtime configuration may lower them, never raise them.
 * Each limit says which hostile input it stops.
 */
#ifndef CL_CL_LIMITS_H
#define CL_CL_LIMITS_H

/*
 * Largest frame body accepted or sent.  Stops a peer from making us
 * allocate an arbitrary amount by announcing a huge length prefix; the
 * length is checked against this before any allocation.  The 32 MiB
 * default leaves room for a 16 MiB function payload (22 MiB in base64)
 * sent in one request.
 */
#define CL_FRAME_MAX_CEILING	(64u * 1024 * 1024)
#define CL_FRAME_MAX_DEFAULT	(32u * 1024 * 1024)
#define CL_FRAME_MAX_FLOOR	1024u

/*
 * Frame limit before a connection has authenticated (reserved for the
 * services that authenticate users): an anonymous peer may not make us
 * buffer more than this.
 */
#define CL_FRAME_MAX_UNAUTH	(64u * 1024)

/* Bytes of the length prefix that starts every frame. */
#define CL_FRAME_HDR_LEN	4u

/*
 * Deepest JSON nesting accepted in a request.  jansson parses
 * recursively; bounding depth stops stack exhaustion by "[[[[[[...".
 */
#define CL_JSON_MAX_DEPTH	32

/*
 * A connection that sends nothing for this long is closed: stops a peer
 * from holding a slot forever, including one that sends a length prefix
 * and never the body.
 */
#define CL_IDLE_TIMEOUT_MS_DEFAULT	(60 * 1000)
#define CL_IDLE_TIMEOUT_MS_MAX		(3600 * 1000)

/*
 * A TLS handshake must complete within this time: stops a client that
 * opens TCP connections and never finishes the handshake (slowloris).
 */
#define CL_HANDSHAKE_TIMEOUT_MS_DEFAULT	(10 * 1000)

/* Most simultaneous connections one server keeps; further ones are closed at accept. */
#define CL_MAX_CONNECTIONS_DEFAULT	4096
#define CL_MAX_CONNECTIONS_CEILING	65536

/* Threads: bounded so a configuration typo cannot exhaust the host. */
#define CL_IO_THREADS_MAX	64
#define CL_WORKERS_MAX		256

/* Requests a worker pool may hold queued before new ones are refused with 'busy'. */
#define CL_WORK_QUEUE_MAX	65536

/*
 * Runtime configuration file: largest file and line read.  The file is
 * untrusted input; these stop a huge or binary file from being slurped.
 */
#define CL_CONF_FILE_MAX	(1024 * 1024)
#define CL_CONF_LINE_MAX	4096

/* Longest error message carried in a struct cl_error or an error frame. */
#define CL_ERR_MSG_MAX		256

/* Longest request name. */
#define CL_REQUEST_NAME_MAX	64

#endif
