/*
 * sysfs access to PCI devices: path building under the root prefix, small
 * file helpers, the `config` and `resource` files, BAR mapping through
 * `resourceN`, and the IOPT_PCI_SYSFS backend built from them.
 */
#define LOG_MODULE "pci"
#include "iopt_internal/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci_internal.h"

/* Kernel resource flags as sysfs `resource` prints them (include/linux/ioport.h). */
#define IORESOURCE_IO 0x00000100ULL
#define IORESOURCE_MEM 0x00000200ULL
#define IORESOURCE_PREFETCH 0x00002000ULL
#define IORESOURCE_MEM_64 0x00100000ULL

int pci_root_set(char *dst, const char *root)
{
	size_t n;

	if (root == NULL)
		root = "";
	n = strlen(root);
	while (n > 0 && root[n - 1] == '/')
		n--;
	if (n >= PATH_MAX - 64) {
		IOPT_ERRLOG("root prefix is too long");
		return -ENAMETOOLONG;
	}
	memcpy(dst, root, n);
	dst[n] = '\0';
	return 0;
}

int pci_path(char *buf, const char *root, const char *fmt, ...)
{
	size_t rl = strlen(root);
	va_list ap;
	int n;

	if (rl >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, root, rl);
	va_start(ap, fmt);
	n = vsnprintf(buf + rl, PATH_MAX - rl, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= PATH_MAX - rl)
		return -ENAMETOOLONG;
	return 0;
}

bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int sysfs_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	int err = errno;

	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int sysfs_write_str(const char *path, const char *s)
{
	/* O_TRUNC as a shell's `echo x > file`: sysfs ignores it, plain files start empty. */
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0) {
		int err = errno;

		IOPT_DEBUGLOG("cannot open %s for writing: errno %d", path, err);
		return -err;
	}
	n = write(fd, s, len);
	int err = errno;

	close(fd);
	if (n < 0) {
		IOPT_DEBUGLOG("writing '%s' to %s failed: errno %d", s, path, err);
		return -err;
	}
	return (size_t)n == len ? 0 : -EIO;
}

int sysfs_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int rc = sysfs_read_str(path, buf, sizeof(buf));

	if (rc != 0)
		return rc;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 0);

	if (end == buf || *end != '\0' || errno != 0)
		return -EIO;
	*val = v;
	return 0;
}

int sysfs_read_s64(const char *path, int64_t *val)
{
	char buf[64], *end;
	int rc = sysfs_read_str(path, buf, sizeof(buf));

	if (rc != 0)
		return rc;
	errno = 0;
	long long v = strtoll(buf, &end, 0);

	if (end == buf || *end != '\0' || errno != 0)
		return -EIO;
	*val = v;
	return 0;
}

int sysfs_link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (len == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (n < 0)
		return -errno;
	target[n] = '\0';
	const char *base = strrchr(target, '/');

	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int pci_read_numa_node(const char *dir)
{
	char path[PATH_MAX];
	int64_t node;

	if (snprintf(path, sizeof(path), "%s/numa_node", dir) >= (int)sizeof(path))
		return IOPT_NUMA_ANY;
	if (sysfs_read_s64(path, &node) != 0 || node < 0 || node > 4095)
		return IOPT_NUMA_ANY;
	return (int)node;
}

/* ---- The device directory and its config file -------------------------------- */

int pci_sysfs_dev_open(struct iopt_pci_dev *dev, struct pci_sysfs_dev *sd, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int rc = pci_dev_set_addr(dev, name);

	sd->cfg_fd = -1;
	if (rc != 0) {
		IOPT_ERRLOG("open: '%s' is not a PCI address", name);
		return rc;
	}
	rc = pci_path(sd->dir, dev->root, "/sys/bus/pci/devices/%s", dev->bdf);
	if (rc != 0)
		return rc;
	if (!path_exists(sd->dir)) {
		IOPT_ERRLOG("open %s: no such PCI device (%s absent)", dev->bdf, sd->dir);
		return -ENODEV;
	}
	if (snprintf(path, sizeof(path), "%s/config", sd->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	sd->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (sd->cfg_fd < 0) {
		rc = -errno;
		IOPT_ERRLOG("open %s: cannot open %s: errno %d%s", dev->bdf, path, -rc,
			    rc == -EACCES || rc == -EPERM ? " (needs root)" : "");
		return rc;
	}
	/* The config file is as long as the config space the kernel exposes. */
	if (fstat(sd->cfg_fd, &st) != 0 || (st.st_size != 256 && st.st_size != 4096)) {
		IOPT_ERRLOG("open %s: %s has size %lld, expected 256 or 4096", dev->bdf, path,
			    (long long)st.st_size);
		close(sd->cfg_fd);
		sd->cfg_fd = -1;
		return -EIO;
	}
	dev->cfg_size = (uint32_t)st.st_size;
	dev->numa_node = pci_read_numa_node(sd->dir);
	return 0;
}

void pci_sysfs_dev_close(struct pci_sysfs_dev *sd)
{
	if (sd->cfg_fd >= 0)
		close(sd->cfg_fd);
	sd->cfg_fd = -1;
}

/* Config space is little-endian; assemble it byte-wise so the host order does not matter. */
int pci_sysfs_cfg_read(struct pci_sysfs_dev *sd, uint32_t off, unsigned int size, uint32_t *val)
{
	uint8_t b[4];
	ssize_t n = pread(sd->cfg_fd, b, size, off);

	if (n != (ssize_t)size) {
		IOPT_ERRLOG("config read of %u bytes at 0x%x failed (%zd, errno %d)", size, off,
			    n, n < 0 ? errno : 0);
		return -EIO;
	}
	uint32_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)b[i] << (8 * i);
	*val = v;
	return 0;
}

int pci_sysfs_cfg_write(struct pci_sysfs_dev *sd, uint32_t off, unsigned int size, uint32_t val)
{
	uint8_t b[4];

	for (unsigned int i = 0; i < size; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	ssize_t n = pwrite(sd->cfg_fd, b, size, off);

	if (n != (ssize_t)size) {
		IOPT_ERRLOG("config write of %u bytes at 0x%x failed (%zd, errno %d)", size, off,
			    n, n < 0 ? errno : 0);
		return -EIO;
	}
	return 0;
}

/* ---- BARs ------------------------------------------------------------------ */

int pci_parse_resource(const char *text, unsigned int bar, struct iopt_pci_bar *info)
{
	const char *line = text;
	unsigned long long start, end, flags;

	for (unsigned int i = 0; i < bar; i++) {
		line = strchr(line, '\n');
		if (line == NULL)
			return -EIO;
		line++;
	}
	if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3)
		return -EIO;
	memset(info, 0, sizeof(*info));
	if (end == 0 && start == 0)
		return 0; /* not implemented */
	if (end < start)
		return -EIO;
	info->size = end - start + 1;
	info->phys = start;
	info->is_io = (flags & IORESOURCE_IO) != 0;
	info->is_64 = (flags & IORESOURCE_MEM_64) != 0;
	info->prefetchable = (flags & IORESOURCE_PREFETCH) != 0;
	info->mappable = (flags & IORESOURCE_MEM) != 0 && !info->is_io;
	return 0;
}

int pci_sysfs_bar_info(struct pci_sysfs_dev *sd, unsigned int bar, struct iopt_pci_bar *info)
{
	char path[PATH_MAX], text[1024];
	int rc;

	if (snprintf(path, sizeof(path), "%s/resource", sd->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = sysfs_read_str(path, text, sizeof(text));
	if (rc != 0) {
		IOPT_ERRLOG("cannot read %s: %d", path, rc);
		return rc == -ENOENT ? -EIO : rc;
	}
	rc = pci_parse_resource(text, bar, info);
	if (rc != 0)
		IOPT_ERRLOG("%s: line %u is malformed", path, bar);
	return rc;
}

int pci_sysfs_map_bar(struct pci_sysfs_dev *sd, unsigned int bar, struct iopt_mmio **out)
{
	struct iopt_pci_bar info;
	char path[PATH_MAX];
	int rc = pci_sysfs_bar_info(sd, bar, &info);

	if (rc != 0)
		return rc;
	if (info.size == 0) {
		IOPT_ERRLOG("%s: BAR%u is not implemented", sd->dir, bar);
		return -ENOENT;
	}
	if (!info.mappable) {
		IOPT_ERRLOG("%s: BAR%u is an I/O-port BAR and cannot be mapped", sd->dir, bar);
		return -ENOTSUP;
	}
	if (snprintf(path, sizeof(path), "%s/resource%u", sd->dir, bar) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = iopt_mmio_map_file(path, 0, (size_t)info.size, out);
	if (rc != 0)
		IOPT_ERRLOG("%s: mapping BAR%u (0x%" PRIx64 " bytes) failed: %d", sd->dir, bar,
			    info.size, rc);
	return rc;
}

/* ---- The IOPT_PCI_SYSFS backend --------------------------------------------- */

static int sysfs_open(struct iopt_pci_dev *dev, const struct iopt_pci_opts *opts, const char *name)
{
	struct pci_sysfs_dev *sd = calloc(1, sizeof(*sd));
	int rc;

	(void)opts;
	if (sd == NULL)
		return -ENOMEM;
	rc = pci_sysfs_dev_open(dev, sd, name);
	if (rc != 0) {
		free(sd);
		return rc;
	}
	dev->priv = sd;
	snprintf(dev->describe, sizeof(dev->describe), "sysfs:%s", sd->dir);
	return 0;
}

static void sysfs_close(struct iopt_pci_dev *dev)
{
	pci_sysfs_dev_close(dev->priv);
	free(dev->priv);
	dev->priv = NULL;
}

static int sysfs_cfg_read(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val)
{
	return pci_sysfs_cfg_read(dev->priv, off, size, val);
}

static int sysfs_cfg_write(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val)
{
	return pci_sysfs_cfg_write(dev->priv, off, size, val);
}

static int sysfs_bar_info(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info)
{
	return pci_sysfs_bar_info(dev->priv, bar, info);
}

static int sysfs_map_bar(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out)
{
	return pci_sysfs_map_bar(dev->priv, bar, out);
}

const struct pci_backend pci_sysfs_backend = {
	.name = "sysfs",
	.open = sysfs_open,
	.close = sysfs_close,
	.cfg_read = sysfs_cfg_read,
	.cfg_write = sysfs_cfg_write,
	.bar_info = sysfs_bar_info,
	.map_bar = sysfs_map_bar,
};
