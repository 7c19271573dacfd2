/*
 * The IOPT_PCI_VFIO_NOIOMMU backend: a device bound to vfio-pci, reached in
 * VFIO's no-IOMMU mode, where the kernel gives user space the device without
 * any IOMMU protection (iopt drives the IOMMU itself).
 *
 * Two forms, chosen by what the kernel offers (the group form first: it is
 * the one measured in the QEMU guests, see /work/shared/QEMU.md):
 *   - group: /sys/.../<bdf>/iommu_group names group N and /dev/vfio/noiommu-N
 *     exists. Open the container /dev/vfio/vfio, check the API version and
 *     VFIO_CHECK_EXTENSION(VFIO_NOIOMMU_IOMMU), open the group, require
 *     VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_SET_CONTAINER,
 *     VFIO_SET_IOMMU(VFIO_NOIOMMU_IOMMU), VFIO_GROUP_GET_DEVICE_FD(bdf).
 *   - cdev (Linux 6.6+): /sys/.../<bdf>/vfio-dev/noiommu-vfioN and
 *     /dev/vfio/devices/noiommu-vfioN. Open it and
 *     VFIO_DEVICE_BIND_IOMMUFD with iommufd = -1, which the kernel takes as
 *     "no-IOMMU" (needs CAP_SYS_RAWIO).
 * Then regions: VFIO_DEVICE_GET_REGION_INFO for the config region (accessed
 * by pread/pwrite at its offset in the device fd) and for BARs (mmap-ed when
 * the region says it can be).
 *
 * Before any of that the environment is diagnosed, in this order, each with
 * its own error (documented at iopt_pci_open()): device absent (-ENODEV), no
 * VFIO (-ENXIO), no no-IOMMU mode (-EOPNOTSUPP), not bound to vfio-pci
 * (-EUNATCH), a real IOMMU group (-EXDEV), no no-IOMMU node (-ENOENT).
 *
 * Every system call on a VFIO file goes through g_vfio_sys, so that the unit
 * test can run this logic on a fake tree of plain files and answer the
 * ioctls itself.
 */
#define LOG_MODULE "pci_vfio"
#include "iopt_internal/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pci_internal.h"

/* Linux 6.6 uapi (include/uapi/linux/vfio.h); Debian 12's headers predate it. */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"

/* The system calls the backend makes on VFIO files (see the file comment). */
struct pci_vfio_sys {
	int (*open)(const char *path, int flags);
	int (*close)(int fd);
	int (*ioctl)(int fd, unsigned long req, unsigned long arg);
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	int (*map_fd)(int fd, uint64_t off, size_t len, struct iopt_mmio **out);
};

static int sys_open(const char *path, int flags)
{
	return open(path, flags | O_CLOEXEC);
}

static int sys_ioctl(int fd, unsigned long req, unsigned long arg)
{
	return ioctl(fd, req, arg);
}

static const struct pci_vfio_sys g_real_sys = {
	.open = sys_open,
	.close = close,
	.ioctl = sys_ioctl,
	.pread = pread,
	.pwrite = pwrite,
	.map_fd = iopt_mmio_map_fd,
};

static const struct pci_vfio_sys *g_vfio_sys = &g_real_sys;

enum vfio_form {
	VFIO_FORM_GROUP,
	VFIO_FORM_CDEV,
};

struct pci_vfio_dev {
	enum vfio_form form;
	int container_fd;
	int group_fd;
	int device_fd;
	uint64_t cfg_offset;        /* of the config region in device_fd */
	char node[PATH_MAX];        /* the group or cdev node opened */
	char dir[PATH_MAX];         /* <root>/sys/bus/pci/devices/<bdf> */
};

static void vfio_release(struct pci_vfio_dev *v)
{
	if (v->device_fd >= 0)
		g_vfio_sys->close(v->device_fd);
	if (v->group_fd >= 0)
		g_vfio_sys->close(v->group_fd);
	if (v->container_fd >= 0)
		g_vfio_sys->close(v->container_fd);
	v->device_fd = v->group_fd = v->container_fd = -1;
}

/* ---- Diagnosis ------------------------------------------------------------- */

static int check_noiommu_mode(const struct iopt_pci_dev *dev)
{
	char path[PATH_MAX], val[16];
	int rc = pci_path(path, dev->root, NOIOMMU_PARAM);

	if (rc != 0)
		return rc;
	rc = sysfs_read_str(path, val, sizeof(val));
	if (rc == -ENOENT) {
		IOPT_ERRLOG("%s: VFIO is loaded but this kernel's vfio has no no-IOMMU mode (%s "
			    "absent: built without CONFIG_VFIO_NOIOMMU, as Debian's kernels are). "
			    "scripts/setup.sh explains the options, including rebuilding vfio.ko "
			    "from linux-source with CONFIG_VFIO_NOIOMMU.", dev->bdf, path);
		return -EOPNOTSUPP;
	}
	if (rc != 0) {
		IOPT_ERRLOG("%s: cannot read %s: %d", dev->bdf, path, rc);
		return rc;
	}
	if (val[0] != 'Y' && val[0] != 'y' && val[0] != '1') {
		IOPT_ERRLOG("%s: VFIO no-IOMMU mode is off (%s reads %s): load vfio with "
			    "enable_unsafe_noiommu_mode=1 (scripts/setup.sh DRIVER=vfio does)",
			    dev->bdf, path, val);
		return -EOPNOTSUPP;
	}
	return 0;
}

static bool is_vfio_driver(const char *drv)
{
	return strcmp(drv, "vfio-pci") == 0 || strstr(drv, "vfio") != NULL;
}

/* Find /dev/vfio/devices/noiommu-vfioN for the device. -ENOENT when none. */
static int find_cdev(const struct iopt_pci_dev *dev, struct pci_vfio_dev *v)
{
	char path[PATH_MAX];
	struct dirent *de;
	int rc = -ENOENT;

	if (snprintf(path, sizeof(path), "%s/vfio-dev", v->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	DIR *d = opendir(path);

	if (d == NULL)
		return -ENOENT;
	while ((de = readdir(d)) != NULL) {
		unsigned int n;
		char tail;

		if (sscanf(de->d_name, "noiommu-vfio%u%c", &n, &tail) != 1)
			continue;
		if (pci_path(v->node, dev->root, "/dev/vfio/devices/noiommu-vfio%u", n) == 0 &&
		    path_exists(v->node))
			rc = 0;
		break;
	}
	closedir(d);
	return rc;
}

/*
 * Decide the form: fills v->form and v->node, or says why neither works.
 * Called after the device, VFIO and no-IOMMU mode have been checked.
 */
static int choose_form(const struct iopt_pci_dev *dev, struct pci_vfio_dev *v)
{
	char path[PATH_MAX], group[32] = "", drv[64] = "";

	if (snprintf(path, sizeof(path), "%s/driver", v->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	sysfs_link_name(path, drv, sizeof(drv));
	if (!is_vfio_driver(drv)) {
		IOPT_ERRLOG("%s: not bound to vfio-pci (driver: %s): scripts/setup.sh DRIVER=vfio "
			    "PCI_ALLOWED=%s binds it", dev->bdf, drv[0] ? drv : "none", dev->bdf);
		return -EUNATCH;
	}
	if (snprintf(path, sizeof(path), "%s/iommu_group", v->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	sysfs_link_name(path, group, sizeof(group));
	if (pci_path(path, dev->root, "/dev/vfio/vfio") != 0)
		return -ENAMETOOLONG;
	/* The group form needs the container too (a 6.6+ kernel may offer only cdevs). */
	if (group[0] != '\0' && path_exists(path)) {
		if (pci_path(v->node, dev->root, "/dev/vfio/noiommu-%s", group) != 0)
			return -ENAMETOOLONG;
		if (path_exists(v->node)) {
			v->form = VFIO_FORM_GROUP;
			return 0;
		}
	}
	if (find_cdev(dev, v) == 0) {
		v->form = VFIO_FORM_CDEV;
		return 0;
	}
	if (group[0] != '\0') {
		if (pci_path(path, dev->root, "/dev/vfio/%s", group) == 0 && path_exists(path)) {
			IOPT_ERRLOG("%s: in IOMMU group %s with a real IOMMU (%s), not a no-IOMMU "
				    "group: the kernel owns an IOMMU for it (boot with "
				    "intel_iommu=off, or use the kernel's VFIO)", dev->bdf, group,
				    path);
			return -EXDEV;
		}
	}
	IOPT_ERRLOG("%s: bound to %s but neither /dev/vfio/noiommu-%s nor a "
		    "/dev/vfio/devices/noiommu-vfioN node exists", dev->bdf, drv,
		    group[0] ? group : "N");
	return -ENOENT;
}

static int diagnose(struct iopt_pci_dev *dev, struct pci_vfio_dev *v)
{
	char path[PATH_MAX], cdevs[PATH_MAX];
	int rc;

	if (pci_path(path, dev->root, "/dev/vfio/vfio") != 0 ||
	    pci_path(cdevs, dev->root, "/dev/vfio/devices") != 0)
		return -ENAMETOOLONG;
	if (!path_exists(path) && !path_exists(cdevs)) {
		IOPT_ERRLOG("%s: no VFIO: neither %s nor %s exists (vfio module not loaded: "
			    "scripts/setup.sh DRIVER=vfio)", dev->bdf, path, cdevs);
		return -ENXIO;
	}
	rc = check_noiommu_mode(dev);
	if (rc != 0)
		return rc;
	return choose_form(dev, v);
}

/* ---- The two forms ----------------------------------------------------------- */

static int open_node(const char *path, const char *what)
{
	int fd = g_vfio_sys->open(path, O_RDWR);

	if (fd < 0) {
		int err = errno;

		IOPT_ERRLOG("cannot open %s %s: errno %d%s", what, path, err,
			    err == EBUSY ? " (in use by another process)" : "");
		return err == ENOENT ? -ENOENT : -err;
	}
	return fd;
}

static int open_group_form(struct iopt_pci_dev *dev, struct pci_vfio_dev *v)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];
	int fd, rc;

	if (pci_path(path, dev->root, "/dev/vfio/vfio") != 0)
		return -ENAMETOOLONG;
	fd = open_node(path, "VFIO container");
	if (fd < 0)
		return fd;
	v->container_fd = fd;
	rc = g_vfio_sys->ioctl(fd, VFIO_GET_API_VERSION, 0);
	if (rc != VFIO_API_VERSION) {
		IOPT_ERRLOG("%s: VFIO API version %d, expected %d", dev->bdf, rc, VFIO_API_VERSION);
		return -EIO;
	}
	if (g_vfio_sys->ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) <= 0) {
		IOPT_ERRLOG("%s: the VFIO container does not offer VFIO_NOIOMMU_IOMMU", dev->bdf);
		return -EOPNOTSUPP;
	}
	fd = open_node(v->node, "VFIO group");
	if (fd < 0)
		return fd;
	v->group_fd = fd;
	if (g_vfio_sys->ioctl(fd, VFIO_GROUP_GET_STATUS, (unsigned long)&status) != 0) {
		IOPT_ERRLOG("%s: VFIO_GROUP_GET_STATUS failed: errno %d", dev->bdf, errno);
		return -EIO;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		IOPT_ERRLOG("%s: group %s is not viable: every device in it must be bound to "
			    "vfio-pci or to no driver", dev->bdf, v->node);
		return -EBUSY;
	}
	if (g_vfio_sys->ioctl(fd, VFIO_GROUP_SET_CONTAINER, (unsigned long)&v->container_fd) != 0 ||
	    g_vfio_sys->ioctl(v->container_fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) != 0) {
		rc = -errno;
		IOPT_ERRLOG("%s: attaching group %s to a no-IOMMU container failed: errno %d",
			    dev->bdf, v->node, -rc);
		return rc == -EPERM || rc == -EBUSY ? rc : -EIO;
	}
	fd = g_vfio_sys->ioctl(fd, VFIO_GROUP_GET_DEVICE_FD, (unsigned long)dev->bdf);
	if (fd < 0) {
		rc = -errno;
		IOPT_ERRLOG("%s: VFIO_GROUP_GET_DEVICE_FD failed: errno %d", dev->bdf, -rc);
		return rc == -EBUSY || rc == -EPERM ? rc : -EIO;
	}
	v->device_fd = fd;
	return 0;
}

static int open_cdev_form(struct iopt_pci_dev *dev, struct pci_vfio_dev *v)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = -1 };
	int fd = open_node(v->node, "VFIO device");

	if (fd < 0)
		return fd;
	v->device_fd = fd;
	if (g_vfio_sys->ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, (unsigned long)&bind) != 0) {
		int rc = -errno;

		IOPT_ERRLOG("%s: VFIO_DEVICE_BIND_IOMMUFD(no-IOMMU) failed: errno %d%s", dev->bdf,
			    -rc, rc == -EPERM ? " (needs CAP_SYS_RAWIO)" : "");
		return rc == -EPERM || rc == -EBUSY ? rc : -EIO;
	}
	return 0;
}

static int region_info(struct pci_vfio_dev *v, unsigned int index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (g_vfio_sys->ioctl(v->device_fd, VFIO_DEVICE_GET_REGION_INFO, (unsigned long)ri) != 0) {
		IOPT_ERRLOG("VFIO_DEVICE_GET_REGION_INFO(%u) failed: errno %d", index, errno);
		return -EIO;
	}
	return 0;
}

static int setup_config_region(struct iopt_pci_dev *dev, struct pci_vfio_dev *v)
{
	struct vfio_region_info ri;
	int rc = region_info(v, VFIO_PCI_CONFIG_REGION_INDEX, &ri);

	if (rc != 0)
		return rc;
	if (ri.size < 256 || !(ri.flags & VFIO_REGION_INFO_FLAG_READ) ||
	    !(ri.flags & VFIO_REGION_INFO_FLAG_WRITE)) {
		IOPT_ERRLOG("%s: config region has size 0x%llx, flags 0x%x", dev->bdf,
			    (unsigned long long)ri.size, ri.flags);
		return -EIO;
	}
	v->cfg_offset = ri.offset;
	dev->cfg_size = ri.size >= 4096 ? 4096 : 256;
	return 0;
}

static int vfio_open(struct iopt_pci_dev *dev, const struct iopt_pci_opts *opts, const char *name)
{
	struct pci_vfio_dev *v;
	int rc = pci_dev_set_addr(dev, name);

	(void)opts;
	if (rc != 0) {
		IOPT_ERRLOG("open: '%s' is not a PCI address", name);
		return rc;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	v->container_fd = v->group_fd = v->device_fd = -1;
	rc = pci_path(v->dir, dev->root, "/sys/bus/pci/devices/%s", dev->bdf);
	if (rc == 0 && !path_exists(v->dir)) {
		IOPT_ERRLOG("open %s: no such PCI device (%s absent)", dev->bdf, v->dir);
		rc = -ENODEV;
	}
	if (rc == 0)
		rc = diagnose(dev, v);
	if (rc == 0) {
		IOPT_INFOLOG("%s: VFIO no-IOMMU %s form found: %s", dev->bdf,
			     v->form == VFIO_FORM_GROUP ? "group" : "cdev", v->node);
		rc = v->form == VFIO_FORM_GROUP ? open_group_form(dev, v) : open_cdev_form(dev, v);
	}
	if (rc == 0)
		rc = setup_config_region(dev, v);
	if (rc != 0) {
		vfio_release(v);
		free(v);
		return rc;
	}
	dev->numa_node = pci_read_numa_node(v->dir);
	dev->priv = v;
	snprintf(dev->describe, sizeof(dev->describe), "vfio-%s:%s",
		 v->form == VFIO_FORM_GROUP ? "group" : "cdev", v->node);
	return 0;
}

static void vfio_close(struct iopt_pci_dev *dev)
{
	struct pci_vfio_dev *v = dev->priv;

	vfio_release(v);
	free(v);
	dev->priv = NULL;
}

static int vfio_cfg_read(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val)
{
	struct pci_vfio_dev *v = dev->priv;
	uint8_t b[4];
	ssize_t n = g_vfio_sys->pread(v->device_fd, b, size, (off_t)(v->cfg_offset + off));

	if (n != (ssize_t)size) {
		IOPT_ERRLOG("%s: config read of %u bytes at 0x%x failed (%zd)", dev->bdf, size, off,
			    n);
		return -EIO;
	}
	uint32_t x = 0;

	for (unsigned int i = 0; i < size; i++)
		x |= (uint32_t)b[i] << (8 * i);
	*val = x;
	return 0;
}

static int vfio_cfg_write(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val)
{
	struct pci_vfio_dev *v = dev->priv;
	uint8_t b[4];

	for (unsigned int i = 0; i < size; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	ssize_t n = g_vfio_sys->pwrite(v->device_fd, b, size, (off_t)(v->cfg_offset + off));

	if (n != (ssize_t)size) {
		IOPT_ERRLOG("%s: config write of %u bytes at 0x%x failed (%zd)", dev->bdf, size,
			    off, n);
		return -EIO;
	}
	return 0;
}

/* Memory BAR type bits (PCI Local Bus 3.0, 6.2.5.1). */
#define BAR_IO_SPACE (1U << 0)
#define BAR_MEM_TYPE_64 (2U << 1)
#define BAR_MEM_PREFETCH (1U << 3)

static int vfio_bar_info(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info)
{
	struct pci_vfio_dev *v = dev->priv;
	struct vfio_region_info ri;
	uint32_t reg;
	int rc = region_info(v, VFIO_PCI_BAR0_REGION_INDEX + bar, &ri);

	if (rc != 0)
		return rc;
	info->size = ri.size;
	if (ri.size == 0)
		return 0;
	rc = vfio_cfg_read(dev, IOPT_PCI_CFG_BAR0 + 4 * bar, 4, &reg);
	if (rc != 0)
		return rc;
	info->is_io = (reg & BAR_IO_SPACE) != 0;
	info->is_64 = !info->is_io && (reg & (3U << 1)) == BAR_MEM_TYPE_64;
	info->prefetchable = !info->is_io && (reg & BAR_MEM_PREFETCH) != 0;
	info->mappable = !info->is_io && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) != 0;
	return 0;
}

static int vfio_map_bar(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out)
{
	struct pci_vfio_dev *v = dev->priv;
	struct vfio_region_info ri;
	int rc = region_info(v, VFIO_PCI_BAR0_REGION_INDEX + bar, &ri);

	if (rc != 0)
		return rc;
	if (ri.size == 0) {
		IOPT_ERRLOG("%s: BAR%u is not implemented", dev->bdf, bar);
		return -ENOENT;
	}
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		IOPT_ERRLOG("%s: BAR%u region cannot be mmap-ed (flags 0x%x)", dev->bdf, bar,
			    ri.flags);
		return -ENOTSUP;
	}
	rc = g_vfio_sys->map_fd(v->device_fd, ri.offset, (size_t)ri.size, out);
	if (rc != 0)
		IOPT_ERRLOG("%s: mmap of BAR%u failed: %d", dev->bdf, bar, rc);
	return rc;
}

const struct pci_backend pci_vfio_backend = {
	.name = "vfio-noiommu",
	.open = vfio_open,
	.close = vfio_close,
	.cfg_read = vfio_cfg_read,
	.cfg_write = vfio_cfg_write,
	.bar_info = vfio_bar_info,
	.map_bar = vfio_map_bar,
};
