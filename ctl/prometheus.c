/* Prometheus text exposition format 0.0.4: label escaping, and serving /metrics over HTTP. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "prometheus.h"

/* A scraper sends its request as soon as it connects: a client silent for longer is dropped,
 * so that it cannot keep the next scrape waiting (requests are served one at a time). */
#define HEAD_TIMEOUT_MS 5000
/* Prometheus' default scrape timeout: a reader slower than that has given up anyway. */
#define SEND_TIMEOUT_MS 10000
/* After the response: how long to wait for the client to close before closing ourselves. */
#define LINGER_MS 1000
#define LINGER_MAX (64 * 1024)
#define HEAD_MAX 8192

/* Length of the valid UTF-8 sequence at s, or 0 when s does not start one (a stray
 * continuation byte, an overlong form, a surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)  /* the terminating NUL stops here too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void vmfw_prom_label_value(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\' || *p == '"') {
			fputc('\\', f);
			fputc(*p, f);
		} else if (*p == '\n') {
			fputs("\\n", f);
		} else if (n) {
			fwrite(p, 1, n, f);
		} else {
			/* Prometheus refuses a whole scrape over one label value that is not UTF-8
			 * (a file name in another encoding): replace the byte, keep the rest. */
			fputs("\xef\xbf\xbd", f);
			n = 1;
		}
		p += n;
	}
	fputc('"', f);
}

void vmfw_prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int vmfw_prom_parse_addr(const char *s, struct vmfw_prom_addr *a)
{
	char host[INET6_ADDRSTRLEN];
	const char *h = s, *colon, *p;
	unsigned long port;
	size_t hlen;
	char *end;

	memset(a, 0, sizeof(*a));
	if (strlen(s) >= sizeof(a->text))
		return -EINVAL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		/* One colon only: an IPv6 address needs its brackets, or its last group would be
		 * taken for the port. */
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	for (p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || errno || port == 0 || port > 65535)
		return -EINVAL;
	if (s[0] == '[') {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		a->len = sizeof(*sin);
	}
	snprintf(a->text, sizeof(a->text), "%s", s);
	return 0;
}

struct server {
	int lfd;                /* the listening socket */
	int sfd;                /* signalfd for SIGINT and SIGTERM */
	bool stop;
	vmfw_prom_render_fn render;
	void *ctx;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd has one of events, deadline (now_ms() time; -1: none) passes or a signal
 * asks the server to stop. Returns 1 when ready, 0 at the deadline, -EINTR on the signal. */
static int wait_fd(struct server *srv, int fd, short events, long long deadline)
{
	struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = srv->sfd, .events = POLLIN } };

	for (;;) {
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		int n;

		if (deadline >= 0 && left <= 0)
			return 0;
		n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents) {
			srv->stop = true;
			return -EINTR;
		}
		if (n > 0)
			return 1;
	}
}

static int send_all(struct server *srv, int c, const char *buf, size_t len, int flags,
		    long long deadline)
{
	while (len) {
		ssize_t n = send(c, buf, len, flags | MSG_NOSIGNAL);
		int r;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		r = wait_fd(srv, c, POLLOUT, deadline);
		if (r <= 0)
			return r ? r : -ETIMEDOUT;
	}
	return 0;
}

/* One response, then the connection is closed: a scraper opens one per scrape anyway.
 * Returns 0 once it is all sent, or -errno. */
static int respond(struct server *srv, int c, const char *status, const char *headers,
		   const char *body, size_t len, bool head)
{
	long long deadline = now_ms() + SEND_TIMEOUT_MS;
	char hdr[512];
	int n, err;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status, len,
		     headers);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -EOVERFLOW;
	err = send_all(srv, c, hdr, (size_t)n, head || !len ? 0 : MSG_MORE, deadline);
	if (!err && !head && len)
		err = send_all(srv, c, body, len, 0, deadline);
	return err;
}

#define TEXT "Content-Type: text/plain; charset=utf-8\r\n"

static int respond_text(struct server *srv, int c, const char *status, const char *headers,
			const char *msg, bool head)
{
	char h[256];

	snprintf(h, sizeof(h), TEXT "%s", headers);
	return respond(srv, c, status, h, msg, strlen(msg), head);
}

/* Closing a socket that still has unread input resets the connection, and a reset can discard
 * the response before the client has read it: stop writing, then read until the client closes
 * (or a second, or 64 KiB). */
static void linger_close(struct server *srv, int c)
{
	long long deadline = now_ms() + LINGER_MS;
	size_t drained = 0;
	char sink[4096];

	shutdown(c, SHUT_WR);
	while (!srv->stop && drained < LINGER_MAX) {
		ssize_t n = recv(c, sink, sizeof(sink), 0);

		if (n == 0)
			break;
		if (n > 0) {
			drained += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (wait_fd(srv, c, POLLIN, deadline) <= 0)
			break;
	}
	close(c);
}

static int serve_metrics(struct server *srv, int c, bool head)
{
	char *body = NULL;
	size_t len = 0;
	FILE *m;
	int err;

	m = open_memstream(&body, &len);
	if (!m) {
		err = vmfw_err_r(-errno, "cannot render the metrics: %s", strerror(errno));
	} else {
		err = srv->render(m, srv->ctx);
		if (fclose(m) && !err)
			err = vmfw_err_r(-errno, "cannot render the metrics: %s", strerror(errno));
	}
	/* A render that failed may have stopped half-way: a 500, never a truncated text. */
	if (err)
		err = respond_text(srv, c, "500 Internal Server Error", "",
				   "vmfw could not read its counters; vmfwctl's stderr says why\n",
				   head);
	else
		err = respond(srv, c, "200 OK", "Content-Type: " VMFW_PROM_CONTENT_TYPE "\r\n", body,
			      len, head);
	free(body);
	return err;
}

/* Reads one request head and answers it. Returns 0 once the response is sent, or -errno when
 * the client went before (closed, reset, silent or not reading past the timeouts): that is the
 * client's failure, not logged, and there is no response left to protect by lingering. */
static int handle(struct server *srv, int c)
{
	long long deadline = now_ms() + HEAD_TIMEOUT_MS;
	char buf[HEAD_MAX + 1], *line, *target, *version, *q;
	size_t len = 0, line_len;
	bool head;
	int r;

	while (!memmem(buf, len, "\r\n\r\n", 4) && !memmem(buf, len, "\n\n", 2)) {
		ssize_t n;

		if (len == HEAD_MAX) {
			return respond_text(srv, c, "431 Request Header Fields Too Large", "",
					    "request head too large\n", false);
		}
		n = recv(c, buf + len, HEAD_MAX - len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		r = wait_fd(srv, c, POLLIN, deadline);
		if (r <= 0)
			return r ? r : -ETIMEDOUT;
	}
	buf[len] = '\0';
	line = buf;
	line_len = strcspn(line, "\r\n");
	line[line_len] = '\0';
	/* METHOD SP TARGET SP HTTP/1.x, nothing else (RFC 9112, section 3). */
	target = strchr(line, ' ');
	version = target ? strchr(target + 1, ' ') : NULL;
	if (!version || strlen(line) != line_len || strncmp(version + 1, "HTTP/1.", 7) ||
	    strlen(version + 1) != 8) {
		return respond_text(srv, c, "400 Bad Request", "", "bad request\n", false);
	}
	*target++ = '\0';
	*version = '\0';
	head = !strcmp(line, "HEAD");
	/* A query string changes nothing: Prometheus adds one when a scrape config has params. */
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	if (strcmp(target, VMFW_PROM_PATH))
		return respond_text(srv, c, "404 Not Found", "",
				    "not found: the metrics are at /metrics\n", head);
	if (!head && strcmp(line, "GET"))
		return respond_text(srv, c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n",
				    "method not allowed: use GET or HEAD\n", false);
	return serve_metrics(srv, c, head);
}

int vmfw_prom_serve(const struct vmfw_prom_addr *a, vmfw_prom_render_fn render, void *ctx)
{
	struct server srv = { .lfd = -1, .sfd = -1, .render = render, .ctx = ctx };
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_int, old_term;
	struct signalfd_siginfo si;
	sigset_t mask, old;
	int one = 1, err = 0;

	/* The signals arrive on a signalfd polled along with every socket: no handler and no
	 * global flag, and neither an idle wait nor a stuck client delays the exit. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, &old))
		return vmfw_err_r(-errno, "cannot block SIGINT and SIGTERM: %s", strerror(errno));
	/* An ignored signal is discarded, not queued for the signalfd, and a shell starts a
	 * background job with SIGINT ignored: take both back to the default while they are
	 * blocked. */
	sigaction(SIGINT, &dfl, &old_int);
	sigaction(SIGTERM, &dfl, &old_term);
	srv.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (srv.sfd < 0) {
		err = vmfw_err_r(-errno, "cannot create a signalfd: %s", strerror(errno));
		goto out;
	}
	srv.lfd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv.lfd < 0) {
		err = vmfw_err_r(-errno, "cannot listen on %s: %s", a->text, strerror(errno));
		goto out;
	}
	/* A restart can bind at once, while the last scrapes' connections are in TIME_WAIT. */
	setsockopt(srv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv.lfd, (const struct sockaddr *)&a->ss, a->len) || listen(srv.lfd, 16)) {
		err = vmfw_err_r(-errno, "cannot listen on %s: %s", a->text, strerror(errno));
		goto out;
	}
	vmfw_info("serving metrics on http://%s%s until SIGINT or SIGTERM", a->text, VMFW_PROM_PATH);
	while (!srv.stop) {
		int c, r = wait_fd(&srv, srv.lfd, POLLIN, -1);

		if (r == -EINTR)
			break;
		if (r < 0) {
			err = vmfw_err_r(r, "cannot wait for connections on %s: %s", a->text,
					 strerror(-r));
			break;
		}
		c = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			/* The client gave up before we took it (keep serving), or a shortage
			 * (EMFILE, ENOBUFS): pause rather than spin on a connection we cannot take. */
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED &&
			    wait_fd(&srv, -1, 0, now_ms() + 100) == -EINTR)
				break;
			continue;
		}
		if (handle(&srv, c))
			close(c);
		else
			linger_close(&srv, c);
	}
out:
	if (srv.lfd >= 0)
		close(srv.lfd);
	if (srv.sfd >= 0) {
		/* Consume what is pending, so that unblocking does not deliver it with its
		 * default action (death) after a clean stop. */
		while (read(srv.sfd, &si, sizeof(si)) == sizeof(si))
			;
		close(srv.sfd);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return err;
}
