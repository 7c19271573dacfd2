/*
 * A fake sysfs/dev tree in a temporary directory, for the PCI unit tests.
 * The code under test takes every /sys and /dev path relative to a root
 * prefix; the tests point it at one of these trees. Driver files (bind,
 * unbind, new_id, ...) are plain files, so a test reads back what the code
 * wrote to them.
 */
#ifndef IOPT_TEST_FAKE_SYSFS_H
#define IOPT_TEST_FAKE_SYSFS_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fake_tree {
	char root[PATH_MAX];
};

static inline void ft_pathv(const struct fake_tree *t, char *out, const char *fmt, va_list ap)
{
	size_t n = (size_t)snprintf(out, PATH_MAX, "%s/", t->root);

	vsnprintf(out + n, PATH_MAX - n, fmt, ap);
}

static inline void ft_path(const struct fake_tree *t, char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ft_pathv(t, out, fmt, ap);
	va_end(ap);
}

/* mkdir -p of the directory part of path (or all of it when whole). */
static inline void ft_mkdirs_abs(const char *path, int whole)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	if (!whole) {
		char *s = strrchr(tmp, '/');

		if (s != NULL)
			*s = '\0';
	}
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

static inline int ft_init(struct fake_tree *t)
{
	snprintf(t->root, sizeof(t->root), "/tmp/iopt_pci_ut_XXXXXX");
	return mkdtemp(t->root) != NULL ? 0 : -errno;
}

static inline int ft_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void ft_destroy(struct fake_tree *t)
{
	if (t->root[0] != '\0')
		nftw(t->root, ft_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	t->root[0] = '\0';
}

static inline void ft_mkdir(const struct fake_tree *t, const char *fmt, ...)
{
	char p[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	ft_pathv(t, p, fmt, ap);
	va_end(ap);
	ft_mkdirs_abs(p, 1);
}

static inline void ft_write_bin(const struct fake_tree *t, const char *rel, const void *buf,
				size_t len)
{
	char p[PATH_MAX];

	ft_path(t, p, "%s", rel);
	ft_mkdirs_abs(p, 0);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (len > 0 && write(fd, buf, len) != (ssize_t)len)
			fprintf(stderr, "fake tree: short write to %s\n", p);
		close(fd);
	}
}

static inline void ft_write(const struct fake_tree *t, const char *rel, const char *s)
{
	ft_write_bin(t, rel, s, strlen(s));
}

/* Read a file of the tree into buf (NUL-terminated); "" when absent. */
static inline const char *ft_read(const struct fake_tree *t, const char *rel, char *buf,
				  size_t len)
{
	char p[PATH_MAX];
	int fd;
	ssize_t n = 0;

	ft_path(t, p, "%s", rel);
	fd = open(p, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static inline void ft_symlink(const struct fake_tree *t, const char *rel, const char *target)
{
	char p[PATH_MAX];

	ft_path(t, p, "%s", rel);
	ft_mkdirs_abs(p, 0);
	unlink(p);
	if (symlink(target, p) != 0)
		fprintf(stderr, "fake tree: symlink %s failed\n", p);
}

static inline int ft_exists(const struct fake_tree *t, const char *rel)
{
	char p[PATH_MAX];

	ft_path(t, p, "%s", rel);
	return access(p, F_OK) == 0;
}

/* A driver directory with empty bind/unbind/new_id/remove_id files. */
static inline void ft_add_driver(const struct fake_tree *t, const char *drv)
{
	static const char *const files[] = { "bind", "unbind", "new_id", "remove_id" };
	char rel[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", drv, files[i]);
		ft_write(t, rel, "");
	}
}

/*
 * A device directory: config (cfg_size bytes, IDs at 0, command 0x0006 at 4),
 * vendor/device/class files, a resource file with BAR0 of 4 KiB memory at
 * 0xfe000000 and BAR1 as an I/O BAR, numa_node, and when drv is not NULL a
 * driver link (and the driver directory).
 */
static inline void ft_add_device(const struct fake_tree *t, const char *bdf, uint16_t vendor,
				 uint16_t device, size_t cfg_size, const char *drv)
{
	char rel[PATH_MAX], txt[64];
	uint8_t cfg[4096] = { 0 };

	cfg[0] = (uint8_t)vendor;
	cfg[1] = (uint8_t)(vendor >> 8);
	cfg[2] = (uint8_t)device;
	cfg[3] = (uint8_t)(device >> 8);
	cfg[4] = 0x06; /* memory decode, bus master */
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", bdf);
	ft_write_bin(t, rel, cfg, cfg_size);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/vendor", bdf);
	snprintf(txt, sizeof(txt), "0x%04x\n", vendor);
	ft_write(t, rel, txt);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/device", bdf);
	snprintf(txt, sizeof(txt), "0x%04x\n", device);
	ft_write(t, rel, txt);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/class", bdf);
	ft_write(t, rel, "0x00ff00\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/numa_node", bdf);
	ft_write(t, rel, "-1\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/resource", bdf);
	ft_write(t, rel,
		 "0x00000000fe000000 0x00000000fe000fff 0x0000000000040200\n"
		 "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		 "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	if (drv != NULL) {
		char target[PATH_MAX];

		ft_add_driver(t, drv);
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", bdf);
		snprintf(target, sizeof(target), "../../../../bus/pci/drivers/%s", drv);
		ft_symlink(t, rel, target);
	}
}

#endif
