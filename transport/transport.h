/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* transport/ - the tunnel's wire: the hello that opens every tunnel
 * connection, the session's authentication (auth.c) and control messages
 * (control.c), the classifier of QEMU's migration channels, TCP sockets,
 * connections (plain or TLS 1.3 over OpenSSL memory BIOs behind one ops
 * table) and the io_uring forwarder.  docs/TUNNEL.md describes the protocol.
 *
 * Errors, one convention for all of transport/: a function returns 0/-1 (or
 * a count, or pointer/NULL) and records a message built once, naming what
 * failed and why:
 *   - on the object it failed on when there is one: a struct tp_conn
 *     ("LABEL: why", tp_conn_error()) or a forwarder (its stats' error);
 *   - otherwise in the caller's err/errlen buffer (parsers, sockets, TLS
 *     contexts, opening a channel; err may be NULL).
 * Where a caller must act on the kind of a failure, one flag says it beside
 * the message: tp_conn_auth_refused() (and tp_session_info's auth_refused)
 * for a credential refused, by the TLS handshake or the session proof.
 * errno is never part of a result.  Only the io_uring internals of fwd.c
 * return -errno among themselves, as the kernel and liburing do.  Messages
 * are composed right the first time (common/errbuf), never cut apart. */
#ifndef QMIG_TRANSPORT_H
#define QMIG_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- hello (client -> agent) and its reply (agent -> client) ---- */

#define TP_HELLO_LEN 32
#define TP_HELLO_VERSION 2
#define TP_SESSION_LEN 16
#define TP_KEY_LEN 32   /* the session key, exported from the control's TLS */
#define TP_NONCE_LEN 32 /* the agent's challenge */
#define TP_MAC_LEN 32   /* HMAC-SHA256 */
#define TP_AUTH_LEN 40  /* a challenge or a response on the wire */
#define TP_REPLY_HDR 8
#define TP_REPLY_MAX_MSG 1024

enum tp_kind {
  TP_K_CONTROL = 1, /* first: creates the session */
  TP_K_QMP = 2,     /* relayed to the destination QEMU's QMP */
  TP_K_MAIN = 3,    /* QEMU's main migration channel */
  TP_K_MULTIFD = 4, /* multifd channel `index` */
  TP_K_NBD = 5,     /* an NBD connection of a disk copy (`index`: which one) */
};
#define TP_K_MAX TP_K_NBD
#define TP_MAX_INDEX 255

struct tp_hello {
  uint8_t version;
  uint8_t kind;                    /* enum tp_kind */
  uint16_t index;                  /* multifd channel id / nbd export; 0 otherwise */
  uint8_t session[TP_SESSION_LEN]; /* the agent's; zero in a control hello */
};

enum tp_status {
  TP_ST_OK = 0,
  TP_ST_BAD_HELLO = 1,       /* malformed, unknown version or kind */
  TP_ST_UNKNOWN_SESSION = 2, /* no such session, or the connection could not
                                prove it belongs to it */
  TP_ST_UNAVAILABLE = 3,     /* the destination QEMU cannot be reached */
  TP_ST_BUSY = 4,            /* a session is already running */
};

struct tp_reply {
  uint8_t status; /* enum tp_status */
  char msg[TP_REPLY_MAX_MSG + 1];
};

const char *tp_kind_name(unsigned kind); /* "control", ..., "?" */
void tp_hello_encode(const struct tp_hello *h, uint8_t out[TP_HELLO_LEN]);
/* Strict: exactly TP_HELLO_LEN bytes, magic, version 2, known kind, index
 * within bounds for the kind, a zero session id in a control hello,
 * reserved bytes zero.  -1 with a reason. */
int tp_hello_parse(const uint8_t *buf, size_t len, struct tp_hello *h, char *err, size_t errlen);
/* Reply: header then msglen bytes of text (no NUL).  Returns the bytes
 * written to out (at most TP_REPLY_HDR + TP_REPLY_MAX_MSG). */
size_t tp_reply_encode(uint8_t status, const char *msg, uint8_t *out, size_t cap);
/* Header only: -1 when malformed; else the message length still to read. */
int tp_reply_parse_hdr(const uint8_t hdr[TP_REPLY_HDR], uint8_t *status, char *err, size_t errlen);

/* ---- authentication of a data connection (auth.c) ----
 * After a data hello the agent sends a challenge (a fresh random nonce);
 * the engine answers with tp_auth_mac() under the session key. */

void tp_challenge_encode(const uint8_t nonce[TP_NONCE_LEN], uint8_t out[TP_AUTH_LEN]);
/* Strict: exactly TP_AUTH_LEN bytes, magic, version, reserved zero. */
int tp_challenge_parse(const uint8_t *b, size_t len, uint8_t nonce[TP_NONCE_LEN], char *err,
                       size_t errlen);
void tp_response_encode(const uint8_t mac[TP_MAC_LEN], uint8_t out[TP_AUTH_LEN]);
int tp_response_parse(const uint8_t *b, size_t len, uint8_t mac[TP_MAC_LEN], char *err,
                      size_t errlen);
/* Whether b starts like a challenge (the engine reads a challenge or a
 * reply after its hello: both start with 4 magic bytes). */
bool tp_is_challenge(const uint8_t *b, size_t len);
/* HMAC-SHA256(key, "qmig-chan-v2" || nonce || kind || index(be16) ||
 * session) for the hello h.  0, or -1 when OpenSSL failed. */
int tp_auth_mac(const uint8_t key[TP_KEY_LEN], const uint8_t nonce[TP_NONCE_LEN],
                const struct tp_hello *h, uint8_t mac[TP_MAC_LEN]);
/* The response's MAC is the right one (constant time). */
bool tp_auth_verify(const uint8_t key[TP_KEY_LEN], const uint8_t nonce[TP_NONCE_LEN],
                    const struct tp_hello *h, const uint8_t mac[TP_MAC_LEN]);

/* ---- the control connection's JSON (control.c) ---- */

/* The agent's OK reply to a control hello: the session it issued. */
struct tp_session_info {
  uint8_t session[TP_SESSION_LEN];
  char incoming[256]; /* unix:PATH for the destination's migrate-incoming */
  char nbd[256];      /* unix:PATH for the destination's NBD server */
  char agent[64];     /* "qmig VERSION" */
  char auth[16];      /* "psk", "x509" or "none" (insecure-no-auth) */
  bool plain_data;    /* the agent takes authenticated plaintext data channels */
  bool handoff;       /* the agent can hand a main channel's socket to its QEMU
                         (op "handoff"); false when absent (older agents) */
  bool auth_refused;  /* tp_session_open failed: a credential refused
                         (tp_conn_auth_refused); not a field of the reply */
};
/* JSON into out (at most TP_REPLY_MAX_MSG bytes); -1 when it does not fit. */
int tp_session_encode(const struct tp_session_info *s, char *out, size_t cap);
/* Every field present, the session 32 lower-case hex digits, incoming and
 * nbd unix: URIs that fit.  -1 with a reason. */
int tp_session_parse(const char *msg, size_t len, struct tp_session_info *s, char *err,
                     size_t errlen);

enum tp_control_op {
  TP_CTL_CLOCK = 1,
  /* {"op":"handoff"}: from now on the agent itself starts the destination's
   * incoming migration on the session's main channel, with its socket
   * passed to QEMU (getfd + migrate-incoming fd:) or, if it cannot,
   * forwarded; the main channel's OK reply says "handoff" or
   * "forwarded: WHY".  Answer {"handoff":true} or {"handoff":false,"why":..},
   * and since kernel TLS also the agent's side of a TLS channel:
   * "offload":"ktls", or "user" with "offload_why" (tp_handoff_reply). */
  TP_CTL_HANDOFF = 2,
};
struct tp_control_msg {
  int op;     /* enum tp_control_op */
  int64_t t1; /* clock: the engine's wall clock (us) when it sent the probe */
};
/* One line (without its newline) the engine sent: a known op with its
 * fields.  -1 with a reason otherwise. */
int tp_control_parse(const char *line, size_t len, struct tp_control_msg *m, char *err,
                     size_t errlen);
/* The agent's clock answer {"t1":US,"t2":US,"t3":US} into t[0..2]. */
int tp_clock_reply_parse(const char *line, size_t len, int64_t t[3], char *err, size_t errlen);
/* Who would do a TLS channel's TLS on the agent's side. */
enum tp_offload {
  TP_OFFLOAD_UNKNOWN, /* an agent before kernel TLS handoff: no "offload" key */
  TP_OFFLOAD_KTLS,    /* the kernel, both directions (tp_ktls_available) */
  TP_OFFLOAD_USER,    /* the agent's forwarder; offload_why says why */
};
/* The agent's answer to op handoff. */
struct tp_handoff_reply {
  bool on;               /* the agent starts the incoming side itself */
  int offload;           /* enum tp_offload */
  char why[300];         /* !on: why not */
  char offload_why[200]; /* TP_OFFLOAD_USER: why not the kernel */
};
/* 0 with r filled, or -1 with a reason in err (missing or mistyped key,
 * an offload other than "ktls"/"user"). */
int tp_handoff_reply_parse(const char *line, size_t len, struct tp_handoff_reply *r, char *err,
                           size_t errlen);
/* n bytes as 2n lower-case hex digits and a NUL. */
void tp_hex(const uint8_t *b, size_t n, char *out);

/* ---- QEMU's migration channels, told apart by their first bytes ---- */

#define TP_CLASSIFY_NEED 25 /* enough bytes for either header */
/* 0 classified (kind TP_K_MAIN or TP_K_MULTIFD, *index the multifd channel
 * id), 1 needs more bytes, -1 neither a main nor a multifd channel. */
int tp_classify(const uint8_t *b, size_t n, unsigned *kind, unsigned *index);

/* ---- sockets (sock.c) ---- */

/* "HOST:PORT" / "[V6]:PORT" split; -1 on junk. */
int tp_split_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen);
/* TCP: connect within timeout_ms, then TCP_NODELAY, keepalive and
 * TCP_USER_TIMEOUT so that a dead link fails in bounded time. */
int tp_tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen);
int tp_tcp_listen(const char *hostport, char *err, size_t errlen);
void tp_tcp_tune(int fd); /* the options above, for accepted sockets */
int tp_unix_listen(const char *path, char *err, size_t errlen); /* mode 0600 */
int tp_unix_connect(const char *path, int timeout_ms, char *err, size_t errlen);
/* Accept with a timeout (ms, <0 forever): the new fd, or -1 with why
 * (nobody came within timeout_ms, or accept failed) in err. */
int tp_accept(int lfd, int timeout_ms, char *err, size_t errlen);
/* Peer of a TCP socket as "ADDR:PORT". */
void tp_peer_name(int fd, char *out, size_t len);
int64_t tp_mono_ms(void);
int64_t tp_wall_us(void);

/* ---- PSK files (psk.c) ---- */

#define TP_PSK_KEY_MIN 16
#define TP_PSK_KEY_MAX 64
struct tp_psk {
  char id[128];
  unsigned char key[TP_PSK_KEY_MAX];
  size_t keylen;
};
/* The text of a keys.psk file (QEMU's format: "identity:hexkey" lines;
 * blank lines and '#' comments skipped), `len` bytes, no NUL needed.  Keeps
 * the keys whose identity is `want` (every key when NULL), at most `max`,
 * in out[0..*n).  0, or -1 with "line N: why" or "has no key ..." in err
 * (the caller names the file).  Key bytes it copied are cleansed. */
int tp_psk_parse(const char *text, size_t len, const char *want, struct tp_psk *out, size_t max,
                 size_t *n, char *err, size_t errlen);

/* ---- TLS contexts (tls.c) ---- */

enum tp_tls_mode { TP_TLS_NONE, TP_TLS_X509, TP_TLS_PSK };
struct tp_tls_opts {
  int mode; /* enum tp_tls_mode */
  bool server;
  const char *dir;          /* x509: ca-cert.pem and server-cert.pem/server-key.pem
                               (server) or client-cert.pem/client-key.pem */
  const char *peer_name;    /* x509 client: name or IP the server's certificate
                               must carry (default: the host connected to) */
  const char *psk_file;     /* PSK: lines "identity:hexkey" (QEMU's keys.psk) */
  const char *psk_identity; /* PSK client: which line to use (default qemu) */
};
struct tp_tls;
struct tp_tls *tp_tls_new(const struct tp_tls_opts *o, char *err, size_t errlen);
void tp_tls_free(struct tp_tls *t); /* accepts NULL */

/* ---- connections: plain or TLS, one ops table ---- */

struct tp_conn;
/* Takes fd (closed by tp_conn_free).  tls NULL = plain; the context must
 * outlive the connection.  peer_host: for x509 clients, the name/IP to
 * verify when no peer_name was configured.  label names the connection in
 * messages ("multifd channel 2 to 198.18.0.2:7000"). */
struct tp_conn *tp_conn_new(int fd, struct tp_tls *tls, const char *peer_host, const char *label);
void tp_conn_free(struct tp_conn *c); /* accepts NULL */
int tp_conn_handshake(struct tp_conn *c, int timeout_ms);
int tp_conn_write_all(struct tp_conn *c, const void *p, size_t n, int timeout_ms);
int tp_conn_read_exact(struct tp_conn *c, void *p, size_t n, int timeout_ms);
/* Up to n bytes; 0 on orderly close; -1 on error or timeout. */
ssize_t tp_conn_read_some(struct tp_conn *c, void *p, size_t n, int timeout_ms);
/* Orderly end of our sending side: TLS close_notify, then a TCP half-close. */
void tp_conn_close(struct tp_conn *c, int timeout_ms);
const char *tp_conn_error(const struct tp_conn *c);
/* Whether the failure tp_conn_error() names is a credential refused: the
 * TLS handshake failed at the TLS level (a certificate or PSK either side
 * refused, the peer closing mid-handshake) or the agent refused our session
 * proof; false for a timeout or a socket error. */
bool tp_conn_auth_refused(const struct tp_conn *c);
const char *tp_conn_label(const struct tp_conn *c);
void tp_conn_set_label(struct tp_conn *c, const char *label);
/* "TLSv1.3 TLS_AES_128_GCM_SHA256 (psk)" or "plain". */
void tp_conn_describe(const struct tp_conn *c, char *out, size_t len);
int tp_conn_fd(const struct tp_conn *c);
bool tp_conn_is_tls(const struct tp_conn *c);
/* Whether c's socket can be handed to QEMU as it is (socket handoff): true
 * for a plain connection, which never reads ahead (every read asks for
 * exactly the protocol's bytes, so QEMU's stream is still all in the
 * kernel); for a TLS connection what tp_tls_offload_ktls says (kernel TLS
 * both ways, nothing pending inside OpenSSL).  false with the reason in
 * why. */
bool tp_conn_can_hand_off(const struct tp_conn *c, char *why, size_t whylen);
/* tls.c: the session key, from the TLS 1.3 exporter of this (handshaken)
 * connection with label "EXPORTER-qmig-session" and the session id as
 * context: both ends of the control connection get the same 32 bytes, and
 * nobody else can.  -1 on a plain connection or an OpenSSL failure. */
int tp_conn_export_key(struct tp_conn *c, const uint8_t session[TP_SESSION_LEN],
                       uint8_t key[TP_KEY_LEN]);
/* Whether the peer of a new accepted socket starts with a TLS handshake
 * record (first byte 0x16), without consuming it: 1 TLS, 0 something else,
 * -1 closed or silent for timeout_ms (a question, not a failure: no
 * message). */
int tp_peek_tls(int fd, int timeout_ms);
/* TLS peers that read a record's plaintext a byte at a time and wait for the
 * socket before reading on (QEMU 7.2's TLS monitor: the rest of a record
 * sits in GnuTLS until the next record arrives, so every QMP command was
 * answered one command late): the forwarder sends the last byte of each
 * chunk in a record of its own.  Same bytes, one more small record. */
void tp_conn_split_last_byte(struct tp_conn *c, bool on);
/* Kernel TLS (ktls.c).  Whether this host can put a tunnel TLS connection
 * into the kernel: the tls ULP listed in ULPS (the text of
 * /proc/sys/net/ipv4/tcp_available_ulp; NULL: unreadable) and an OpenSSL
 * (SSL_VERSION, OpenSSL_version_num()) that offloads both directions of
 * TLS 1.3.  false with the reason in why.  tp_ktls_available reads both. */
bool tp_ktls_possible(const char *ulps, unsigned long ssl_version, char *why, size_t len);
bool tp_ktls_available(char *why, size_t len);
/* After the handshake (and whatever setup I/O): 0 when c's fd can be
 * handed on like a plain socket ("offload": "ktls"): a finished TLS 1.3
 * handshake, nothing post-handshake to come from this end (a server that
 * sends no session tickets, no key update scheduled), nothing received
 * and not yet read or to be sent inside OpenSSL, and the socket kernel TLS
 * both ways (BIO_get_ktls_send and BIO_get_ktls_recv).  -1 with the first
 * reason that fails in why otherwise ("user": forward it with
 * tp_fwd_start).  The one statement of that check: tp_conn_can_hand_off
 * asks it for TLS connections. */
int tp_tls_offload_ktls(const struct tp_conn *c, char *why, size_t len);

/* Client side of a tunnel connection: send the hello, answer the agent's
 * challenge with the session key (key NULL: a control connection, or an
 * agent without authentication, which sends none), read the reply.  On
 * refusal -1 with "refused by the agent: MSG"; the reply text of an OK goes
 * to msg (may be NULL). */
int tp_hello_exchange(struct tp_conn *c, const struct tp_hello *h, const uint8_t *key, char *msg,
                      size_t msglen, int timeout_ms);
int tp_reply_send(struct tp_conn *c, uint8_t status, const char *msg, int timeout_ms);
/* Agent side: challenge the peer of hello h and check its response against
 * key.  0 when it proved the session; -1 with the reason in why (the
 * connection failed, a malformed response, or a wrong MAC): the refusal
 * text the agent sends back, so without the connection's label. */
int tp_auth_challenge(struct tp_conn *c, const struct tp_hello *h, const uint8_t key[TP_KEY_LEN],
                      int timeout_ms, char *why, size_t whylen);

/* ---- the client side of protocol 2 (client.c) ---- */

/* One tunnel connection to the agent at hostport: TCP, then TLS with tls
 * (NULL: plaintext; x509 verifies the host of hostport unless the context
 * has a peer_name), then tp_hello_exchange with key (NULL for a control
 * connection or an insecure-no-auth agent).  label names the connection in
 * messages.  The connection (the caller frees it), the OK reply's text in
 * msg (may be NULL); or NULL with "LABEL: why" in err. */
struct tp_conn *tp_channel_open(const char *hostport, struct tp_tls *tls, const char *label,
                                const struct tp_hello *h, const uint8_t *key, char *msg,
                                size_t msglen, int timeout_ms, char *err, size_t errlen);
/* A session: a control connection, the session the agent issued (its
 * reply, parsed, in si) and with tls the session key exported from the
 * control's TLS (untouched without tls).  The control connection (the
 * session lasts as long as it is open; the caller frees it), or NULL with
 * the reason in err. */
struct tp_conn *tp_session_open(const char *hostport, struct tp_tls *tls, const char *label,
                                struct tp_session_info *si, uint8_t key[TP_KEY_LEN], int timeout_ms,
                                char *err, size_t errlen);

/* ---- the forwarder: one thread, one io_uring, both directions ---- */

struct tp_fwd_stats {
  uint64_t bytes_out; /* local -> remote (plaintext) */
  uint64_t bytes_in;  /* remote -> local (plaintext) */
  double cpu_s;       /* the forwarder thread's CPU time */
  bool failed;
  char error[256]; /* "LABEL: what failed" when failed */
};
struct tp_fwd;
/* Forward between local_fd (plain stream socket, taken) and remote (taken,
 * handshake done) on a new thread with its own io_uring, until both
 * directions reached EOF or one failed.  NULL with a message in err when it
 * could not start (local_fd and remote are then closed). */
struct tp_fwd *tp_fwd_start(int local_fd, struct tp_conn *remote, char *err, size_t errlen);
/* Plain channels: splice through a pipe (true) or copy through a user
 * buffer (false) from the next tp_fwd_start on; process-wide. */
void tp_fwd_set_splice(bool on);
/* Wait for the end without freeing: tp_fwd_abort stays safe until the
 * tp_fwd_join that frees (one thread waits or joins; accepts NULL). */
void tp_fwd_wait(struct tp_fwd *f);
/* Wait for the end; fills st (may be NULL).  Frees; accepts NULL. */
void tp_fwd_join(struct tp_fwd *f, struct tp_fwd_stats *st);
/* Ask it to stop (shuts both sockets down); any thread. */
void tp_fwd_abort(struct tp_fwd *f);
bool tp_fwd_done(struct tp_fwd *f);
/* Snapshot while running (error is set once failed). */
void tp_fwd_peek(struct tp_fwd *f, struct tp_fwd_stats *st);

#endif
