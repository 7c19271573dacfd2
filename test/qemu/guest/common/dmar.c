/*
 * A minimal reader of the ACPI DMAR table (VT-d spec, chapter 8): enough to
 * find the remapping unit's register base and its device scopes.
 * TEMPORARY: lib/env's firmware parser (being written on another branch)
 * replaces this once it is on main.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

/* Layout, VT-d spec 8.1 (DMAR header) and 8.3 (DRHD), 8.3.1 (device scope). */
#define ACPI_HDR_LEN 36u
#define DMAR_HAW_OFF 36u
#define DMAR_STRUCTS_OFF 48u
#define DMAR_TYPE_DRHD 0u
#define DRHD_FLAGS_OFF 4u
#define DRHD_FLAG_INCLUDE_PCI_ALL 0x1u
#define DRHD_SEGMENT_OFF 6u
#define DRHD_REG_BASE_OFF 8u
#define DRHD_SCOPES_OFF 16u
#define SCOPE_HDR_LEN 6u
#define SCOPE_BUS_OFF 5u
#define DMAR_MAX_LEN 65536u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Parse the device scopes in [p, p + len) into drhd. */
static int parse_scopes(const uint8_t *p, size_t len, struct dmar_drhd *drhd, char *err,
			size_t err_len)
{
	size_t off = 0;

	while (off < len) {
		if (len - off < SCOPE_HDR_LEN || p[off + 1] < SCOPE_HDR_LEN + 2 ||
		    p[off + 1] > len - off || (p[off + 1] - SCOPE_HDR_LEN) % 2 != 0) {
			snprintf(err, err_len, "bad device scope length at +%zu", off);
			return -EINVAL;
		}
		if (drhd->nr_scopes < DMAR_MAX_SCOPES) {
			struct dmar_scope *s = &drhd->scopes[drhd->nr_scopes++];
			const uint8_t *last = p + off + p[off + 1] - 2; /* last (dev, fn) */

			s->type = p[off];
			s->bus = p[off + SCOPE_BUS_OFF];
			s->hops = (uint8_t)((p[off + 1] - SCOPE_HDR_LEN) / 2);
			s->devfn = (uint8_t)(last[0] << 3 | (last[1] & 7));
		}
		off += p[off + 1];
	}
	return 0;
}

static int parse(const uint8_t *t, size_t len, struct dmar_drhd *drhd, unsigned int *nr_drhd,
		 uint8_t *haw, char *err, size_t err_len)
{
	uint8_t sum = 0;
	size_t off;

	if (len < DMAR_STRUCTS_OFF || memcmp(t, "DMAR", 4) != 0 ||
	    (t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24) != len) {
		snprintf(err, err_len, "bad signature or length (file %zu bytes)", len);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	if (sum != 0) {
		snprintf(err, err_len, "checksum off by 0x%02x", sum);
		return -EINVAL;
	}
	*haw = (uint8_t)(t[DMAR_HAW_OFF] + 1);
	*nr_drhd = 0;
	for (off = DMAR_STRUCTS_OFF; off < len;) {
		uint16_t type, slen;

		if (len - off < 4 || (slen = get16(t + off + 2)) < 4 || slen > len - off) {
			snprintf(err, err_len, "bad structure length at %zu", off);
			return -EINVAL;
		}
		type = get16(t + off);
		if (type == DMAR_TYPE_DRHD) {
			if (slen < DRHD_SCOPES_OFF) {
				snprintf(err, err_len, "DRHD at %zu too short (%u)", off, slen);
				return -EINVAL;
			}
			if ((*nr_drhd)++ == 0) {
				int rc;

				memset(drhd, 0, sizeof(*drhd));
				drhd->include_pci_all = t[off + DRHD_FLAGS_OFF] & DRHD_FLAG_INCLUDE_PCI_ALL;
				drhd->segment = get16(t + off + DRHD_SEGMENT_OFF);
				drhd->reg_base = get64(t + off + DRHD_REG_BASE_OFF);
				rc = parse_scopes(t + off + DRHD_SCOPES_OFF, slen - DRHD_SCOPES_OFF, drhd,
						  err, err_len);
				if (rc != 0)
					return rc;
			}
		}
		off += slen;
	}
	if (*nr_drhd == 0) {
		snprintf(err, err_len, "no DRHD");
		return -EINVAL;
	}
	return 0;
}

int dmar_read_first_drhd(const char *path, struct dmar_drhd *drhd, unsigned int *nr_drhd,
			 uint8_t *haw, char *err, size_t err_len)
{
	static uint8_t table[DMAR_MAX_LEN];
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	/* sysfs ACPI tables report size 0 until read: read to EOF. */
	while (len < sizeof(table) && (n = read(fd, table + len, sizeof(table) - len)) > 0)
		len += (size_t)n;
	close(fd);
	return parse(table, len, drhd, nr_drhd, haw, err, err_len);
}
