/*
 * lib/env/pci.c: addresses, open arguments, bus-master read-modify-write,
 * enumeration on a fake tree, and (read-only) on this machine's real PCI
 * bus: libpciaccess against the sysfs scan, and one real device's config
 * space through the SYSFS backend.
 */
#include "ut.h"

#include "env/pci.c"

#include "../fake_sysfs.h"

static struct fake_tree g_t;

static int setup(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return ft_init(&g_t);
}

static int teardown(void)
{
	ft_destroy(&g_t);
	return 0;
}

static void test_addr_parse_good(void)
{
	struct iopt_pci_addr a;

	CU_ASSERT_EQUAL(iopt_pci_addr_parse("0000:00:02.0", &a), 0);
	CU_ASSERT_EQUAL(a.domain, 0);
	CU_ASSERT_EQUAL(a.bus, 0);
	CU_ASSERT_EQUAL(a.dev, 2);
	CU_ASSERT_EQUAL(a.fn, 0);
	CU_ASSERT_EQUAL(iopt_pci_addr_parse("00:1f.3", &a), 0);
	CU_ASSERT_EQUAL(a.domain, 0);
	CU_ASSERT_EQUAL(a.dev, 0x1f);
	CU_ASSERT_EQUAL(a.fn, 3);
	CU_ASSERT_EQUAL(iopt_pci_addr_parse("abcd:Fe:1A.7", &a), 0);
	CU_ASSERT_EQUAL(a.domain, 0xabcd);
	CU_ASSERT_EQUAL(a.bus, 0xfe);
	CU_ASSERT_EQUAL(a.dev, 0x1a);
	CU_ASSERT_EQUAL(a.fn, 7);
	CU_ASSERT_EQUAL(iopt_pci_addr_rid(&a), 0xfe << 8 | 0x1a << 3 | 7);
}

static void test_addr_parse_bad(void)
{
	static const char *const bad[] = {
		"", "0000:00:02", "0000:00:02.", "0000:00:20.0", "0000:00:02.8",
		"10000:00:02.0", "0000:100:02.0", "0000:00:02.0 ", " 00:02.0", "00:02.0x",
		"0000:00.02.0", "0000::02.0", "g0:02.0", "0:0:0:02.0", "00:02:0", ":00:02.0",
		"0000:00:02.00", "-1:00:02.0",
	};
	struct iopt_pci_addr a = { .domain = 7, .bus = 7, .dev = 7, .fn = 7 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(iopt_pci_addr_parse(bad[i], &a), -EINVAL);
		if (iopt_pci_addr_parse(bad[i], &a) != -EINVAL)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
	}
	/* A rejected parse leaves the output alone. */
	CU_ASSERT_EQUAL(a.domain, 7);
	CU_ASSERT_EQUAL(a.fn, 7);
	CU_ASSERT_EQUAL(iopt_pci_addr_parse(NULL, &a), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_addr_parse("00:02.0", NULL), -EINVAL);
}

static void test_addr_format(void)
{
	struct iopt_pci_addr a = { .domain = 1, .bus = 0x3a, .dev = 0x1f, .fn = 6 };
	char buf[IOPT_PCI_ADDR_STRLEN], small[12] = "untouched";
	struct iopt_pci_addr back;

	CU_ASSERT_EQUAL(iopt_pci_addr_format(&a, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "0001:3a:1f.6");
	CU_ASSERT_EQUAL(iopt_pci_addr_parse(buf, &back), 0);
	CU_ASSERT_EQUAL(memcmp(&a, &back, sizeof(a)), 0);
	CU_ASSERT_EQUAL(iopt_pci_addr_format(&a, small, sizeof(small)), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(small, "untouched");
	a.dev = 0x20;
	CU_ASSERT_EQUAL(iopt_pci_addr_format(&a, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(iopt_pci_backend_name(IOPT_PCI_VFIO_NOIOMMU), "vfio-noiommu");
	CU_ASSERT_STRING_EQUAL(iopt_pci_backend_name((enum iopt_pci_backend)42), "?");
}

static void test_open_args(void)
{
	struct iopt_pci_opts o = { .backend = (enum iopt_pci_backend)9, .root = g_t.root };
	struct iopt_pci_dev *d = NULL;

	CU_ASSERT_EQUAL(iopt_pci_open(&o, "00:02.0", &d), -EINVAL);
	o.backend = IOPT_PCI_SYSFS;
	CU_ASSERT_EQUAL(iopt_pci_open(&o, NULL, &d), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "00:02.0", NULL), -EINVAL);
	CU_ASSERT_PTR_NULL(d);
	iopt_pci_close(NULL);
}

static uint8_t cfg_byte(const char *bdf, uint32_t off)
{
	char p[PATH_MAX];
	uint8_t b = 0;

	ft_path(&g_t, p, "sys/bus/pci/devices/%s/config", bdf);
	int fd = open(p, O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &b, 1, off) != 1)
			b = 0;
		close(fd);
	}
	return b;
}

static void test_bus_master_rmw(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_SYSFS, .root = g_t.root };
	struct iopt_pci_dev *d;
	uint32_t cmd;

	ft_add_device(&g_t, "0000:00:05.0", 0x1234, 0x11e8, 4096, NULL);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "0000:00:05.0", &d), 0);
	/* Other command bits (memory decode, SERR, INTx disable) must survive. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_COMMAND, 2, 0x0502), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, IOPT_PCI_CFG_STATUS, 2, 0x0010), 0);
	CU_ASSERT_EQUAL(iopt_pci_get_bus_master(d), 0);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, true), 0);
	CU_ASSERT_EQUAL(cfg_byte("0000:00:05.0", 4), 0x06);
	CU_ASSERT_EQUAL(cfg_byte("0000:00:05.0", 5), 0x05);
	CU_ASSERT_EQUAL(cfg_byte("0000:00:05.0", 6), 0x10); /* status untouched */
	CU_ASSERT_EQUAL(iopt_pci_get_bus_master(d), 1);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, true), 0); /* idempotent */
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_COMMAND, 2, &cmd), 0);
	CU_ASSERT_EQUAL(cmd, 0x0506);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, false), 0);
	CU_ASSERT_EQUAL(cfg_byte("0000:00:05.0", 4), 0x02);
	CU_ASSERT_EQUAL(cfg_byte("0000:00:05.0", 5), 0x05);
	CU_ASSERT_EQUAL(iopt_pci_get_bus_master(d), 0);
	iopt_pci_close(d);
}

struct enum_log {
	int n;
	char bdf[8][IOPT_PCI_ADDR_STRLEN];
	struct iopt_pci_dev_info info[8];
	int stop_after;
};

static int enum_cb(const struct iopt_pci_dev_info *info, void *arg)
{
	struct enum_log *l = arg;

	if (l->n < 8) {
		l->info[l->n] = *info;
		iopt_pci_addr_format(&info->addr, l->bdf[l->n], IOPT_PCI_ADDR_STRLEN);
	}
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 77 : 0;
}

static void test_enumerate_fake(void)
{
	struct fake_tree t;
	struct enum_log l = { 0 };

	CU_ASSERT_EQUAL_FATAL(ft_init(&t), 0);
	CU_ASSERT_EQUAL(iopt_pci_enumerate(t.root, true, enum_cb, &l), -ENOENT);
	ft_add_device(&t, "0000:00:1f.0", 0x8086, 0x2918, 256, NULL);
	ft_add_device(&t, "0000:00:02.0", 0x1234, 0x11e8, 256, "uio_pci_generic");
	ft_add_device(&t, "0001:00:00.0", 0x1af4, 0x1041, 4096, "virtio-pci");
	ft_mkdir(&t, "sys/bus/pci/devices/not-a-device");
	CU_ASSERT_EQUAL(iopt_pci_enumerate(t.root, true, enum_cb, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(l.bdf[0], "0000:00:02.0");
	CU_ASSERT_STRING_EQUAL(l.bdf[1], "0000:00:1f.0");
	CU_ASSERT_STRING_EQUAL(l.bdf[2], "0001:00:00.0");
	CU_ASSERT_EQUAL(l.info[0].vendor_id, 0x1234);
	CU_ASSERT_EQUAL(l.info[0].device_id, 0x11e8);
	CU_ASSERT_EQUAL(l.info[0].class_code, 0x00ff00);
	CU_ASSERT_STRING_EQUAL(l.info[0].driver, "uio_pci_generic");
	CU_ASSERT_STRING_EQUAL(l.info[1].driver, "");
	CU_ASSERT_STRING_EQUAL(l.info[2].driver, "virtio-pci");
	/* The callback's non-zero return stops the walk and comes back. */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	CU_ASSERT_EQUAL(iopt_pci_enumerate(t.root, true, enum_cb, &l), 77);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_EQUAL(iopt_pci_enumerate(t.root, true, NULL, NULL), -EINVAL);
	ft_destroy(&t);
}

/* The real bus, read-only: libpciaccess and the sysfs scan must agree. */
static void test_enumerate_real(void)
{
	struct enum_log by_sysfs = { 0 }, by_lib = { 0 };
	int rc = iopt_pci_enumerate(NULL, true, enum_cb, &by_sysfs);

	if (rc == -ENOENT)
		UT_SKIP("no PCI bus visible on this machine (/sys/bus/pci/devices absent)");
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	if (by_sysfs.n == 0)
		UT_SKIP("no PCI devices visible on this machine");
	if (!iopt_pci_have_pciaccess())
		UT_SKIP("built without libpciaccess (CONFIG_PCIACCESS=n)");
	rc = iopt_pci_enumerate(NULL, false, enum_cb, &by_lib);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	printf("\n    %d PCI devices; libpciaccess found %d\n", by_sysfs.n, by_lib.n);
	CU_ASSERT_EQUAL(by_lib.n, by_sysfs.n);
	for (int i = 0; i < by_sysfs.n && i < by_lib.n && i < 8; i++) {
		printf("    %s %04x:%04x class %06x driver %s\n", by_lib.bdf[i],
		       by_lib.info[i].vendor_id, by_lib.info[i].device_id,
		       by_lib.info[i].class_code, by_lib.info[i].driver[0] ? by_lib.info[i].driver : "-");
		CU_ASSERT_STRING_EQUAL(by_lib.bdf[i], by_sysfs.bdf[i]);
		CU_ASSERT_EQUAL(by_lib.info[i].vendor_id, by_sysfs.info[i].vendor_id);
		CU_ASSERT_EQUAL(by_lib.info[i].device_id, by_sysfs.info[i].device_id);
		CU_ASSERT_EQUAL(by_lib.info[i].class_code, by_sysfs.info[i].class_code);
	}
}

/* One real device's config space through the SYSFS backend, reading only. */
static void test_real_device_readonly(void)
{
	struct enum_log l = { 0 };
	struct iopt_pci_dev *d;
	uint32_t id;

	if (iopt_pci_enumerate(NULL, true, enum_cb, &l) != 0 || l.n == 0)
		UT_SKIP("no PCI devices visible on this machine");
	if (geteuid() != 0)
		UT_SKIP("not root: the sysfs config file is opened read-write");
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(NULL, l.bdf[0], &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_vendor_id(d), l.info[0].vendor_id);
	CU_ASSERT_EQUAL(iopt_pci_device_id(d), l.info[0].device_id);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, IOPT_PCI_CFG_CLASS_REV, 4, &id), 0);
	CU_ASSERT_EQUAL(id >> 8, l.info[0].class_code);
	CU_ASSERT_TRUE(iopt_pci_cfg_size(d) == 256 || iopt_pci_cfg_size(d) == 4096);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, iopt_pci_cfg_size(d), 1, &id), -EINVAL);
	printf("\n    %s: %04x:%04x, %u bytes of config space, NUMA node %d\n", l.bdf[0],
	       iopt_pci_vendor_id(d), iopt_pci_device_id(d), iopt_pci_cfg_size(d),
	       iopt_pci_numa_node(d));
	iopt_pci_close(d);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_addr_parse_good),
	UT_TEST(test_addr_parse_bad),
	UT_TEST(test_addr_format),
	UT_TEST(test_open_args),
	UT_TEST(test_bus_master_rmw),
	UT_TEST(test_enumerate_fake),
	UT_TEST(test_enumerate_real),
	UT_TEST(test_real_device_readonly),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pci", setup, teardown, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
