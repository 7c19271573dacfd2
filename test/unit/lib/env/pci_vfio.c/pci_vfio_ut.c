/*
 * lib/env/pci_vfio.c on a fake sysfs/dev tree. The VFIO nodes are plain
 * files; the backend's system calls go through g_vfio_sys, which this test
 * replaces with one that opens the plain files for real but answers the
 * VFIO ioctls itself (and records them). The "device fd" is a plain file
 * holding the config region at CFG_OFF and BAR0 at 0, so config accesses and
 * the BAR mapping run for real against it.
 *
 * Covered: the diagnosis (device absent, no VFIO, no no-IOMMU mode, not
 * bound to vfio-pci, a real IOMMU group, no node), the group form's failure
 * points (no VFIO_NOIOMMU_IOMMU, group not viable, group busy) without
 * leaking descriptors, and both forms' success paths.
 */
#include "ut.h"

#include "env/pci_vfio.c"

#include "../fake_sysfs.h"

#define BDF "0000:00:02.0"
#define DEVDIR "sys/bus/pci/devices/" BDF
#define CFG_OFF 0x10000
#define DEVFILE "fake_vfio_device"

static struct fake_tree g_t;

static struct {
	int open_fds;
	int container_fd;
	int noiommu_ext;          /* what VFIO_CHECK_EXTENSION(8) answers */
	bool viable;
	char busy_path[PATH_MAX]; /* open() of this fails with EBUSY */
	unsigned long reqs[32];
	int nreqs;
	char device_name[64];
	int bind_iommufd;
	unsigned long set_iommu_type;
} g_f;

static int fake_open(const char *path, int flags)
{
	if (g_f.busy_path[0] && strcmp(path, g_f.busy_path) == 0) {
		errno = EBUSY;
		return -1;
	}
	int fd = open(path, flags | O_CLOEXEC);

	if (fd >= 0) {
		g_f.open_fds++;
		if (strstr(path, "/dev/vfio/vfio") != NULL)
			g_f.container_fd = fd;
	}
	return fd;
}

static int fake_close(int fd)
{
	g_f.open_fds--;
	return close(fd);
}

static int fake_region(struct vfio_region_info *ri)
{
	switch (ri->index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ri->offset = CFG_OFF;
		ri->size = 4096;
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ri->offset = 0;
		ri->size = 4096;
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
			    VFIO_REGION_INFO_FLAG_MMAP;
		return 0;
	case VFIO_PCI_BAR2_REGION_INDEX:
		ri->offset = 0x2000;
		ri->size = 0x1000;
		ri->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		return 0;
	default:
		ri->size = 0;
		ri->flags = 0;
		return 0;
	}
}

static int fake_ioctl(int fd, unsigned long req, unsigned long arg)
{
	char p[PATH_MAX];

	if (g_f.nreqs < 32)
		g_f.reqs[g_f.nreqs++] = req;
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return arg == VFIO_NOIOMMU_IOMMU ? g_f.noiommu_ext : 0;
	case VFIO_GROUP_GET_STATUS: {
		struct vfio_group_status *st = (void *)arg;

		st->flags = g_f.viable ? VFIO_GROUP_FLAGS_VIABLE : 0;
		return 0;
	}
	case VFIO_GROUP_SET_CONTAINER:
		return *(int *)arg == g_f.container_fd ? 0 : (errno = EINVAL, -1);
	case VFIO_SET_IOMMU:
		g_f.set_iommu_type = arg;
		return fd == g_f.container_fd ? 0 : (errno = EINVAL, -1);
	case VFIO_GROUP_GET_DEVICE_FD:
		snprintf(g_f.device_name, sizeof(g_f.device_name), "%s", (const char *)arg);
		ft_path(&g_t, p, DEVFILE);
		return fake_open(p, O_RDWR);
	case VFIO_DEVICE_BIND_IOMMUFD:
		g_f.bind_iommufd = ((struct vfio_device_bind_iommufd *)arg)->iommufd;
		return 0;
	case VFIO_DEVICE_GET_REGION_INFO:
		return fake_region((struct vfio_region_info *)arg);
	}
	errno = ENOTTY;
	return -1;
}

static const struct pci_vfio_sys g_fake_sys = {
	.open = fake_open,
	.close = fake_close,
	.ioctl = fake_ioctl,
	.pread = pread,
	.pwrite = pwrite,
	.map_fd = iopt_mmio_map_fd,
};

static int setup(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	g_vfio_sys = &g_fake_sys;
	return 0;
}

static int teardown(void)
{
	ft_destroy(&g_t);
	g_vfio_sys = &g_real_sys;
	return 0;
}

/* A tree where everything the group form needs is present. */
static void tree_group(void)
{
	uint8_t dev[CFG_OFF + 4096] = { 0 };

	ft_destroy(&g_t);
	CU_ASSERT_EQUAL_FATAL(ft_init(&g_t), 0);
	memset(&g_f, 0, sizeof(g_f));
	g_f.noiommu_ext = 1;
	g_f.viable = true;
	g_f.container_fd = -1;
	g_f.bind_iommufd = 42;
	ft_add_device(&g_t, BDF, 0x1234, 0x11e8, 4096, "vfio-pci");
	ft_symlink(&g_t, DEVDIR "/iommu_group", "../../../../kernel/iommu_groups/0");
	ft_write(&g_t, "dev/vfio/vfio", "");
	ft_write(&g_t, "dev/vfio/noiommu-0", "");
	ft_write(&g_t, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n");
	dev[CFG_OFF + 0] = 0x34;
	dev[CFG_OFF + 1] = 0x12;
	dev[CFG_OFF + 2] = 0xe8;
	dev[CFG_OFF + 3] = 0x11;
	dev[CFG_OFF + 4] = 0x02;               /* memory decode on, bus master off */
	dev[CFG_OFF + 0x10] = 0x00;            /* BAR0: 32-bit memory */
	dev[CFG_OFF + 0x18] = 0x0c;            /* BAR2: 64-bit prefetchable */
	ft_write_bin(&g_t, DEVFILE, dev, sizeof(dev));
}

static void rm(const char *rel)
{
	char p[PATH_MAX];

	ft_path(&g_t, p, "%s", rel);
	unlink(p);
}

static int try_open(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_VFIO_NOIOMMU, .root = g_t.root };
	struct iopt_pci_dev *d = NULL;
	int rc = iopt_pci_open(&o, BDF, &d);

	if (rc == 0)
		iopt_pci_close(d);
	else
		CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_EQUAL(g_f.open_fds, 0);
	return rc;
}

static void test_device_absent(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_dev *d;

	tree_group();
	o.root = g_t.root;
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "0000:00:09.0", &d), -ENODEV);
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "0000:00:09", &d), -EINVAL);
}

static void test_no_vfio_module(void)
{
	tree_group();
	rm("dev/vfio/vfio");
	rm("dev/vfio/noiommu-0");
	CU_ASSERT_EQUAL(try_open(), -ENXIO);
}

static void test_no_noiommu_mode(void)
{
	tree_group();
	rm("sys/module/vfio/parameters/enable_unsafe_noiommu_mode"); /* Debian's kernels */
	CU_ASSERT_EQUAL(try_open(), -EOPNOTSUPP);
	tree_group();
	ft_write(&g_t, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
	CU_ASSERT_EQUAL(try_open(), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(g_f.nreqs, 0); /* nothing was opened or asked */
}

static void test_not_bound_to_vfio(void)
{
	tree_group();
	ft_add_driver(&g_t, "virtio-pci");
	ft_symlink(&g_t, DEVDIR "/driver", "../../../../bus/pci/drivers/virtio-pci");
	CU_ASSERT_EQUAL(try_open(), -EUNATCH);
	char p[PATH_MAX];

	ft_path(&g_t, p, DEVDIR "/driver");
	unlink(p);
	CU_ASSERT_EQUAL(try_open(), -EUNATCH);
}

static void test_real_iommu_group(void)
{
	tree_group();
	rm("dev/vfio/noiommu-0");
	ft_write(&g_t, "dev/vfio/0", "");
	CU_ASSERT_EQUAL(try_open(), -EXDEV);
}

static void test_group_absent(void)
{
	tree_group();
	rm("dev/vfio/noiommu-0");
	CU_ASSERT_EQUAL(try_open(), -ENOENT);
	tree_group();
	rm(DEVDIR "/iommu_group");
	CU_ASSERT_EQUAL(try_open(), -ENOENT);
}

static void test_container_without_noiommu(void)
{
	tree_group();
	g_f.noiommu_ext = 0;
	CU_ASSERT_EQUAL(try_open(), -EOPNOTSUPP);
}

static void test_group_not_viable(void)
{
	tree_group();
	g_f.viable = false;
	CU_ASSERT_EQUAL(try_open(), -EBUSY);
	/* It stopped at the status: no container was set, no device asked for. */
	CU_ASSERT_EQUAL(g_f.reqs[g_f.nreqs - 1], VFIO_GROUP_GET_STATUS);
	CU_ASSERT_STRING_EQUAL(g_f.device_name, "");
}

static void test_group_busy(void)
{
	tree_group();
	ft_path(&g_t, g_f.busy_path, "dev/vfio/noiommu-0");
	CU_ASSERT_EQUAL(try_open(), -EBUSY);
}

static uint8_t devfile_byte(uint64_t off)
{
	char p[PATH_MAX];
	uint8_t b = 0;

	ft_path(&g_t, p, DEVFILE);
	int fd = open(p, O_RDONLY);

	if (pread(fd, &b, 1, (off_t)off) != 1)
		b = 0xee;
	close(fd);
	return b;
}

static void test_group_form(void)
{
	static const unsigned long want[] = {
		VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_GROUP_GET_STATUS,
		VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, VFIO_GROUP_GET_DEVICE_FD,
		VFIO_DEVICE_GET_REGION_INFO,
	};
	struct iopt_pci_opts o = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_dev *d;
	struct iopt_pci_bar b;
	struct iopt_mmio *m;
	char desc[PATH_MAX + 64];

	tree_group();
	o.root = g_t.root;
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, BDF, &d), 0);
	CU_ASSERT_TRUE_FATAL(g_f.nreqs >= 7);
	for (int i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(g_f.reqs[i], want[i]);
	CU_ASSERT_EQUAL(g_f.set_iommu_type, VFIO_NOIOMMU_IOMMU);
	CU_ASSERT_STRING_EQUAL(g_f.device_name, BDF);
	snprintf(desc, sizeof(desc), "vfio-group:%s/dev/vfio/noiommu-0", g_t.root);
	CU_ASSERT_STRING_EQUAL(iopt_pci_describe(d), desc);
	CU_ASSERT_EQUAL(iopt_pci_vendor_id(d), 0x1234);
	CU_ASSERT_EQUAL(iopt_pci_device_id(d), 0x11e8);
	CU_ASSERT_EQUAL(iopt_pci_cfg_size(d), 4096);
	CU_ASSERT_EQUAL(g_f.open_fds, 3); /* container, group, device */

	/* Bus mastering through the config region, other bits kept. */
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, true), 0);
	CU_ASSERT_EQUAL(devfile_byte(CFG_OFF + 4), 0x06);
	CU_ASSERT_EQUAL(iopt_pci_get_bus_master(d), 1);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, false), 0);
	CU_ASSERT_EQUAL(devfile_byte(CFG_OFF + 4), 0x02);

	/* BARs from region info and the BAR registers. */
	CU_ASSERT_EQUAL(iopt_pci_bar_info(d, 0, &b), 0);
	CU_ASSERT_EQUAL(b.size, 4096);
	CU_ASSERT_TRUE(b.mappable);
	CU_ASSERT_FALSE(b.is_64);
	CU_ASSERT_EQUAL(iopt_pci_bar_info(d, 2, &b), 0);
	CU_ASSERT_TRUE(b.is_64);
	CU_ASSERT_TRUE(b.prefetchable);
	CU_ASSERT_FALSE(b.mappable);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_map_bar(d, 0, &m), 0);
	iopt_mmio_write32(m, 0x20, 0xcafef00d);
	iopt_mmio_unmap(m);
	CU_ASSERT_EQUAL(devfile_byte(0x20), 0x0d);
	CU_ASSERT_EQUAL(devfile_byte(0x23), 0xca);
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 1, &m), -ENOENT);
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 2, &m), -ENOTSUP);
	iopt_pci_close(d);
	CU_ASSERT_EQUAL(g_f.open_fds, 0);
}

static void test_cdev_form(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_dev *d;
	char p[PATH_MAX], desc[PATH_MAX + 64];

	tree_group();
	/* A 6.6+ kernel without the group interface: only the device cdev. */
	rm("dev/vfio/vfio");
	rm("dev/vfio/noiommu-0");
	rm(DEVDIR "/iommu_group");
	ft_mkdir(&g_t, DEVDIR "/vfio-dev/noiommu-vfio0");
	ft_path(&g_t, p, "dev/vfio/devices");
	ft_mkdirs_abs(p, 1);
	ft_path(&g_t, p, "dev/vfio/devices/noiommu-vfio0");
	CU_ASSERT_EQUAL_FATAL(symlink("../../../" DEVFILE, p), 0);
	o.root = g_t.root;
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, BDF, &d), 0);
	CU_ASSERT_EQUAL(g_f.reqs[0], VFIO_DEVICE_BIND_IOMMUFD);
	CU_ASSERT_EQUAL(g_f.bind_iommufd, -1);
	snprintf(desc, sizeof(desc), "vfio-cdev:%s/dev/vfio/devices/noiommu-vfio0", g_t.root);
	CU_ASSERT_STRING_EQUAL(iopt_pci_describe(d), desc);
	CU_ASSERT_EQUAL(iopt_pci_vendor_id(d), 0x1234);
	CU_ASSERT_EQUAL(g_f.open_fds, 1);
	iopt_pci_close(d);
	CU_ASSERT_EQUAL(g_f.open_fds, 0);
	/* The cdev directory exists but not its node: no form. */
	rm("dev/vfio/devices/noiommu-vfio0");
	CU_ASSERT_EQUAL(try_open(), -ENOENT);
}

/* The real machine: what does this kernel offer? Only diagnosis, nothing is bound. */
static void test_real_machine_diagnosis(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_dev *d = NULL;
	char bdf[300] = "";
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *de;

	g_vfio_sys = &g_real_sys;
	while (dir != NULL && (de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(bdf, sizeof(bdf), "%s", de->d_name);
			break;
		}
	if (dir != NULL)
		closedir(dir);
	if (bdf[0] == '\0') {
		g_vfio_sys = &g_fake_sys;
		UT_SKIP("no PCI devices visible on this machine");
	}
	int rc = iopt_pci_open(&o, bdf, &d);

	g_vfio_sys = &g_fake_sys;
	printf("\n    real kernel, %s: open gives %d (%s)\n", bdf, rc, strerror(-rc));
	if (rc == 0) {
		iopt_pci_close(d);
		return;
	}
	/* Whatever it is, it is one of the documented, distinct reasons. */
	CU_ASSERT_TRUE(rc == -ENXIO || rc == -EOPNOTSUPP || rc == -EUNATCH || rc == -EXDEV ||
		       rc == -ENOENT || rc == -EBUSY);
	if (access("/dev/vfio/vfio", F_OK) != 0 && access("/dev/vfio/devices", F_OK) != 0)
		CU_ASSERT_EQUAL(rc, -ENXIO);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_device_absent),
	UT_TEST(test_no_vfio_module),
	UT_TEST(test_no_noiommu_mode),
	UT_TEST(test_not_bound_to_vfio),
	UT_TEST(test_real_iommu_group),
	UT_TEST(test_group_absent),
	UT_TEST(test_container_without_noiommu),
	UT_TEST(test_group_not_viable),
	UT_TEST(test_group_busy),
	UT_TEST(test_group_form),
	UT_TEST(test_cdev_form),
	UT_TEST(test_real_machine_diagnosis),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pci_vfio", setup, teardown, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
