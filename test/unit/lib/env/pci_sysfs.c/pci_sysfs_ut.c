/*
 * lib/env/pci_sysfs.c on a fake sysfs tree: root prefix and path building,
 * the file helpers, `resource` parsing, config file access, BAR mapping
 * through resourceN, and the IOPT_PCI_SYSFS backend.
 */
#include "ut.h"

#include "env/pci_sysfs.c"

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

static void test_root_and_path(void)
{
	char r[PATH_MAX], p[PATH_MAX];

	CU_ASSERT_EQUAL(pci_root_set(r, NULL), 0);
	CU_ASSERT_STRING_EQUAL(r, "");
	CU_ASSERT_EQUAL(pci_root_set(r, "/"), 0);
	CU_ASSERT_STRING_EQUAL(r, "");
	CU_ASSERT_EQUAL(pci_root_set(r, "/tmp/x//"), 0);
	CU_ASSERT_STRING_EQUAL(r, "/tmp/x");
	CU_ASSERT_EQUAL(pci_path(p, r, "/sys/bus/pci/devices/%s", "0000:00:02.0"), 0);
	CU_ASSERT_STRING_EQUAL(p, "/tmp/x/sys/bus/pci/devices/0000:00:02.0");

	char *longroot = malloc(PATH_MAX + 10);

	memset(longroot, 'a', PATH_MAX + 9);
	longroot[PATH_MAX + 9] = '\0';
	CU_ASSERT_EQUAL(pci_root_set(r, longroot), -ENAMETOOLONG);
	longroot[PATH_MAX - 100] = '\0';
	CU_ASSERT_EQUAL(pci_path(p, longroot, "/%s", longroot), -ENAMETOOLONG);
	free(longroot);
}

static void test_file_helpers(void)
{
	char p[PATH_MAX], buf[64];
	uint64_t u;
	int64_t s;

	ft_write(&g_t, "h/hex", "0x1af4\n");
	ft_write(&g_t, "h/neg", "-1\n");
	ft_write(&g_t, "h/junk", "12abc\n");
	ft_path(&g_t, p, "h/hex");
	CU_ASSERT_EQUAL(sysfs_read_u64(p, &u), 0);
	CU_ASSERT_EQUAL(u, 0x1af4);
	CU_ASSERT_EQUAL(sysfs_read_str(p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "0x1af4");
	ft_path(&g_t, p, "h/neg");
	CU_ASSERT_EQUAL(sysfs_read_s64(p, &s), 0);
	CU_ASSERT_EQUAL(s, -1);
	ft_path(&g_t, p, "h/junk");
	CU_ASSERT_EQUAL(sysfs_read_u64(p, &u), -EIO);
	ft_path(&g_t, p, "h/absent");
	CU_ASSERT_EQUAL(sysfs_read_u64(p, &u), -ENOENT);
	CU_ASSERT_EQUAL(sysfs_write_str(p, "x"), -ENOENT);
	ft_path(&g_t, p, "h/hex");
	CU_ASSERT_EQUAL(sysfs_write_str(p, "abc"), 0);
	CU_ASSERT_STRING_EQUAL(ft_read(&g_t, "h/hex", buf, sizeof(buf)), "abc");

	ft_symlink(&g_t, "h/link", "../../bus/pci/drivers/virtio-pci");
	ft_path(&g_t, p, "h/link");
	CU_ASSERT_EQUAL(sysfs_link_name(p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "virtio-pci");
	CU_ASSERT_EQUAL(sysfs_link_name(p, buf, 4), -ENAMETOOLONG);
	ft_path(&g_t, p, "h/nolink");
	CU_ASSERT_NOT_EQUAL(sysfs_link_name(p, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");

	ft_mkdir(&g_t, "numa");
	ft_path(&g_t, p, "numa");
	CU_ASSERT_EQUAL(pci_read_numa_node(p), IOPT_NUMA_ANY); /* no file */
	ft_write(&g_t, "numa/numa_node", "1\n");
	CU_ASSERT_EQUAL(pci_read_numa_node(p), 1);
	ft_write(&g_t, "numa/numa_node", "-1\n");
	CU_ASSERT_EQUAL(pci_read_numa_node(p), IOPT_NUMA_ANY);
}

static void test_parse_resource(void)
{
	const char *text =
		"0x0000004000000000 0x000000400007ffff 0x0000000000140204\n"
		"0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
		"0x00000000fd000000 0x00000000fdffffff 0x0000000000042208\n"
		"0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
	struct iopt_pci_bar b;

	CU_ASSERT_EQUAL(pci_parse_resource(text, 0, &b), 0);
	CU_ASSERT_EQUAL(b.size, 0x80000);
	CU_ASSERT_EQUAL(b.phys, 0x4000000000ULL);
	CU_ASSERT_TRUE(b.is_64);
	CU_ASSERT_FALSE(b.is_io);
	CU_ASSERT_TRUE(b.mappable);
	CU_ASSERT_EQUAL(pci_parse_resource(text, 1, &b), 0);
	CU_ASSERT_EQUAL(b.size, 0x20);
	CU_ASSERT_TRUE(b.is_io);
	CU_ASSERT_FALSE(b.mappable);
	CU_ASSERT_EQUAL(pci_parse_resource(text, 2, &b), 0);
	CU_ASSERT_EQUAL(b.size, 0x1000000);
	CU_ASSERT_TRUE(b.prefetchable);
	CU_ASSERT_FALSE(b.is_64);
	CU_ASSERT_EQUAL(pci_parse_resource(text, 3, &b), 0);
	CU_ASSERT_EQUAL(b.size, 0);
	CU_ASSERT_FALSE(b.mappable);
	/* Beyond the last line, garbage, and end before start. */
	CU_ASSERT_EQUAL(pci_parse_resource(text, 5, &b), -EIO);
	CU_ASSERT_EQUAL(pci_parse_resource("0x1000 junk\n", 0, &b), -EIO);
	CU_ASSERT_EQUAL(pci_parse_resource("0x2000 0x1000 0x200\n", 0, &b), -EIO);
}

static void test_dev_open_errors(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_SYSFS, .root = g_t.root };
	struct iopt_pci_dev *d;
	uint8_t cfg[100] = { 0 };

	CU_ASSERT_EQUAL(iopt_pci_open(&o, "0000:00:09.0", &d), -ENODEV);
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "not-a-bdf", &d), -EINVAL);
	/* A config file of a size no kernel gives. */
	ft_add_device(&g_t, "0000:00:07.0", 0x1234, 0x11e8, 256, NULL);
	ft_write_bin(&g_t, "sys/bus/pci/devices/0000:00:07.0/config", cfg, sizeof(cfg));
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "0000:00:07.0", &d), -EIO);
}

static void test_config_access(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_SYSFS, .root = g_t.root };
	struct iopt_pci_dev *d;
	uint32_t v;
	uint8_t raw[8];
	char p[PATH_MAX];

	ft_add_device(&g_t, "0000:00:02.0", 0x1234, 0x11e8, 4096, "virtio-pci");
	ft_write(&g_t, "sys/bus/pci/devices/0000:00:02.0/numa_node", "0\n");
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "00:02.0", &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_vendor_id(d), 0x1234);
	CU_ASSERT_EQUAL(iopt_pci_device_id(d), 0x11e8);
	CU_ASSERT_EQUAL(iopt_pci_cfg_size(d), 4096);
	CU_ASSERT_EQUAL(iopt_pci_numa_node(d), 0);
	CU_ASSERT_EQUAL(iopt_pci_rid(d), 0x0010);
	CU_ASSERT_EQUAL(iopt_pci_get_backend(d), IOPT_PCI_SYSFS);
	/* Writes land little-endian in the file at the offset. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, 0x40, 4, 0xa1b2c3d4), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, 0xffe, 2, 0xbeef), 0);
	ft_path(&g_t, p, "sys/bus/pci/devices/0000:00:02.0/config");
	int fd = open(p, O_RDONLY);

	CU_ASSERT_EQUAL(pread(fd, raw, 4, 0x40), 4);
	CU_ASSERT_EQUAL(raw[0], 0xd4);
	CU_ASSERT_EQUAL(raw[3], 0xa1);
	CU_ASSERT_EQUAL(pread(fd, raw, 2, 0xffe), 2);
	CU_ASSERT_EQUAL(raw[0], 0xef);
	close(fd);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x41, 1, &v), 0);
	CU_ASSERT_EQUAL(v, 0xc3);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x42, 2, &v), 0);
	CU_ASSERT_EQUAL(v, 0xa1b2);
	/* Bounds and alignment: 4096 bytes here. */
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0xffc, 4, &v), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x1000, 4, &v), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0xfff, 2, &v), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x41, 4, &v), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x40, 3, &v), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, 0x40, 1, 0x100), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x40, 4, &v), 0);
	CU_ASSERT_EQUAL(v, 0xa1b2c3d4); /* the rejected write changed nothing */
	iopt_pci_close(d);

	/* A 256-byte (conventional) config space ends at 0x100. */
	ft_add_device(&g_t, "0000:00:03.0", 0x8086, 0x0d57, 256, NULL);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "0000:00:03.0", &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_size(d), 256);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0xfc, 4, &v), 0);
	CU_ASSERT_EQUAL(iopt_pci_cfg_read(d, 0x100, 4, &v), -EINVAL);
	CU_ASSERT_EQUAL(iopt_pci_cfg_write(d, 0x100, 1, 0), -EINVAL);
	iopt_pci_close(d);
}

static void test_bar_map(void)
{
	struct iopt_pci_opts o = { .backend = IOPT_PCI_SYSFS, .root = g_t.root };
	struct iopt_pci_dev *d;
	struct iopt_pci_bar b;
	struct iopt_mmio *m;
	uint8_t zero[4096] = { 0 };
	uint64_t v = 0;
	char p[PATH_MAX];

	ft_add_device(&g_t, "0000:00:04.0", 0x1234, 0x11e8, 256, NULL);
	ft_write_bin(&g_t, "sys/bus/pci/devices/0000:00:04.0/resource0", zero, sizeof(zero));
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "0000:00:04.0", &d), 0);
	CU_ASSERT_EQUAL(iopt_pci_bar_info(d, 0, &b), 0);
	CU_ASSERT_EQUAL(b.size, 4096);
	CU_ASSERT_EQUAL(b.phys, 0xfe000000ULL);
	CU_ASSERT_EQUAL(iopt_pci_bar_info(d, 6, &b), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(iopt_pci_map_bar(d, 0, &m), 0);
	CU_ASSERT_EQUAL(m->len, 4096);
	iopt_mmio_write64(m, 0x80, 0x1122334455667788ULL);
	iopt_mmio_unmap(m);
	ft_path(&g_t, p, "sys/bus/pci/devices/0000:00:04.0/resource0");
	int fd = open(p, O_RDONLY);

	CU_ASSERT_EQUAL(pread(fd, &v, 8, 0x80), 8);
	CU_ASSERT_EQUAL(v, 0x1122334455667788ULL);
	close(fd);
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 1, &m), -ENOTSUP); /* I/O BAR */
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 2, &m), -ENOENT);  /* not implemented */
	CU_ASSERT_EQUAL(iopt_pci_map_bar(d, 6, &m), -EINVAL);
	iopt_pci_close(d);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_root_and_path),
	UT_TEST(test_file_helpers),
	UT_TEST(test_parse_resource),
	UT_TEST(test_dev_open_errors),
	UT_TEST(test_config_access),
	UT_TEST(test_bar_map),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pci_sysfs", setup, teardown, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
