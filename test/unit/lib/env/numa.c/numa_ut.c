/*
 * NUMA helpers: a device's node from a fake sysfs tree and from this
 * machine's, and placement of fresh memory on node 0.
 */
#include "ut.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env/numa.c"

static char g_root[64];

static void fake_dev(const char *name, const char *numa_node)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bus", g_root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bus/pci", g_root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bus/pci/devices", g_root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", g_root, name);
	mkdir(path, 0700);
	if (numa_node == NULL)
		return;
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/numa_node", g_root, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(numa_node, f);
	fclose(f);
}

static int suite_init(void)
{
	iopt_log_set_level(IOPT_LOG_ERROR);
	snprintf(g_root, sizeof(g_root), "/tmp/iopt_sysfs_XXXXXX");
	return mkdtemp(g_root) != NULL ? 0 : -1;
}

static int rm_entry(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (d == NULL)
		return unlink(dir);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		rm_entry(path);
	}
	closedir(d);
	return rmdir(dir);
}

static int suite_fini(void)
{
	return rm_entry(g_root) == 0 ? 0 : -1;
}

static void test_pci_node_fake_sysfs(void)
{
	int node = 99;

	fake_dev("0000:3a:00.0", "1\n");
	fake_dev("0001:00:1f.7", "-1\n");
	fake_dev("0000:00:02.0", "banana\n");
	fake_dev("0000:00:03.0", "");
	fake_dev("0000:00:04.0", NULL);

	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:3a:00.0", &node), 0);
	CU_ASSERT_EQUAL(node, 1);
	node = 99;
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "3a:00.0", &node), 0); /* domain 0 */
	CU_ASSERT_EQUAL(node, 1);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0001:00:1F.7", &node), 0);
	CU_ASSERT_EQUAL(node, IOPT_NUMA_ANY); /* no proximity from firmware */
	/* Broken sysfs contents. */
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:00:02.0", &node), -EIO);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:00:03.0", &node), -EIO);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:00:04.0", &node), -ENOENT);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:00:05.0", &node), -ENOENT);
	/* Not PCI addresses. */
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "00:20.0", &node), -EINVAL); /* dev > 31 */
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "00:02.8", &node), -EINVAL);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "100:00.0", &node), -EINVAL);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:3a:00.0x", &node), -EINVAL);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "../../x:00.0", &node), -EINVAL);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "", &node), -EINVAL);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, NULL, &node), -EINVAL);
	CU_ASSERT_EQUAL(env_numa_node_of_pci_at(g_root, "0000:3a:00.0", NULL), -EINVAL);
}

/* Every device of this machine: the answer is what sysfs says. */
static void test_pci_node_this_machine(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int seen = 0;

	if (d == NULL)
		UT_SKIP("no /sys/bus/pci on this machine");
	while ((e = readdir(d)) != NULL) {
		char path[300];
		long want;
		int node;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/numa_node", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		CU_ASSERT_EQUAL(fscanf(f, "%ld", &want), 1);
		fclose(f);
		CU_ASSERT_EQUAL(iopt_numa_node_of_pci(e->d_name, &node), 0);
		CU_ASSERT_EQUAL(node, want < 0 ? IOPT_NUMA_ANY : want);
		seen++;
	}
	closedir(d);
	if (seen == 0)
		UT_SKIP("no PCI device with a numa_node file");
}

static void test_bind_node0(void)
{
	size_t len = 1 << 20;
	uint8_t *va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(va != MAP_FAILED);
	CU_ASSERT_EQUAL(env_numa_bind(va, len, IOPT_NUMA_ANY), 0);
	CU_ASSERT_EQUAL(env_numa_bind(va, len, 0), 0);
	memset(va, 1, len);
	CU_ASSERT_EQUAL(env_numa_node_of(va), 0);
	CU_ASSERT_EQUAL(env_numa_node_of(va + len - 1), 0);
	CU_ASSERT(iopt_env_numa_nodes() >= 1);
	/* A node this machine does not have. */
	CU_ASSERT(env_numa_bind(va, len, 4000) < 0);
	munmap(va, len);
}

static const struct ut_test g_tests[] = {
	UT_TEST(test_pci_node_fake_sysfs),
	UT_TEST(test_pci_node_this_machine),
	UT_TEST(test_bind_node0),
	UT_END,
};

static const struct ut_suite g_suites[] = {
	{ "numa", suite_init, suite_fini, g_tests },
	{ NULL, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
