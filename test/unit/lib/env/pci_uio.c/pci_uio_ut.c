/*
 * lib/env/pci_uio.c on a fake sysfs tree. The driver files (bind, unbind,
 * new_id, remove_id, driver_override) are plain files: each test reads back
 * what the backend wrote to them, at open and after close. The kernel's side
 * of a bind (the uio/uioN directory appearing) is staged by the test.
 */
#include "ut.h"

#include "env/pci_uio.c"

#include "../fake_sysfs.h"

#define BDF "0000:00:02.0"
#define DEVDIR "sys/bus/pci/devices/" BDF

static struct fake_tree g_t;
static char g_buf[256];

static int setup(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	return 0;
}

/* A fresh tree: edu-like device bound to virtio-pci, uio_pci_generic loaded. */
static void tree(bool override_file, bool uio_loaded, bool uio_node)
{
	ft_destroy(&g_t);
	CU_ASSERT_EQUAL_FATAL(ft_init(&g_t), 0);
	ft_add_device(&g_t, BDF, 0x1234, 0x11e8, 256, "virtio-pci");
	if (override_file)
		ft_write(&g_t, DEVDIR "/driver_override", "(null)\n");
	if (uio_loaded)
		ft_add_driver(&g_t, "uio_pci_generic");
	if (uio_node) {
		ft_mkdir(&g_t, DEVDIR "/uio/uio3");
		ft_write(&g_t, "dev/uio3", "");
	}
}

static const char *rd(const char *rel)
{
	return ft_read(&g_t, rel, g_buf, sizeof(g_buf));
}

static struct iopt_pci_opts opts(void)
{
	return (struct iopt_pci_opts){ .backend = IOPT_PCI_UIO, .root = g_t.root };
}

static void test_bind_with_override_and_restore(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d;
	char want[PATH_MAX + 32];

	tree(true, true, true);
	o = opts();
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, BDF, &d), 0);
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "uio_pci_generic");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/unbind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/bind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/new_id"), "");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/bind"), "");
	snprintf(want, sizeof(want), "uio:%s/dev/uio3", g_t.root);
	CU_ASSERT_STRING_EQUAL(iopt_pci_describe(d), want);
	CU_ASSERT_EQUAL(iopt_pci_vendor_id(d), 0x1234);
	CU_ASSERT_EQUAL(iopt_pci_set_bus_master(d, false), 0);
	iopt_pci_close(d);
	/* Released: unbound from uio, override cleared, given back to virtio-pci. */
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/unbind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "\n");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/bind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/remove_id"), "");
}

static void test_bind_with_new_id(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d;

	tree(false, true, true);
	o = opts();
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, "00:02.0", &d), 0);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/new_id"), "1234 11e8");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/unbind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/bind"), BDF);
	CU_ASSERT_FALSE(ft_exists(&g_t, DEVDIR "/driver_override"));
	iopt_pci_close(d);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/remove_id"), "1234 11e8");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/unbind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/bind"), BDF);
}

/* A device vfio-pci holds through driver_override gets that override back. */
static void test_old_override_restored(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d;

	tree(true, true, true);
	ft_add_driver(&g_t, "vfio-pci");
	ft_symlink(&g_t, DEVDIR "/driver", "../../../../bus/pci/drivers/vfio-pci");
	ft_write(&g_t, DEVDIR "/driver_override", "vfio-pci\n");
	o = opts();
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, BDF, &d), 0);
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "uio_pci_generic");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/vfio-pci/unbind"), BDF);
	iopt_pci_close(d);
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "vfio-pci");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/vfio-pci/bind"), BDF);
}

static void test_no_uio_module(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d = NULL;

	tree(true, false, true);
	o = opts();
	CU_ASSERT_EQUAL(iopt_pci_open(&o, BDF, &d), -ENXIO);
	CU_ASSERT_PTR_NULL(d);
	/* Nothing was touched. */
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "(null)\n");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/unbind"), "");
}

static void test_bind_did_not_take(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d = NULL;

	tree(true, true, false); /* no uio/uioN will appear */
	o = opts();
	CU_ASSERT_EQUAL(iopt_pci_open(&o, BDF, &d), -EBUSY);
	CU_ASSERT_PTR_NULL(d);
	/* It was unbound, then given back. */
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/unbind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/bind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "\n");
}

static void test_already_bound_to_uio(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d;

	tree(true, true, true);
	ft_symlink(&g_t, DEVDIR "/driver", "../../../../bus/pci/drivers/uio_pci_generic");
	o = opts();
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, BDF, &d), 0);
	iopt_pci_close(d);
	/* Used as it was: no driver file written, before or after. */
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/bind"), "");
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/unbind"), "");
	CU_ASSERT_STRING_EQUAL(rd(DEVDIR "/driver_override"), "(null)\n");
}

static void test_unbound_device(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d;
	char p[PATH_MAX];

	tree(true, true, true);
	ft_path(&g_t, p, DEVDIR "/driver");
	unlink(p);
	o = opts();
	CU_ASSERT_EQUAL_FATAL(iopt_pci_open(&o, BDF, &d), 0);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/bind"), BDF);
	iopt_pci_close(d);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/uio_pci_generic/unbind"), BDF);
	CU_ASSERT_STRING_EQUAL(rd("sys/bus/pci/drivers/virtio-pci/bind"), "");
}

static void test_absent_device(void)
{
	struct iopt_pci_opts o;
	struct iopt_pci_dev *d;

	tree(true, true, true);
	o = opts();
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "0000:00:09.0", &d), -ENODEV);
	CU_ASSERT_EQUAL(iopt_pci_open(&o, "junk", &d), -EINVAL);
}

static int teardown(void)
{
	ft_destroy(&g_t);
	return 0;
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_bind_with_override_and_restore),
	UT_TEST(test_bind_with_new_id),
	UT_TEST(test_old_override_restored),
	UT_TEST(test_no_uio_module),
	UT_TEST(test_bind_did_not_take),
	UT_TEST(test_already_bound_to_uio),
	UT_TEST(test_unbound_device),
	UT_TEST(test_absent_device),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "pci_uio", setup, teardown, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
