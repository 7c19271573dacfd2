/*
 * iopt_guest_vfio: edu reached the way a VFIO user reaches a device when the
 * kernel leaves the IOMMU alone -- VFIO in no-IOMMU mode (the rebuilt
 * vfio.ko, Debian's stock vfio-pci; init.sh loads them and binds edu) --
 * and the platform scenarios of guest/common run over it: DMA into memory
 * from lib/env's hugetlbfs backend (anonymous MAP_HUGETLB here), then the
 * VT-d unit taken over from userspace with pass-through and
 * blocking context entries.
 *
 *   iopt_guest_vfio --mode legacy|scalable|cm|cm-legacy (guest.h, struct guest_mode)
 *
 * Prints one "SCENARIO <name> PASS|FAIL|SKIP <detail>" line per scenario of
 * scenarios (beside this file), in that order. A scenario that cannot run
 * because one it depends on failed is reported FAIL ("not run: ...").
 * Exit status: 0 when every scenario passed.
 *
 * The device is opened with lib/env's PCI layer, iopt_pci_open() with
 * IOPT_PCI_VFIO_NOIOMMU; what the library logs (which VFIO form it found, or
 * why none) is printed as INFO lines and quoted in the scenario details.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "iopt/log.h"
#include "iopt/pci.h"

#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
#define TAINTED "/proc/sys/kernel/tainted"
/* Linux's TAINT_USER ('U'): what vfio adds for a no-IOMMU group. */
#define TAINT_USER_BIT 6
/* edu's BAR0 (QEMU hw/misc/edu.c): 1 MiB of MMIO, no other BAR. */
#define EDU_BAR0_SIZE (1u << 20)

struct vfio_run {
	struct guest_run r;
	struct iopt_pci_dev *dev;
	bool ok_env, ok_cfg;
};

/* The library's log messages since the last reset ("; "-separated, cut at
 * the buffer's end), for the scenario details; each also goes to the console. */
static char g_last_log[512];

static void log_to_console(enum iopt_log_level level, const char *module, const char *msg,
			   void *arg)
{
	size_t used = strlen(g_last_log);

	(void)arg;
	snprintf(g_last_log + used, sizeof(g_last_log) - used, "%s%s: %s", used != 0 ? "; " : "",
		 module, msg);
	guest_info("iopt-log", "level %d %s: %s", (int)level, module, msg);
}

static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* What init.sh set up: no-IOMMU mode on, edu bound to vfio-pci, and the
 * kernel tainted for it, as it must be. */
static void scenario_noiommu(struct vfio_run *v)
{
	char param[8] = "", taint[32] = "", drv[256] = "", path[160];
	unsigned long tainted;
	ssize_t n;

	read_text(NOIOMMU_PARAM, param, sizeof(param));
	read_text(TAINTED, taint, sizeof(taint));
	tainted = strtoul(taint, NULL, 10);
	snprintf(path, sizeof(path), "%s/driver", v->r.edu.sysfs);
	n = readlink(path, drv, sizeof(drv) - 1);
	drv[n > 0 ? n : 0] = '\0';
	if (strcmp(param, "Y") != 0 || strstr(drv, "/vfio-pci") == NULL ||
	    !(tainted & (1ul << TAINT_USER_BIT))) {
		scenario_report("vfio_noiommu", SCENARIO_FAIL,
				"enable_unsafe_noiommu_mode=%s, %s driver=%s, tainted=%lu (want Y, vfio-pci, bit %d)",
				param[0] ? param : "absent", v->r.edu.bdf, n > 0 ? drv : "none", tainted,
				TAINT_USER_BIT);
		return;
	}
	v->ok_env = true;
	scenario_report("vfio_noiommu", SCENARIO_PASS,
			"enable_unsafe_noiommu_mode=Y, %s on vfio-pci, tainted=%lu (TAINT_USER set)",
			v->r.edu.bdf, tainted);
}

static void scenario_open(struct vfio_run *v)
{
	const struct iopt_pci_opts opts = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_addr addr;
	int rc;

	if (!v->ok_env) {
		scenario_report("vfio_open", SCENARIO_FAIL, "not run: no-IOMMU mode not set up");
		return;
	}
	g_last_log[0] = '\0';
	rc = iopt_pci_open(&opts, v->r.edu.bdf, &v->dev);
	if (rc != 0) {
		scenario_report("vfio_open", SCENARIO_FAIL, "iopt_pci_open: %s; log: %s", strerror(-rc),
				g_last_log);
		return;
	}
	addr = iopt_pci_get_addr(v->dev);
	if (iopt_pci_get_backend(v->dev) != IOPT_PCI_VFIO_NOIOMMU ||
	    strncmp(iopt_pci_describe(v->dev), "vfio-group:/dev/vfio/noiommu-", 29) != 0 ||
	    iopt_pci_addr_rid(&addr) != v->r.edu.rid) {
		scenario_report("vfio_open", SCENARIO_FAIL, "opened as %s (%s), rid 0x%04x, want 0x%04x",
				iopt_pci_backend_name(iopt_pci_get_backend(v->dev)),
				iopt_pci_describe(v->dev), iopt_pci_addr_rid(&addr), v->r.edu.rid);
		return;
	}
	scenario_report("vfio_open", SCENARIO_PASS, "%s, rid 0x%04x; log: %s",
			iopt_pci_describe(v->dev), iopt_pci_addr_rid(&addr), g_last_log);
}

static void scenario_config(struct vfio_run *v)
{
	uint32_t vendor = 0, device = 0, cmd = 0;
	uint16_t sys_cmd = 0;
	int rc;

	if (v->dev == NULL) {
		scenario_report("vfio_config", SCENARIO_FAIL, "not run: device not open");
		return;
	}
	rc = iopt_pci_cfg_read(v->dev, IOPT_PCI_CFG_VENDOR_ID, 2, &vendor);
	if (rc == 0)
		rc = iopt_pci_cfg_read(v->dev, IOPT_PCI_CFG_DEVICE_ID, 2, &device);
	if (rc == 0)
		rc = iopt_pci_set_bus_master(v->dev, true);
	if (rc == 0)
		rc = iopt_pci_cfg_read(v->dev, IOPT_PCI_CFG_COMMAND, 2, &cmd);
	if (rc == 0)
		rc = edu_sysfs_command(&v->r.edu, &sys_cmd);
	if (rc != 0 || vendor != EDU_VENDOR || device != EDU_DEVICE ||
	    !(cmd & IOPT_PCI_COMMAND_MASTER) || !(sys_cmd & IOPT_PCI_COMMAND_MASTER) ||
	    iopt_pci_get_bus_master(v->dev) != 1) {
		scenario_report("vfio_config", SCENARIO_FAIL,
				"%s; config region: %04x:%04x command 0x%04x; sysfs command 0x%04x",
				rc != 0 ? strerror(-rc) : "read", vendor, device, cmd, sys_cmd);
		return;
	}
	v->ok_cfg = true;
	scenario_report("vfio_config", SCENARIO_PASS,
			"config region: %04x:%04x; bus mastering set there: command 0x%04x (sysfs 0x%04x)",
			vendor, device, cmd, sys_cmd);
}

static void scenario_bar0(struct vfio_run *v)
{
	struct iopt_pci_bar bar0 = { 0 }, bar1 = { 0 };
	uint32_t id = 0;
	int rc;

	if (v->dev == NULL) {
		scenario_report("vfio_bar0", SCENARIO_FAIL, "not run: device not open");
		return;
	}
	rc = iopt_pci_bar_info(v->dev, 0, &bar0);
	if (rc == 0)
		rc = iopt_pci_bar_info(v->dev, 1, &bar1);
	if (rc != 0 || bar0.size != EDU_BAR0_SIZE || !bar0.mappable || bar0.is_io ||
	    bar1.size != 0) {
		scenario_report("vfio_bar0", SCENARIO_FAIL,
				"region info: BAR0 0x%" PRIx64 " bytes%s, BAR1 0x%" PRIx64
				" (want 0x%x mmap-able, none)",
				bar0.size, bar0.mappable ? " mmap" : "", bar1.size, EDU_BAR0_SIZE);
		return;
	}
	rc = iopt_pci_map_bar(v->dev, 0, &v->r.edu.bar0);
	if (rc != 0) {
		scenario_report("vfio_bar0", SCENARIO_FAIL, "mmap of BAR0: %s", strerror(-rc));
		return;
	}
	if (!edu_alive(&v->r.edu, &id)) {
		scenario_report("vfio_bar0", SCENARIO_FAIL, "BAR0 does not behave like edu (id 0x%08x)",
				id);
		return;
	}
	v->r.ok_edu = v->ok_cfg;
	scenario_report("vfio_bar0", SCENARIO_PASS, "BAR0 region 0x%" PRIx64 " bytes mmap-ed, id=0x%08x",
			bar0.size, id);
}

/* One refused open: iopt_pci_open must fail with want, and open nothing. */
static bool expect_refusal(const char *bdf, int want, char *out, size_t len)
{
	const struct iopt_pci_opts opts = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_dev *dev = NULL;
	int rc;

	g_last_log[0] = '\0';
	rc = iopt_pci_open(&opts, bdf, &dev);
	snprintf(out, len, "%s: %s (%s)", bdf, rc == 0 ? "opened" : strerror(-rc), g_last_log);
	if (rc == 0)
		iopt_pci_close(dev);
	return rc == want;
}

/*
 * The backend's refusals as the real kernel produces them: a device not
 * bound to vfio-pci (the q35 host bridge), an absent device, and edu's group
 * while this process holds it open (VFIO groups open once).
 */
static void scenario_refusals(struct vfio_run *v)
{
	char unbound[256], absent[256], busy[256];
	bool ok_unbound, ok_absent, ok_busy;

	if (v->dev == NULL) {
		scenario_report("vfio_refusals", SCENARIO_FAIL, "not run: device not open");
		return;
	}
	ok_unbound = expect_refusal("0000:00:00.0", -EUNATCH, unbound, sizeof(unbound));
	ok_absent = expect_refusal("0000:00:1f.7", -ENODEV, absent, sizeof(absent));
	ok_busy = expect_refusal(v->r.edu.bdf, -EBUSY, busy, sizeof(busy));
	scenario_report("vfio_refusals", ok_unbound && ok_absent && ok_busy ? SCENARIO_PASS
									     : SCENARIO_FAIL,
			"%s%s; %s%s; %s%s", unbound, ok_unbound ? "" : " [want EUNATCH]", absent,
			ok_absent ? "" : " [want ENODEV]", busy, ok_busy ? "" : " [want EBUSY]");
}

/* Give the device back: bus mastering off, every fd closed; a second open
 * of the group then works (nothing was left held). */
static void scenario_release(struct vfio_run *v)
{
	const struct iopt_pci_opts opts = { .backend = IOPT_PCI_VFIO_NOIOMMU };
	struct iopt_pci_dev *again = NULL;
	int rc, master;

	if (v->dev == NULL) {
		scenario_report("vfio_release", SCENARIO_FAIL, "not run: device not open");
		return;
	}
	rc = iopt_pci_set_bus_master(v->dev, false);
	master = iopt_pci_get_bus_master(v->dev);
	iopt_mmio_unmap(v->r.edu.bar0);
	v->r.edu.bar0 = NULL;
	iopt_pci_close(v->dev);
	v->dev = NULL;
	if (rc != 0 || master != 0) {
		scenario_report("vfio_release", SCENARIO_FAIL, "bus mastering not cleared (%d, %d)", rc,
				master);
		return;
	}
	g_last_log[0] = '\0';
	rc = iopt_pci_open(&opts, v->r.edu.bdf, &again);
	iopt_pci_close(again);
	if (rc != 0) {
		scenario_report("vfio_release", SCENARIO_FAIL, "open after close: %s; log: %s",
				strerror(-rc), g_last_log);
		return;
	}
	scenario_report("vfio_release", SCENARIO_PASS,
			"bus mastering off, fds closed; the group opens again");
}

int main(int argc, char **argv)
{
	/* hugetlbfs_mount NULL: anonymous MAP_HUGETLB memory (the uio program uses the mount). */
	struct vfio_run v = { .r = { .prefix = "vfio_", .hugetlbfs_mount = NULL } };
	uint64_t seed = (uint64_t)time(NULL) * 2654435761u | 1;

	if (argc != 3 || strcmp(argv[1], "--mode") != 0 ||
	    guest_mode_parse(argv[2], &v.r.mode) != 0) {
		fprintf(stderr, "usage: %s --mode " GUEST_MODES "\n", argv[0]);
		return 2;
	}
	v.r.scalable = v.r.mode.scalable;
	iopt_log_set_handler(log_to_console, NULL);
	iopt_log_set_level(IOPT_LOG_INFO);
	guest_info("vfio", "mode %s, seed 0x%" PRIx64, argv[2], seed);
	if (edu_find(&v.r.edu) != 0)
		guest_info("vfio", "no edu (1234:11e8) found by iopt_pci_enumerate");
	guest_run_env(&v.r);
	scenario_dmar(&v.r);
	scenario_vtd_regs(&v.r);
	scenario_noiommu(&v);
	scenario_open(&v);
	scenario_config(&v);
	scenario_bar0(&v);
	scenario_refusals(&v);
	scenario_dma_untranslated(&v.r, seed);
	scenario_env_memory(&v.r, seed + 1);
	scenario_vtd_passthrough(&v.r, seed + 2);
	scenario_vtd_blocked_fault(&v.r, seed + 3);
	guest_run_cleanup(&v.r);
	scenario_release(&v);
	iopt_mmio_unmap(v.r.edu.bar0);
	iopt_pci_close(v.dev);
	return scenario_failures() == 0 ? 0 : 1;
}
