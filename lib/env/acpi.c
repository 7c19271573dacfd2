/*
 * Reading ACPI tables and device tree blobs from files or sysfs, and the
 * header check every ACPI parser shares (ACPI 6.5 §5.2.6).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iopt/firmware.h"

#define LOG_MODULE "acpi"
#include "iopt_internal/log.h"

#include "env/acpi_tables.h"

#define SYSFS_ACPI_TABLES "/sys/firmware/acpi/tables/"
#define SYSFS_FDT "/sys/firmware/fdt"

/*
 * sysfs files report size 4096 or 0 whatever their contents, so the file is
 * read until EOF into a buffer that grows, never trusting st_size.
 */
int fw_read_file(const char *path, void **buf, size_t *len)
{
	size_t cap = 4096, used = 0;
	uint8_t *data;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		IOPT_ERRLOG("cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	data = malloc(cap);
	if (data == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (used == cap) {
			uint8_t *bigger;

			if (cap >= IOPT_FW_MAX_SIZE) {
				IOPT_ERRLOG("%s is larger than %u bytes", path, IOPT_FW_MAX_SIZE);
				rc = -EFBIG;
				break;
			}
			bigger = realloc(data, cap * 2);
			if (bigger == NULL) {
				rc = -ENOMEM;
				break;
			}
			data = bigger;
			cap *= 2;
		}
		n = read(fd, data + used, cap - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			IOPT_ERRLOG("cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (rc != 0) {
		free(data);
		return rc;
	}
	*buf = data;
	*len = used;
	return 0;
}

static bool is_signature(const char *s)
{
	if (strlen(s) != 4)
		return false;
	for (int i = 0; i < 4; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

int iopt_acpi_table_read(const char *name_or_path, void **buf, size_t *len)
{
	char path[sizeof(SYSFS_ACPI_TABLES) + 8];
	const char *sig = NULL, *file = name_or_path;
	void *data;
	size_t n;
	int rc;

	if (name_or_path == NULL || name_or_path[0] == '\0' || buf == NULL || len == NULL)
		return -EINVAL;
	if (is_signature(name_or_path)) {
		sig = name_or_path;
		snprintf(path, sizeof(path), SYSFS_ACPI_TABLES "%s", sig);
		file = path;
	}
	rc = fw_read_file(file, &data, &n);
	if (rc != 0)
		return rc;
	if (n < ACPI_HDR_SIZE || le32((uint8_t *)data + ACPI_HDR_LENGTH) != n) {
		IOPT_ERRLOG("%s: header Length (offset %u) does not match the %zu bytes read",
			    file, ACPI_HDR_LENGTH, n);
		rc = -EPROTO;
	} else if (sig != NULL && memcmp(data, sig, 4) != 0) {
		IOPT_ERRLOG("%s: Signature (offset 0) is not %s", file, sig);
		rc = -EPROTO;
	}
	if (rc != 0) {
		free(data);
		return rc;
	}
	*buf = data;
	*len = n;
	return 0;
}

void iopt_acpi_table_free(void *buf)
{
	free(buf);
}

int iopt_fdt_blob_read(const char *path, void **buf, size_t *len)
{
	if (buf == NULL || len == NULL)
		return -EINVAL;
	return fw_read_file(path != NULL ? path : SYSFS_FDT, buf, len);
}

void iopt_fdt_blob_free(void *buf)
{
	free(buf);
}

int acpi_table_check(const uint8_t *buf, size_t len, const char *sig, uint32_t min_len,
		     uint32_t flags, uint32_t *table_len)
{
	uint32_t length;
	uint8_t sum = 0;

	if (buf == NULL)
		return -EINVAL;
	if (len < ACPI_HDR_SIZE) {
		IOPT_ERRLOG("%s: %zu bytes, shorter than the %u-byte ACPI header", sig, len,
			    ACPI_HDR_SIZE);
		return -EPROTO;
	}
	if (memcmp(buf + ACPI_HDR_SIGNATURE, sig, 4) != 0) {
		IOPT_ERRLOG("%s: Signature (offset 0) is \"%.4s\"", sig,
			    (const char *)buf + ACPI_HDR_SIGNATURE);
		return -EPROTO;
	}
	length = le32(buf + ACPI_HDR_LENGTH);
	if (length > len) {
		IOPT_ERRLOG("%s: Length (offset %u) 0x%x is beyond the 0x%zx bytes given", sig,
			    ACPI_HDR_LENGTH, length, len);
		return -EPROTO;
	}
	if (length < min_len) {
		IOPT_ERRLOG("%s: Length (offset %u) 0x%x is shorter than the 0x%x-byte header",
			    sig, ACPI_HDR_LENGTH, length, min_len);
		return -EPROTO;
	}
	for (uint32_t i = 0; i < length; i++)
		sum = (uint8_t)(sum + buf[i]);
	if (sum != 0) {
		if (!(flags & IOPT_FW_F_ALLOW_BAD_CHECKSUM)) {
			IOPT_ERRLOG("%s: Checksum (offset %u) is wrong: bytes sum to 0x%02x", sig,
				    ACPI_HDR_CHECKSUM, sum);
			return -EPROTO;
		}
		IOPT_WARNLOG("%s: Checksum (offset %u) is wrong: bytes sum to 0x%02x; accepted",
			     sig, ACPI_HDR_CHECKSUM, sum);
	}
	if (length < len)
		IOPT_DEBUGLOG("%s: %zu bytes after the table's Length ignored", sig, len - length);
	*table_len = length;
	return 0;
}
