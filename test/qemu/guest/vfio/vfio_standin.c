/*
 * TEMPORARY stand-in for lib/env's VFIO no-IOMMU backend; see
 * vfio_standin.h for what replaces it. The group form of VFIO in no-IOMMU
 * mode (Documentation/driver-api/vfio.rst in Linux): the device's IOMMU group
 * node is /dev/vfio/noiommu-N; the group is attached to a container whose
 * IOMMU type is VFIO_NOIOMMU_IOMMU (no translation, no isolation), then the
 * device fd gives regions: BARs 0..5, ROM, config space (VFIO_PCI_*_INDEX),
 * each at its own offset of the device fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfio_standin.h"

#define PCI_SYSFS "/sys/bus/pci/devices"
#define VFIO_CONTAINER "/dev/vfio/vfio"
#define VFIO_CDEV_DIR "/dev/vfio/devices"
#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MASTER 0x4u
#define NUM_BARS 6

struct standin_pci_dev {
	int container;
	int group;
	int device;
	char describe[128];
	struct vfio_region_info regions[VFIO_PCI_NUM_REGIONS];
};

/* Last path component of a symlink, or "" when it is not one. */
static void link_name(const char *path, char *name, size_t len)
{
	char target[256];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *slash;

	name[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	slash = strrchr(target, '/');
	slash = slash != NULL ? slash + 1 : target;
	n = (ssize_t)strlen(slash);
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(name, slash, (size_t)n);
	name[n] = '\0';
}

/* The checks that need no file descriptor: VFIO, no-IOMMU mode, the driver,
 * the group node. Fills node with the group's device node. */
static int find_group_node(const char *bdf, char *node, size_t node_len, char *err, size_t err_len)
{
	char path[160], name[64], param[4] = "";
	int fd;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s", bdf);
	if (access(path, F_OK) != 0) {
		snprintf(err, err_len, "no PCI device %s", bdf);
		return -ENODEV;
	}
	if (access(VFIO_CONTAINER, F_OK) != 0) {
		snprintf(err, err_len, "no " VFIO_CONTAINER " (and no " VFIO_CDEV_DIR
			 "): the vfio module is not loaded");
		return -ENXIO;
	}
	fd = open(NOIOMMU_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, param, sizeof(param) - 1) < 0)
			param[0] = '\0';
		close(fd);
	}
	if (param[0] != 'Y') {
		snprintf(err, err_len, "vfio has no no-IOMMU mode (%s %s)", NOIOMMU_PARAM,
			 fd < 0 ? "absent: kernel built without CONFIG_VFIO_NOIOMMU" : "is not Y");
		return -EOPNOTSUPP;
	}
	snprintf(path, sizeof(path), PCI_SYSFS "/%s/driver", bdf);
	link_name(path, name, sizeof(name));
	if (strcmp(name, "vfio-pci") != 0) {
		snprintf(err, err_len, "%s is bound to %s, not vfio-pci", bdf,
			 name[0] != '\0' ? name : "no driver");
		return -EUNATCH;
	}
	snprintf(path, sizeof(path), PCI_SYSFS "/%s/iommu_group", bdf);
	link_name(path, name, sizeof(name));
	if (name[0] == '\0') {
		snprintf(err, err_len, "%s has no iommu_group", bdf);
		return -ENOENT;
	}
	snprintf(node, node_len, "/dev/vfio/noiommu-%s", name);
	if (access(node, F_OK) == 0)
		return 0;
	snprintf(path, sizeof(path), "/dev/vfio/%s", name);
	if (access(path, F_OK) == 0) {
		snprintf(err, err_len, "%s is in a real IOMMU group (%s): the kernel owns its IOMMU",
			 bdf, path);
		return -EXDEV;
	}
	snprintf(err, err_len, "no %s for %s", node, bdf);
	return -ENOENT;
}

/* Container with the no-IOMMU type, the group in it, the device fd. */
static int attach(struct standin_pci_dev *d, const char *bdf, const char *node, char *err,
		  size_t err_len)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	d->container = open(VFIO_CONTAINER, O_RDWR | O_CLOEXEC);
	if (d->container < 0 || ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		snprintf(err, err_len, "open " VFIO_CONTAINER ": %s", strerror(errno));
		return -EIO;
	}
	if (ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) != 1) {
		snprintf(err, err_len, "the container does not offer VFIO_NOIOMMU_IOMMU");
		return -EOPNOTSUPP;
	}
	d->group = open(node, O_RDWR | O_CLOEXEC);
	if (d->group < 0) {
		int rc = errno == EBUSY ? -EBUSY : -EIO;

		snprintf(err, err_len, "open %s: %s", node, strerror(errno));
		return rc;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &status) != 0 ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		snprintf(err, err_len, "group %s is not viable (flags 0x%x)", node, status.flags);
		return -EBUSY;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) != 0 ||
	    ioctl(d->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) != 0) {
		snprintf(err, err_len, "SET_CONTAINER / SET_IOMMU(no-IOMMU): %s", strerror(errno));
		return -EIO;
	}
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d->device < 0) {
		snprintf(err, err_len, "GET_DEVICE_FD(%s): %s", bdf, strerror(errno));
		return -EIO;
	}
	return 0;
}

static int read_regions(struct standin_pci_dev *d, char *err, size_t err_len)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (ioctl(d->device, VFIO_DEVICE_GET_INFO, &info) != 0 ||
	    !(info.flags & VFIO_DEVICE_FLAGS_PCI) || info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		snprintf(err, err_len, "device info: flags 0x%x, %u regions, want a PCI device", info.flags,
			 info.num_regions);
		return -EIO;
	}
	for (unsigned int i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX; i++) {
		struct vfio_region_info *r = &d->regions[i];

		r->argsz = sizeof(*r);
		r->index = i;
		if (ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, r) != 0) {
			snprintf(err, err_len, "region %u info: %s", i, strerror(errno));
			return -EIO;
		}
	}
	return 0;
}

int standin_pci_open(const char *bdf, struct standin_pci_dev **out, char *err, size_t err_len)
{
	struct standin_pci_dev *d;
	char node[96];
	int rc = find_group_node(bdf, node, sizeof(node), err, err_len);

	if (rc != 0)
		return rc;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->container = d->group = d->device = -1;
	rc = attach(d, bdf, node, err, err_len);
	if (rc == 0)
		rc = read_regions(d, err, err_len);
	if (rc != 0) {
		standin_pci_close(d);
		return rc;
	}
	snprintf(d->describe, sizeof(d->describe), "vfio-group:%s", node);
	snprintf(err, err_len, "group form %s (%s)", node,
		 access(VFIO_CDEV_DIR, F_OK) == 0 ? VFIO_CDEV_DIR " exists too; not used"
						   : "no " VFIO_CDEV_DIR ": no cdev form in this kernel");
	*out = d;
	return 0;
}

void standin_pci_close(struct standin_pci_dev *dev)
{
	if (dev == NULL)
		return;
	if (dev->device >= 0)
		close(dev->device);
	if (dev->group >= 0)
		close(dev->group);
	if (dev->container >= 0)
		close(dev->container);
	free(dev);
}

const char *standin_pci_describe(const struct standin_pci_dev *dev)
{
	return dev->describe;
}

static int cfg_check(const struct standin_pci_dev *dev, uint32_t off, unsigned int size)
{
	if ((size != 1 && size != 2 && size != 4) || off % size != 0 ||
	    off + size > dev->regions[VFIO_PCI_CONFIG_REGION_INDEX].size)
		return -EINVAL;
	return 0;
}

int standin_pci_cfg_read(struct standin_pci_dev *dev, uint32_t off, unsigned int size,
			 uint32_t *val)
{
	const struct vfio_region_info *cfg = &dev->regions[VFIO_PCI_CONFIG_REGION_INDEX];
	uint32_t v = 0;

	if (cfg_check(dev, off, size) != 0)
		return -EINVAL;
	/* Little-endian host: the low bytes of v are the register. */
	if (pread(dev->device, &v, size, (off_t)(cfg->offset + off)) != (ssize_t)size)
		return -EIO;
	*val = v;
	return 0;
}

int standin_pci_cfg_write(struct standin_pci_dev *dev, uint32_t off, unsigned int size,
			  uint32_t val)
{
	const struct vfio_region_info *cfg = &dev->regions[VFIO_PCI_CONFIG_REGION_INDEX];

	if (cfg_check(dev, off, size) != 0 || (size < 4 && val >> (8 * size) != 0))
		return -EINVAL;
	if (pwrite(dev->device, &val, size, (off_t)(cfg->offset + off)) != (ssize_t)size)
		return -EIO;
	return 0;
}

int standin_pci_bar_info(struct standin_pci_dev *dev, unsigned int bar,
			 struct standin_pci_bar *info)
{
	if (bar >= NUM_BARS || info == NULL)
		return -EINVAL;
	info->size = dev->regions[bar].size;
	info->mappable = (dev->regions[bar].flags & VFIO_REGION_INFO_FLAG_MMAP) != 0;
	return 0;
}

int standin_pci_map_bar(struct standin_pci_dev *dev, unsigned int bar, struct iopt_mmio **out)
{
	const struct vfio_region_info *r;

	if (bar >= NUM_BARS)
		return -EINVAL;
	r = &dev->regions[bar];
	if (r->size == 0)
		return -ENOENT;
	if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP))
		return -ENOTSUP;
	return iopt_mmio_map_fd(dev->device, r->offset, r->size, out);
}

int standin_pci_set_bus_master(struct standin_pci_dev *dev, bool enable)
{
	uint32_t cmd;

	if (standin_pci_cfg_read(dev, PCI_COMMAND, 2, &cmd) != 0)
		return -EIO;
	cmd = enable ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER;
	return standin_pci_cfg_write(dev, PCI_COMMAND, 2, cmd) != 0 ? -EIO : 0;
}

int standin_pci_get_bus_master(struct standin_pci_dev *dev)
{
	uint32_t cmd;

	if (standin_pci_cfg_read(dev, PCI_COMMAND, 2, &cmd) != 0)
		return -EIO;
	return (cmd & PCI_COMMAND_MASTER) != 0;
}
