/*
 * QEMU's edu PCI device (docs/specs/edu.rst in QEMU) reached the way a user
 * reaches a device, through lib/env's PCI layer: found by enumeration,
 * opened with iopt_pci_open(IOPT_PCI_UIO) (which binds uio_pci_generic),
 * BAR0 mapped and bus mastering set through iopt_pci_*. sysfs is read here
 * only to check independently what the library did. The register
 * programming is edu's own and test-specific.
 */
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
/* One DMA takes about 100 ms of virtual time; allow for a slow host. */
#define EDU_DMA_TIMEOUT_S 10.0

#define PCI_SYSFS "/sys/bus/pci/devices"

static int find_edu_cb(const struct iopt_pci_dev_info *info, void *arg)
{
	struct edu *edu = arg;

	if (info->vendor_id != EDU_VENDOR || info->device_id != EDU_DEVICE)
		return 0;
	if (iopt_pci_addr_format(&info->addr, edu->bdf, sizeof(edu->bdf)) != 0)
		return -EINVAL;
	snprintf(edu->sysfs, sizeof(edu->sysfs), PCI_SYSFS "/%s", edu->bdf);
	edu->rid = iopt_pci_addr_rid(&info->addr);
	return 1;
}

int edu_find(struct edu *edu)
{
	int rc;

	memset(edu, 0, sizeof(*edu));
	rc = iopt_pci_enumerate(NULL, false, find_edu_cb, edu);
	if (rc == 1)
		return 0;
	memset(edu, 0, sizeof(*edu));
	return rc == 0 ? -ENODEV : rc;
}

int edu_sysfs_command(const struct edu *edu, uint16_t *cmd)
{
	char path[160];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/config", edu->sysfs);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, cmd, 2, IOPT_PCI_CFG_COMMAND) != 2)
		rc = -EIO;
	close(fd);
	return rc;
}

int edu_open(struct edu *edu, char *err, size_t err_len)
{
	const struct iopt_pci_opts opts = { .backend = IOPT_PCI_UIO };
	uint16_t sys_cmd = 0;
	uint32_t cmd = 0;
	int rc;

	rc = iopt_pci_open(&opts, edu->bdf, &edu->dev);
	if (rc != 0) {
		snprintf(err, err_len, "iopt_pci_open(%s, uio): %s", edu->bdf, strerror(-rc));
		return rc;
	}
	rc = iopt_pci_map_bar(edu->dev, 0, &edu->bar0);
	if (rc != 0) {
		snprintf(err, err_len, "iopt_pci_map_bar(0): %s", strerror(-rc));
		goto fail;
	}
	rc = iopt_pci_set_bus_master(edu->dev, true);
	if (rc == 0)
		rc = iopt_pci_cfg_read(edu->dev, IOPT_PCI_CFG_COMMAND, 2, &cmd);
	if (rc == 0)
		rc = edu_sysfs_command(edu, &sys_cmd);
	if (rc != 0 || iopt_pci_get_bus_master(edu->dev) != 1 ||
	    !(sys_cmd & IOPT_PCI_COMMAND_MASTER)) {
		snprintf(err, err_len, "bus mastering not set (%s; command 0x%04x, sysfs 0x%04x)",
			 rc != 0 ? strerror(-rc) : "read back clear", cmd, sys_cmd);
		rc = rc != 0 ? rc : -EIO;
		goto fail;
	}
	snprintf(err, err_len, "%s opened as %s, BAR0 mapped, command 0x%04x (sysfs 0x%04x)",
		 edu->bdf, iopt_pci_describe(edu->dev), cmd, sys_cmd);
	return 0;
fail:
	edu_close(edu);
	return rc;
}

void edu_close(struct edu *edu)
{
	if (edu->dev != NULL)
		iopt_pci_set_bus_master(edu->dev, false);
	iopt_mmio_unmap(edu->bar0);
	edu->bar0 = NULL;
	iopt_pci_close(edu->dev);
	edu->dev = NULL;
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
