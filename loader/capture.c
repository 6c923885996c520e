/* Capture reader for `vmfwctl replay`: libpcap for pcap/pcapng, zlib for gzip, link headers rebuilt as Ethernet. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>
#include <zlib.h>

#include "capture.h"

#define ETH_HDR 14u
#define SLL_HDR 16u
#define SLL2_HDR 20u
#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define GZIP_CHUNK (64u * 1024u)

/* LINKTYPE_RAW as stored in files; libpcap normally maps it to DLT_RAW, but a build that does
 * not would hand it through unchanged. */
#define LINKTYPE_RAW_FILE 101

#define SUPPORTED_LINKS "Ethernet (EN10MB), Linux cooked (LINUX_SLL, LINUX_SLL2) and raw IP (RAW, IPV4, IPV6)"

enum link_kind {
	LINK_ETHER,
	LINK_SLL,
	LINK_SLL2,
	LINK_RAW,       /* IPv4 or IPv6, told apart by the version nibble */
	LINK_IPV4,
	LINK_IPV6,
};

/* Gzip source read through a stdio cookie, so libpcap streams the decompressed bytes and a
 * capture of any size needs no more memory than an uncompressed one. */
struct gz_source {
	FILE *raw;
	z_stream zs;
	bool zs_ready;
	bool eof;
	unsigned members;       /* gzip members decompressed to their end */
	bool junk;              /* bytes after the last member: ignored, the capture is whole */
	int err;                /* Z_* code of the first failure; Z_OK while healthy */
	char msg[128];
	uint8_t in[GZIP_CHUNK];
};

struct vmfw_capture {
	pcap_t *pcap;
	struct gz_source *gz;   /* NULL for an uncompressed file */
	FILE *errs;
	char *path;
	enum link_kind kind;
	int dlt;
	uint64_t count;
	bool done;
	uint8_t frame[VMFW_CAPTURE_MAX_FRAME];
};

static void gz_fail(struct gz_source *g, int err, const char *what)
{
	if (g->err != Z_OK)
		return;
	g->err = err;
	snprintf(g->msg, sizeof(g->msg), "%s", what);
}

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
	struct gz_source *g = cookie;
	size_t got;

	if (size > UINT_MAX)
		size = UINT_MAX;
	g->zs.next_out = (Bytef *)buf;
	g->zs.avail_out = (uInt)size;
	while (g->zs.avail_out > 0 && !g->eof && g->err == Z_OK) {
		if (g->zs.avail_in == 0) {
			size_t n = fread(g->in, 1, sizeof(g->in), g->raw);

			if (n == 0) {
				if (ferror(g->raw))
					gz_fail(g, Z_ERRNO, strerror(errno ? errno : EIO));
				else
					gz_fail(g, Z_BUF_ERROR, "compressed data ends early (truncated gzip file)");
				/* libpcap sees the end of the data and says where a record was cut. */
				g->eof = true;
				break;
			}
			g->zs.next_in = g->in;
			g->zs.avail_in = (uInt)n;
		}
		int rc = inflate(&g->zs, Z_NO_FLUSH);

		if (rc == Z_STREAM_END) {
			/* gzip allows several members back to back (cat a.gz b.gz); another one starts
			 * only if more input follows. */
			if (g->zs.avail_in == 0) {
				int c = getc(g->raw);

				if (c == EOF) {
					g->eof = true;
					break;
				}
				ungetc(c, g->raw);
			}
			inflateReset(&g->zs);     /* also zeroes total_out, for the check below */
			g->members++;
		} else if (rc == Z_BUF_ERROR && g->zs.avail_in == 0) {
			continue;       /* needs more input; the loop reads it */
		} else if (rc != Z_OK && g->members && !g->zs.total_out) {
			/* Junk after the last member (tape padding, say) is what gzip(1) ignores with a
			 * warning; the capture it follows is complete. */
			gz_fail(g, rc, "ignored trailing bytes after the gzip data");
			g->junk = true;
			g->eof = true;
		} else if (rc != Z_OK) {
			char what[96];

			snprintf(what, sizeof(what), "corrupt compressed data (zlib: %s)",
				 g->zs.msg ? g->zs.msg : zError(rc));
			gz_fail(g, rc, what);
		}
	}
	got = size - g->zs.avail_out;
	if (got == 0 && g->err != Z_OK && !g->eof)
		return -1;
	return (ssize_t)got;
}

static void gz_free(struct gz_source *g)
{
	if (!g)
		return;
	if (g->zs_ready)
		inflateEnd(&g->zs);
	if (g->raw)
		fclose(g->raw);
	free(g);
}

/* Wraps raw (positioned at the gzip magic) in a stream of decompressed bytes. Takes raw. */
static int gz_open(FILE *raw, struct gz_source **gout, FILE **out)
{
	/* No close hook: the capture owns the source and frees it after pcap_close. */
	static const cookie_io_functions_t io = { .read = gz_read };
	struct gz_source *g = calloc(1, sizeof(*g));

	if (!g) {
		fclose(raw);
		return -ENOMEM;
	}
	g->raw = raw;
	g->err = Z_OK;
	/* 16 + MAX_WBITS: gzip framing only, so a zlib or raw deflate stream is not mistaken for one. */
	if (inflateInit2(&g->zs, 16 + MAX_WBITS) != Z_OK) {
		gz_free(g);
		return -ENOMEM;
	}
	g->zs_ready = true;
	*out = fopencookie(g, "rb", io);
	if (!*out) {
		gz_free(g);
		return -ENOMEM;
	}
	*gout = g;
	return 0;
}

static int link_kind_of(int dlt, enum link_kind *kind)
{
	switch (dlt) {
	case DLT_EN10MB:
		*kind = LINK_ETHER;
		return 0;
	case DLT_LINUX_SLL:
		*kind = LINK_SLL;
		return 0;
	case DLT_LINUX_SLL2:
		*kind = LINK_SLL2;
		return 0;
	case DLT_RAW:
	case LINKTYPE_RAW_FILE:
		*kind = LINK_RAW;
		return 0;
	case DLT_IPV4:
		*kind = LINK_IPV4;
		return 0;
	case DLT_IPV6:
		*kind = LINK_IPV6;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static void report_unsupported(FILE *errs, const char *path, int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);
	const char *desc = pcap_datalink_val_to_description(dlt);

	if (name)
		fprintf(errs, "%s: error: unsupported link type %s (%d, %s); replay reads " SUPPORTED_LINKS " captures\n",
			path, name, dlt, desc ? desc : "no description");
	else
		fprintf(errs, "%s: error: unsupported link type %d (unknown to libpcap); replay reads " SUPPORTED_LINKS " captures\n",
			path, dlt);
}

void vmfw_capture_close(struct vmfw_capture *c)
{
	if (!c)
		return;
	if (c->pcap)
		pcap_close(c->pcap);    /* closes the FILE, and with it the gzip cookie */
	gz_free(c->gz);
	free(c->path);
	free(c);
}

int vmfw_capture_open(const char *path, FILE *errs, struct vmfw_capture **out)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct vmfw_capture *c;
	struct stat st;
	FILE *f;
	int rc, first;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		fprintf(errs, "%s: error: cannot open capture: %s\n", path, strerror(-rc));
		return rc;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		fprintf(errs, "%s: error: is a directory, not a capture file\n", path);
		return -EISDIR;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		fclose(f);
		fprintf(errs, "%s: error: out of memory\n", path);
		return -ENOMEM;
	}
	c->errs = errs;

	/* One byte of look-ahead, pushed back, so pipes (<(zcat ...)) work as well as files;
	 * no pcap or pcapng magic starts with 0x1f. */
	first = getc(f);
	if (first != EOF)
		ungetc(first, f);
	if (first == 0x1f) {
		rc = gz_open(f, &c->gz, &f);
		if (rc) {
			fprintf(errs, "%s: error: cannot set up gzip decompression: %s\n", path, strerror(-rc));
			vmfw_capture_close(c);
			return rc;
		}
	}

	c->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!c->pcap) {
		/* libpcap leaves the FILE to us when it refuses it. */
		if (c->gz && c->gz->err != Z_OK)
			fprintf(errs, "%s: error: gzip: %s, before the capture's header\n", path, c->gz->msg);
		else if (first == EOF)
			fprintf(errs, "%s: error: empty file, not a capture\n", path);
		else
			fprintf(errs, "%s: error: not a readable pcap or pcapng capture%s: %s\n", path,
				c->gz ? " (after gzip decompression)" : "", errbuf);
		fclose(f);
		vmfw_capture_close(c);
		return -EINVAL;
	}
	c->dlt = pcap_datalink(c->pcap);
	if (link_kind_of(c->dlt, &c->kind)) {
		report_unsupported(errs, path, c->dlt);
		vmfw_capture_close(c);
		return -ENOTSUP;
	}
	*out = c;
	return 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Builds an Ethernet frame in c->frame from a link header's ethertype, source address and the
 * bytes after the link header. Destination MAC is zero: the filter never looks at it. */
static uint32_t rebuild(struct vmfw_capture *c, uint16_t ethertype, const uint8_t *src_mac,
			const uint8_t *payload, uint32_t plen)
{
	uint8_t *f = c->frame;

	memset(f, 0, 12);
	if (src_mac)
		memcpy(f + 6, src_mac, 6);
	f[12] = (uint8_t)(ethertype >> 8);
	f[13] = (uint8_t)ethertype;
	plen = min_u32(plen, VMFW_CAPTURE_MAX_FRAME - ETH_HDR);
	if (plen)
		memcpy(f + ETH_HDR, payload, plen);
	return ETH_HDR + plen;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Returns the frame length; c->frame or d holds the frame. A cooked packet whose link header is
 * cut short yields an empty frame: there is no ethertype to give it, and a frame shorter than an
 * Ethernet header is the caller's to judge (malformed). */
static uint32_t to_ethernet(struct vmfw_capture *c, const uint8_t *d, uint32_t caplen,
			    const uint8_t **frame)
{
	uint16_t type;

	*frame = c->frame;
	switch (c->kind) {
	case LINK_ETHER:
		*frame = d;
		return min_u32(caplen, VMFW_CAPTURE_MAX_FRAME);
	case LINK_SLL:
		/* pkttype(2) hatype(2) halen(2) addr(8) protocol(2); protocol values below 0x0600
		 * (802.2 LLC, Novell 802.3, CAN) land in the 802.3 length range and so are non-IP,
		 * which is what they are. */
		if (caplen < SLL_HDR)
			return 0;
		return rebuild(c, be16(d + 14), be16(d + 4) == 6 ? d + 6 : NULL, d + SLL_HDR,
			       caplen - SLL_HDR);
	case LINK_SLL2:
		/* protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8) */
		if (caplen < SLL2_HDR)
			return 0;
		return rebuild(c, be16(d), d[11] == 6 ? d + 12 : NULL, d + SLL2_HDR, caplen - SLL2_HDR);
	case LINK_RAW:
		/* Version 6 is IPv6; anything else (4, a bad version, an empty packet) is labelled IPv4,
		 * so that a bad version is judged as the malformed IP it is rather than as non-IP. */
		type = caplen > 0 && d[0] >> 4 == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
		return rebuild(c, type, NULL, d, caplen);
	case LINK_IPV4:
		return rebuild(c, ETHERTYPE_IPV4, NULL, d, caplen);
	case LINK_IPV6:
		return rebuild(c, ETHERTYPE_IPV6, NULL, d, caplen);
	}
	return 0;
}

static uint32_t wire_len_of(const struct vmfw_capture *c, uint32_t len)
{
	uint32_t hdr = c->kind == LINK_SLL ? SLL_HDR : c->kind == LINK_SLL2 ? SLL2_HDR : 0;

	if (c->kind == LINK_ETHER)
		return len;
	if (len < hdr)
		return 0;
	len -= hdr;
	return len > UINT32_MAX - ETH_HDR ? UINT32_MAX : len + ETH_HDR;
}

int vmfw_capture_next(struct vmfw_capture *c, struct vmfw_packet *pkt)
{
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc;

	if (c->done)
		return 0;
	rc = pcap_next_ex(c->pcap, &h, &d);
	if (rc == 1) {
		c->count++;
		/* Unsigned arithmetic: a fuzzed timestamp wraps instead of being undefined. */
		pkt->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		pkt->len = to_ethernet(c, d, h->caplen, &pkt->data);
		pkt->wire_len = wire_len_of(c, h->len);
		return 1;
	}
	c->done = true;
	if (c->gz && c->gz->junk && rc == PCAP_ERROR_BREAK)
		fprintf(c->errs, "%s: warning: gzip: %s\n", c->path, c->gz->msg);
	else if (c->gz && c->gz->err != Z_OK)
		fprintf(c->errs, "%s: warning: gzip: %s; stopping after %llu packets\n", c->path,
			c->gz->msg, (unsigned long long)c->count);
	else if (rc != PCAP_ERROR_BREAK)
		fprintf(c->errs, "%s: warning: %s; stopping after %llu packets\n", c->path,
			pcap_geterr(c->pcap), (unsigned long long)c->count);
	return 0;
}
