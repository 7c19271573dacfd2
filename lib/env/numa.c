/*
 * NUMA topology and placement through libnuma, when the build has it.
 * Without libnuma the machine is treated as one node, 0.
 */
#define LOG_MODULE "env-numa"
#include "iopt_internal/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_internal.h"

#ifdef IOPT_HAVE_NUMA
#include <numa.h>
#include <numaif.h>
#endif

int iopt_env_numa_nodes(void)
{
#ifdef IOPT_HAVE_NUMA
	if (numa_available() >= 0)
		return numa_max_node() + 1;
#endif
	return 1;
}

int env_numa_bind(void *va, size_t len, int node)
{
	if (node == IOPT_NUMA_ANY)
		return 0;
	if (node < 0)
		return -EINVAL;
#ifdef IOPT_HAVE_NUMA
	if (numa_available() >= 0) {
		unsigned long mask[(node / (8 * sizeof(unsigned long))) + 1];

		memset(mask, 0, sizeof(mask));
		mask[node / (8 * sizeof(unsigned long))] = 1UL << (node % (8 * sizeof(unsigned long)));
		if (mbind(va, len, MPOL_BIND, mask, 8 * sizeof(mask) + 1, 0) != 0) {
			int err = errno;

			IOPT_ERRLOG("mbind(%p+0x%zx, node %d): %s", va, len, node, strerror(err));
			return -err;
		}
		return 0;
	}
#else
	(void)va;
	(void)len;
#endif
	return node == 0 ? 0 : -EINVAL;
}

int env_numa_node_of(const void *va)
{
#ifdef IOPT_HAVE_NUMA
	int node = -1;

	if (numa_available() < 0)
		return 0;
	if (get_mempolicy(&node, NULL, 0, (void *)(uintptr_t)va, MPOL_F_NODE | MPOL_F_ADDR) != 0)
		return IOPT_NUMA_ANY;
	return node;
#else
	(void)va;
	return 0;
#endif
}

/* "DDDD:BB:DD.F" or "BB:DD.F" (domain 0) into the canonical sysfs name. */
static int bdf_canonical(const char *bdf, char *out, size_t outlen)
{
	unsigned int dom = 0, bus, dev, fn;
	char tail;

	if (bdf == NULL)
		return -EINVAL;
	if (sscanf(bdf, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) != 4) {
		dom = 0;
		if (sscanf(bdf, "%x:%x.%x%c", &bus, &dev, &fn, &tail) != 3)
			return -EINVAL;
	}
	for (const char *p = bdf; *p; p++)
		if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
			return -EINVAL;
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -EINVAL;
	snprintf(out, outlen, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

int env_numa_node_of_pci_at(const char *sysfs_root, const char *bdf, int *node)
{
	char name[16], path[512], line[32];
	FILE *f;
	long v;

	if (node == NULL || bdf_canonical(bdf, name, sizeof(name)) != 0) {
		IOPT_ERRLOG("numa: '%s' is not a PCI address (DDDD:BB:DD.F)", bdf ? bdf : "(null)");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/numa_node", sysfs_root, name);
	f = fopen(path, "r");
	if (f == NULL) {
		int err = errno;

		IOPT_ERRLOG("numa: %s: %s", path, strerror(err));
		return err == ENOENT ? -ENOENT : -err;
	}
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		IOPT_ERRLOG("numa: %s is empty", path);
		return -EIO;
	}
	fclose(f);
	char *end;

	errno = 0;
	v = strtol(line, &end, 10);
	if (errno != 0 || end == line || (*end != '\n' && *end != '\0') || v < -1 || v > 4095) {
		IOPT_ERRLOG("numa: %s holds '%s', not a node", path, line);
		return -EIO;
	}
	/* The kernel writes -1 when firmware gave no proximity for the device. */
	*node = v < 0 ? IOPT_NUMA_ANY : (int)v;
	return 0;
}

int iopt_numa_node_of_pci(const char *bdf, int *node)
{
	return env_numa_node_of_pci_at("/sys", bdf, node);
}
