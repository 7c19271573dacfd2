/*
 * iopt_guest_platform: proves, inside a QEMU guest, the platform paths a
 * user on hardware takes -- the DMAR table from sysfs, VT-d registers through
 * /dev/mem, edu through uio_pci_generic with bus mastering, DMA into huge
 * pages at their pagemap physical addresses -- and that a VT-d unit the
 * kernel left alone can be taken over from userspace (pass-through context,
 * then a blocked device whose faults are recorded).
 *
 *   iopt_guest_platform --mode legacy|scalable
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
#include <unistd.h>

#include "guest.h"

#ifdef IOPT_HAVE_PCIACCESS
#include <pciaccess.h>
#endif

/*
 * The static libraries the guest build links (libpciaccess, libnuma) work in
 * the guest: libpciaccess finds edu where sysfs has it, libnuma sees the
 * single node QEMU gives.
 * TEMPORARY: lib/env's PCI enumeration (on another branch) takes over the
 * libpciaccess part once it is on main.
 */
static void scenario_static_libs(struct guest_run *p)
{
#ifdef IOPT_HAVE_PCIACCESS
	struct pci_id_match match = {
		.vendor_id = EDU_VENDOR, .device_id = EDU_DEVICE,
		.subvendor_id = PCI_MATCH_ANY, .subdevice_id = PCI_MATCH_ANY,
	};
	struct pci_device_iterator *it;
	struct pci_device *dev;
	char bdf[16] = "none";
	uint16_t vendor = 0;
	int rc = pci_system_init(), nodes;

	if (rc != 0) {
		scenario_report("static_libs", SCENARIO_FAIL, "pci_system_init: %s", strerror(rc));
		return;
	}
	it = pci_id_match_iterator_create(&match);
	dev = it != NULL ? pci_device_next(it) : NULL;
	if (dev != NULL) {
		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", dev->domain, dev->bus, dev->dev,
			 dev->func);
		pci_device_cfg_read_u16(dev, &vendor, 0);
	}
	pci_iterator_destroy(it);
	pci_system_cleanup();
	nodes = iopt_env_numa_nodes();
	if (strcmp(bdf, p->edu.bdf) != 0 || vendor != EDU_VENDOR || nodes != 1) {
		scenario_report("static_libs", SCENARIO_FAIL,
				"libpciaccess: edu at %s (sysfs: %s), vendor 0x%04x; libnuma: %d nodes, want 1",
				bdf, p->edu.bdf, vendor, nodes);
		return;
	}
	scenario_report("static_libs", SCENARIO_PASS,
			"libpciaccess: edu at %s, config vendor 0x%04x; libnuma: %d node", bdf, vendor,
			nodes);
#else
	(void)p;
	scenario_report("static_libs", SCENARIO_SKIP, "guest built without libpciaccess");
#endif
}

static void scenario_edu(struct guest_run *p)
{
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
	p->ok_edu = true;
	scenario_report("edu_uio", SCENARIO_PASS, "%s, id=0x%08x", p->msg, id);
}

int main(int argc, char **argv)
{
	struct guest_run p = { .prefix = "", .edu = { .uio_fd = -1 } };
	uint64_t seed = (uint64_t)time(NULL) * 2654435761u | 1;

	if (argc != 3 || strcmp(argv[1], "--mode") != 0 ||
	    (strcmp(argv[2], "legacy") != 0 && strcmp(argv[2], "scalable") != 0)) {
		fprintf(stderr, "usage: %s --mode legacy|scalable\n", argv[0]);
		return 2;
	}
	p.scalable = strcmp(argv[2], "scalable") == 0;
	guest_info("platform", "mode %s, seed 0x%" PRIx64, argv[2], seed);
	if (edu_find(&p.edu) != 0)
		guest_info("platform", "no edu (1234:11e8) in /sys/bus/pci/devices");
	scenario_dmar(&p);
	scenario_vtd_regs(&p);
	scenario_static_libs(&p);
	scenario_edu(&p);
	scenario_dma_untranslated(&p, seed);
	scenario_vtd_passthrough(&p, seed + 2);
	scenario_vtd_blocked_fault(&p, seed + 3);
	guest_run_cleanup(&p);
	edu_close(&p.edu);
	return scenario_failures() == 0 ? 0 : 1;
}
