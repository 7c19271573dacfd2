/*
 * iopt_guest_platform: proves, inside a QEMU guest, the platform paths a
 * user on hardware takes, all through lib/env -- the DMAR table from sysfs
 * (iopt_env_fw_table, iopt_dmar_parse), VT-d registers through /dev/mem
 * (iopt_env_mmio_map), edu found by iopt_pci_enumerate and opened with
 * iopt_pci_open(IOPT_PCI_UIO) with bus mastering, DMA into memory from the
 * hugetlbfs backend (a hugetlbfs mount; iopt_dma_alloc) -- and that a VT-d
 * unit the kernel left alone can be taken over from userspace (pass-through
 * context, then a blocked device whose faults are recorded).
 *
 *   iopt_guest_platform --mode legacy|scalable|cm|cm-legacy (guest.h, struct guest_mode)
 *
 * Prints one "SCENARIO <name> PASS|FAIL|SKIP <detail>" line per scenario of
 * scenarios (beside this file), in that order. A scenario that cannot run
 * because one it depends on failed is reported FAIL ("not run: ...").
 * Exit status: 0 when every scenario passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "iopt/log.h"

/* init.sh mounts hugetlbfs here. */
#define HUGETLBFS_MOUNT "/dev/hugepages"

struct enum_view {
	unsigned int count;
	bool found;
	struct iopt_pci_dev_info edu;
};

static int collect_cb(const struct iopt_pci_dev_info *info, void *arg)
{
	struct enum_view *v = arg;

	v->count++;
	if (info->vendor_id == EDU_VENDOR && info->device_id == EDU_DEVICE) {
		v->found = true;
		v->edu = *info;
	}
	return 0;
}

static void format_view(const struct enum_view *v, char *buf, size_t len)
{
	char bdf[IOPT_PCI_ADDR_STRLEN] = "none";

	if (v->found)
		iopt_pci_addr_format(&v->edu.addr, bdf, sizeof(bdf));
	snprintf(buf, len, "%u devices, edu at %s class 0x%06x driver '%s'", v->count, bdf,
		 v->edu.class_code, v->edu.driver);
}

/*
 * The static libraries the guest build links work in the guest, through
 * lib/env: iopt_pci_enumerate over libpciaccess sees the same devices as its
 * sysfs scan (edu at the same address with the same class), and libnuma
 * sees the single node QEMU gives (iopt_env_numa_nodes).
 */
static void scenario_static_libs(struct guest_run *p)
{
	struct enum_view lib = { 0 }, sys = { 0 };
	char lib_s[128], sys_s[128];
	int rc_lib, rc_sys, nodes = iopt_env_numa_nodes();

	if (!iopt_pci_have_pciaccess()) {
		scenario_report("static_libs", SCENARIO_SKIP, "guest built without libpciaccess");
		return;
	}
	rc_lib = iopt_pci_enumerate(NULL, false, collect_cb, &lib);
	rc_sys = iopt_pci_enumerate(NULL, true, collect_cb, &sys);
	format_view(&lib, lib_s, sizeof(lib_s));
	format_view(&sys, sys_s, sizeof(sys_s));
	if (rc_lib != 0 || rc_sys != 0 || !lib.found || !sys.found || lib.count != sys.count ||
	    iopt_pci_addr_rid(&lib.edu.addr) != p->edu.rid ||
	    iopt_pci_addr_rid(&sys.edu.addr) != p->edu.rid ||
	    lib.edu.class_code != sys.edu.class_code || nodes != 1) {
		scenario_report("static_libs", SCENARIO_FAIL,
				"libpciaccess (%d): %s; sysfs scan (%d): %s; libnuma: %d nodes, want 1",
				rc_lib, lib_s, rc_sys, sys_s, nodes);
		return;
	}
	scenario_report("static_libs", SCENARIO_PASS,
			"iopt_pci_enumerate via libpciaccess: %s; sysfs scan agrees; libnuma: %d node",
			lib_s, nodes);
}

/* The library's messages go to the console as INFO lines. */
static void log_to_console(enum iopt_log_level level, const char *module, const char *msg,
			   void *arg)
{
	(void)arg;
	guest_info("iopt-log", "level %d %s: %s", (int)level, module, msg);
}

/*
 * What the UIO handle reports about edu, against independent views: BAR0's
 * size and address from sysfs `resource` (iopt_pci_bar_info) against the
 * BAR register in config space, no BAR1, the config size against the size
 * of the sysfs `config` file (and an access beyond it refused), the NUMA
 * node against iopt_numa_node_of_pci(); and a second handle through the
 * sysfs backend sees bus mastering on and leaves the binding alone.
 */
static int uio_views(struct guest_run *p, char *out, size_t len)
{
	struct iopt_pci_bar bar0 = { 0 }, bar1 = { 0 };
	struct iopt_pci_dev *dev = p->edu.dev, *second = NULL;
	uint32_t bar_reg = 0, beyond = 0;
	char path[160];
	struct stat st = { 0 };
	int node = -2, rc, rc_beyond, master2 = -1;

	rc = iopt_pci_bar_info(dev, 0, &bar0);
	if (rc == 0)
		rc = iopt_pci_bar_info(dev, 1, &bar1);
	if (rc == 0)
		rc = iopt_pci_cfg_read(dev, IOPT_PCI_CFG_BAR0, 4, &bar_reg);
	snprintf(path, sizeof(path), "%s/config", p->edu.sysfs);
	if (rc == 0 && stat(path, &st) != 0)
		rc = -errno;
	rc_beyond = iopt_pci_cfg_read(dev, iopt_pci_cfg_size(dev), 4, &beyond);
	if (rc == 0)
		rc = iopt_numa_node_of_pci(p->edu.bdf, &node);
	if (rc == 0)
		rc = iopt_pci_open(NULL, p->edu.bdf, &second);
	if (rc == 0) {
		master2 = iopt_pci_get_bus_master(second);
		iopt_pci_close(second);
	}
	snprintf(out, len, "BAR0 0x%" PRIx64 " bytes at 0x%" PRIx64 "%s (config BAR0 0x%08x), BAR1 0x%"
		 PRIx64 "; config 0x%x bytes (sysfs %lld, beyond: %d); node %d (%d); sysfs handle: "
		 "bus master %d", bar0.size, bar0.phys, bar0.mappable ? " mappable" : "", bar_reg,
		 bar1.size, iopt_pci_cfg_size(dev), (long long)st.st_size, rc_beyond,
		 iopt_pci_numa_node(dev), node, master2);
	if (rc != 0)
		return rc;
	if (bar0.size != 1u << 20 || !bar0.mappable || bar0.is_io ||
	    bar0.phys != (bar_reg & ~0xfu) || bar1.size != 0 ||
	    iopt_pci_cfg_size(dev) != (uint64_t)st.st_size || rc_beyond != -EINVAL ||
	    iopt_pci_numa_node(dev) != node || master2 != 1)
		return -EIO;
	return 0;
}

static void scenario_edu(struct guest_run *p)
{
	char views[320];
	uint32_t id = 0;
	int rc = edu_open(&p->edu, p->msg, sizeof(p->msg));

	if (rc != 0) {
		scenario_report("edu_uio", SCENARIO_FAIL, "%s", p->msg);
		return;
	}
	if (!edu_alive(&p->edu, &id)) {
		scenario_report("edu_uio", SCENARIO_FAIL, "BAR0 does not behave like edu (id 0x%08x)", id);
		return;
	}
	rc = uio_views(p, views, sizeof(views));
	if (rc != 0) {
		scenario_report("edu_uio", SCENARIO_FAIL, "%s: %s", strerror(-rc), views);
		return;
	}
	p->ok_edu = true;
	scenario_report("edu_uio", SCENARIO_PASS, "%s, id=0x%08x; %s", p->msg, id, views);
}

/* The sysfs driver link's last component, or "" when unbound. */
static void bound_driver(const struct edu *edu, char *name, size_t len)
{
	char path[160], link[256];
	const char *base;
	size_t blen;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/driver", edu->sysfs);
	n = readlink(path, link, sizeof(link) - 1);
	name[0] = '\0';
	if (n <= 0 || len == 0)
		return;
	link[n] = '\0';
	base = strrchr(link, '/') != NULL ? strrchr(link, '/') + 1 : link;
	blen = strlen(base) < len ? strlen(base) : len - 1;
	memcpy(name, base, blen);
	name[blen] = '\0';
}

/*
 * Give edu back: bus mastering off, BAR unmapped, iopt_pci_close() -- which
 * unbinds uio_pci_generic and restores driver_override, leaving edu unbound
 * as it was (sysfs says so) -- and a second iopt_pci_open(IOPT_PCI_UIO) binds
 * it again (a second user in the same boot takes it over cleanly).
 */
static void scenario_uio_release(struct guest_run *p)
{
	const struct iopt_pci_opts opts = { .backend = IOPT_PCI_UIO };
	struct iopt_pci_dev *again = NULL;
	char drv_closed[64], drv_again[64];
	uint16_t cmd = 0xffff;
	int rc;

	if (p->edu.dev == NULL) {
		scenario_report("uio_release", SCENARIO_FAIL, "not run: edu not open");
		return;
	}
	edu_close(&p->edu);
	bound_driver(&p->edu, drv_closed, sizeof(drv_closed));
	rc = edu_sysfs_command(&p->edu, &cmd);
	if (rc != 0 || drv_closed[0] != '\0' || (cmd & IOPT_PCI_COMMAND_MASTER)) {
		scenario_report("uio_release", SCENARIO_FAIL,
				"after close: driver '%s' (want none), command 0x%04x (%s)", drv_closed,
				cmd, rc != 0 ? strerror(-rc) : "read");
		return;
	}
	rc = iopt_pci_open(&opts, p->edu.bdf, &again);
	bound_driver(&p->edu, drv_again, sizeof(drv_again));
	iopt_pci_close(again);
	bound_driver(&p->edu, drv_closed, sizeof(drv_closed));
	if (rc != 0 || strcmp(drv_again, "uio_pci_generic") != 0 || drv_closed[0] != '\0') {
		scenario_report("uio_release", SCENARIO_FAIL,
				"second open: %s, driver '%s' while open, '%s' after close",
				rc != 0 ? strerror(-rc) : "ok", drv_again, drv_closed);
		return;
	}
	scenario_report("uio_release", SCENARIO_PASS,
			"closed: unbound, bus mastering off (command 0x%04x); opened again on %s and "
			"released again", cmd, drv_again);
}

int main(int argc, char **argv)
{
	struct guest_run p = { .prefix = "", .hugetlbfs_mount = HUGETLBFS_MOUNT };
	uint64_t seed = (uint64_t)time(NULL) * 2654435761u | 1;

	if (argc != 3 || strcmp(argv[1], "--mode") != 0 || guest_mode_parse(argv[2], &p.mode) != 0) {
		fprintf(stderr, "usage: %s --mode " GUEST_MODES "\n", argv[0]);
		return 2;
	}
	p.scalable = p.mode.scalable;
	iopt_log_set_handler(log_to_console, NULL);
	iopt_log_set_level(IOPT_LOG_INFO);
	guest_info("platform", "mode %s, seed 0x%" PRIx64, argv[2], seed);
	if (edu_find(&p.edu) != 0)
		guest_info("platform", "no edu (1234:11e8) found by iopt_pci_enumerate");
	guest_run_env(&p);
	scenario_dmar(&p);
	scenario_vtd_regs(&p);
	scenario_static_libs(&p);
	scenario_edu(&p);
	scenario_dma_untranslated(&p, seed);
	scenario_env_memory(&p, seed + 1);
	scenario_vtd_passthrough(&p, seed + 2);
	scenario_vtd_blocked_fault(&p, seed + 3);
	guest_run_cleanup(&p);
	scenario_uio_release(&p);
	edu_close(&p.edu);
	return scenario_failures() == 0 ? 0 : 1;
}
