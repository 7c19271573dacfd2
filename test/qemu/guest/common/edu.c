/*
 * QEMU's edu PCI device (docs/specs/edu.rst in QEMU) reached the way a user
 * reaches a device: bound to uio_pci_generic through sysfs, BAR0 mapped
 * through sysfs resource0, bus mastering set in the sysfs config file.
 * The register programming is edu's own and test-specific.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

/* edu BAR0 registers. */
#define EDU_REG_ID 0x00         /* identification: 0xRRrr00ed */
#define EDU_REG_LIVENESS 0x04   /* reads back the inverse of what was written */
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_CMD_RUN 0x1ull  /* start; edu clears it when the transfer is done */
#define EDU_DMA_CMD_TO_RAM 0x2ull /* direction: device buffer -> RAM */
#define EDU_BAR0_MAP_LEN 4096u
/* One DMA takes about 100 ms of virtual time; allow for a slow host. */
#define EDU_DMA_TIMEOUT_S 10.0

/* PCI configuration space (PCI Local Bus 3.0, 6.2.2). */
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MASTER 0x4

#define PCI_SYSFS "/sys/bus/pci/devices"
#define UIO_NEW_ID "/sys/bus/pci/drivers/uio_pci_generic/new_id"

static int read_hex_file(const char *path, unsigned long *val)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*val = strtoul(buf, NULL, 16);
	return 0;
}

static int write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : (n < 0 ? -errno : -EIO);
}

int edu_find(struct edu *edu)
{
	DIR *d = opendir(PCI_SYSFS);
	struct dirent *e;
	char path[300];
	unsigned long vendor, device;
	unsigned int dom, bus, dev, fn;

	if (d == NULL)
		return -ENODEV;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(edu->bdf))
			continue;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/vendor", e->d_name);
		if (read_hex_file(path, &vendor) != 0 || vendor != EDU_VENDOR)
			continue;
		snprintf(path, sizeof(path), PCI_SYSFS "/%s/device", e->d_name);
		if (read_hex_file(path, &device) != 0 || device != EDU_DEVICE)
			continue;
		if (sscanf(e->d_name, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
			continue;
		memset(edu, 0, sizeof(*edu));
		snprintf(edu->bdf, sizeof(edu->bdf), "%s", e->d_name);
		snprintf(edu->sysfs, sizeof(edu->sysfs), PCI_SYSFS "/%s", e->d_name);
		edu->rid = (uint16_t)(bus << 8 | dev << 3 | fn);
		edu->uio_fd = -1;
		closedir(d);
		return 0;
	}
	closedir(d);
	return -ENODEV;
}

/* Name of the driver bound to the device, or "" when none. */
static void bound_driver(const struct edu *edu, char *name, size_t len)
{
	char path[160], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/driver", edu->sysfs);
	n = readlink(path, link, sizeof(link) - 1);
	name[0] = '\0';
	if (n > 0) {
		link[n] = '\0';
		snprintf(name, len, "%s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	}
}

/* The uio device node of a bound device: /sys/.../uio/uioN -> /dev/uioN. */
static int find_uio_node(const struct edu *edu, char *node, size_t len)
{
	char path[160];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/uio", edu->sysfs);
	/* new_id probes synchronously, but give devtmpfs a moment. */
	for (int i = 0; i < 100; i++) {
		d = opendir(path);
		if (d != NULL) {
			while ((e = readdir(d)) != NULL) {
				if (strncmp(e->d_name, "uio", 3) == 0) {
					snprintf(node, len, "/dev/%s", e->d_name);
					closedir(d);
					if (access(node, R_OK | W_OK) == 0)
						return 0;
					break;
				}
			}
			if (e == NULL)
				closedir(d);
		}
		usleep(20000);
	}
	return -ENOENT;
}

static int set_bus_master(const struct edu *edu, uint16_t *cmd_after)
{
	char path[160];
	uint16_t cmd;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/config", edu->sysfs);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &cmd, 2, PCI_COMMAND) != 2) {
		rc = -EIO;
		goto out;
	}
	cmd |= PCI_COMMAND_MASTER;
	if (pwrite(fd, &cmd, 2, PCI_COMMAND) != 2 || pread(fd, &cmd, 2, PCI_COMMAND) != 2) {
		rc = -EIO;
		goto out;
	}
	*cmd_after = cmd;
	if (!(cmd & PCI_COMMAND_MASTER))
		rc = -EIO;
out:
	close(fd);
	return rc;
}

int edu_open(struct edu *edu, char *err, size_t err_len)
{
	char drv[256], node[272], path[160];
	uint16_t cmd = 0;
	int rc;

	bound_driver(edu, drv, sizeof(drv));
	if (strcmp(drv, "uio_pci_generic") != 0) {
		if (drv[0] != '\0') {
			snprintf(err, err_len, "%s is bound to %s", edu->bdf, drv);
			return -EBUSY;
		}
		rc = write_file(UIO_NEW_ID, "1234 11e8");
		if (rc != 0 && rc != -EEXIST) {
			snprintf(err, err_len, "write to %s: %s", UIO_NEW_ID, strerror(-rc));
			return rc;
		}
	}
	rc = find_uio_node(edu, node, sizeof(node));
	if (rc != 0) {
		snprintf(err, err_len, "no uio device for %s after new_id", edu->bdf);
		return rc;
	}
	edu->uio_fd = open(node, O_RDWR | O_CLOEXEC);
	if (edu->uio_fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "open %s: %s", node, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/resource0", edu->sysfs);
	rc = iopt_mmio_map_file(path, 0, EDU_BAR0_MAP_LEN, &edu->bar0);
	if (rc != 0) {
		snprintf(err, err_len, "map %s: %s", path, strerror(-rc));
		goto fail;
	}
	rc = set_bus_master(edu, &cmd);
	if (rc != 0) {
		snprintf(err, err_len, "bus mastering not set (command 0x%04x)", cmd);
		goto fail;
	}
	snprintf(err, err_len, "%s on %s, command 0x%04x", edu->bdf, node, cmd);
	return 0;
fail:
	edu_close(edu);
	return rc;
}

void edu_close(struct edu *edu)
{
	iopt_mmio_unmap(edu->bar0);
	edu->bar0 = NULL;
	if (edu->uio_fd >= 0)
		close(edu->uio_fd);
	edu->uio_fd = -1;
}

bool edu_alive(const struct edu *edu, uint32_t *id)
{
	const uint32_t probe = 0x5a3c0f17;

	*id = iopt_mmio_read32(edu->bar0, EDU_REG_ID);
	iopt_mmio_write32(edu->bar0, EDU_REG_LIVENESS, probe);
	return (*id & 0xffff) == 0x00ed && iopt_mmio_read32(edu->bar0, EDU_REG_LIVENESS) == ~probe;
}

int edu_dma(const struct edu *edu, bool to_device, uint64_t addr, uint32_t buf_off, uint32_t len)
{
	uint64_t dev = EDU_DMA_BUF + buf_off;
	double deadline;

	/* QEMU aborts on a transfer that reaches the end of the buffer. */
	if (len == 0 || buf_off >= EDU_DMA_BUF_LEN || len >= EDU_DMA_BUF_LEN - buf_off)
		return -EINVAL;
	if (iopt_mmio_read64(edu->bar0, EDU_REG_DMA_CMD) & EDU_DMA_CMD_RUN)
		return -EBUSY;
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_SRC, to_device ? addr : dev);
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_DST, to_device ? dev : addr);
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_COUNT, len);
	iopt_mmio_write64(edu->bar0, EDU_REG_DMA_CMD,
			  EDU_DMA_CMD_RUN | (to_device ? 0 : EDU_DMA_CMD_TO_RAM));
	deadline = guest_now() + EDU_DMA_TIMEOUT_S;
	while (iopt_mmio_read64(edu->bar0, EDU_REG_DMA_CMD) & EDU_DMA_CMD_RUN) {
		if (guest_now() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}
