/*
 * A simulated x86 machine with one or more VT-d units: the sim counterpart
 * of QEMU's q35 machine with -device intel-iommu and edu devices
 * (../shared/QEMU.md), or of a server with several DRHDs.
 *
 * sim_machine_create() puts, on a sim environment:
 *   - nr_units VT-d models (lib/hwmodel/vtd), each of its own profile (the
 *     machine's, or a per-unit one: heterogeneous platforms), unit i's
 *     register block at SIM_MACHINE_VTD_BASE + i * SIM_MACHINE_VTD_STRIDE
 *     (unit 0 at 0xfed90000, as QEMU) published with
 *     sim_platform_add_mmio(), so a driver maps it with iopt_env_mmio_map()
 *     exactly as on hardware;
 *   - a DMAR table published with sim_platform_add_fw_table(): one DRHD per
 *     unit, in unit order. With one unit it names every DMA test device by
 *     an explicit endpoint scope (no INCLUDE_PCI_ALL, as QEMU). With several,
 *     every unit but the last names its devices by explicit endpoint scopes
 *     and the last one has INCLUDE_PCI_ALL (and no scopes), as a server's
 *     firmware describes it (the INCLUDE_PCI_ALL DRHD is the last of its
 *     segment, VT-d 8.3). Then, optionally, an RMRR naming the first
 *     device, and one RHSA per unit (proximity domain 0); correct checksum;
 *   - nr_devs DMA test devices (dmadev, edu's counterpart) at 00:02.0,
 *     00:03.0, ... named "edu0", "edu1", ... on the sim PCI bus
 *     (sim_pci_add), so that config space
 *     and bus mastering behave as on hardware: sim_machine_dma() refuses DMA
 *     (-EPERM) while a device's bus mastering is off. Device i sits behind
 *     unit dev_unit[i] (0 unless given): its DMA goes through that model.
 *
 * Optionally a PCIe-to-PCI bridge at 00:1e.0 (type-1 header, class 0x0604,
 * a PCIe capability of port type "PCI Express to PCI/PCI-X bridge",
 * secondary and subordinate bus 1): the devices marked behind_bridge[] are
 * conventional PCI devices below it, at 01:00.0, 01:01.0, ... Their DMA
 * carries the bridge's alias requester id 01:00.0 (the bridge takes
 * ownership of their transactions: secondary bus, devfn 0), so it goes
 * through their unit's model with that id (no ATS, PRI or PASID). Their
 * unit's DRHD names the bridge by one PCI sub-hierarchy scope instead of
 * endpoint scopes; they must all be on one unit, not the INCLUDE_PCI_ALL
 * one of a several-unit machine.
 *
 * The one-unit default machine is exactly what it was before several units
 * existed (same base, same DMAR bytes).
 *
 * Threads: as the model and the sim PCI bus (each call may be made from any
 * thread); create/destroy are not concurrent with anything else.
 */
#ifndef IOPT_INTERNAL_SIM_MACHINE_H
#define IOPT_INTERNAL_SIM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"
#include "iopt_internal/hwmodel.h"

#define SIM_MACHINE_MAX_DEVS 8
#define SIM_MACHINE_MAX_UNITS 4
/* Where unit 0's register block goes (QEMU's q35 puts intel-iommu there). */
#define SIM_MACHINE_VTD_BASE 0xfed90000ULL
/* Distance between the register blocks of consecutive units. */
#define SIM_MACHINE_VTD_STRIDE 0x10000ULL
/* PCI identity of the DMA test devices: QEMU's edu. */
#define SIM_MACHINE_DEV_VENDOR 0x1234
#define SIM_MACHINE_DEV_DEVICE 0x11e8

struct sim_machine_opts {
	const char *profile;          /* "qemu-q35" (NULL), "qemu-q35-scalable", "full" */
	enum vtdm_coherency coherency; /* "full" only: VTDM_COHERENT / VTDM_NONCOHERENT */
	unsigned int nr_devs;         /* DMA test devices, 1..SIM_MACHINE_MAX_DEVS; 0: 1 */
	unsigned int dev_caps;        /* DMADEV_CAP_* of every device; ATS adds the PCIe ATS
				       * extended capability at config offset 0x100, PRI
				       * the PRI capability at 0x110 */
	bool rmrr;                    /* an RMRR [rmrr_base, rmrr_last] naming device 0 */
	uint64_t rmrr_base;           /* 4 KiB aligned */
	uint64_t rmrr_last;           /* inclusive; rmrr_last + 1 4 KiB aligned */
	bool bus_master;              /* start with bus mastering on (else off, as after reset) */
	/* VT-d CAP / ECAP overrides, passed to the model (struct vtdm_opts) of
	 * every unit of the machine's profile (not to a unit with its own) */
	uint64_t cap_set, cap_clear, ecap_set, ecap_clear;
	unsigned int nr_units;        /* VT-d units, 1..SIM_MACHINE_MAX_UNITS; 0: 1 */
	/* Per unit: a profile of its own (NULL: the machine's profile and
	 * coherency) and, with it, its coherency (as 'coherency' above). */
	struct {
		const char *profile;
		enum vtdm_coherency coherency;
	} units[SIM_MACHINE_MAX_UNITS];
	unsigned int dev_unit[SIM_MACHINE_MAX_DEVS]; /* unit of device i, < nr_units */
	bool behind_bridge[SIM_MACHINE_MAX_DEVS];    /* device i below the PCIe-to-PCI bridge */
};

/* The PCIe-to-PCI bridge (when a device is behind it) and its devices' alias. */
#define SIM_MACHINE_BRIDGE_RID 0x00f0   /* 00:1e.0 */
#define SIM_MACHINE_BRIDGE_BUS 1        /* its secondary (= subordinate) bus */
#define SIM_MACHINE_BRIDGE_ALIAS 0x0100 /* 01:00.0: the requester id of their DMA */

struct sim_machine_dev {
	uint16_t rid;                 /* 00:02.0 = 0x0010, 00:03.0 = 0x0018, ... */
	char name[16];                /* "0000:00:02.0" */
	struct dmadev *dma;
	struct sim_pci_dev *pci;
	unsigned int unit;            /* index into sim_machine.units */
	uint16_t dma_rid;             /* the requester id its DMA carries (rid, or the alias) */
	bool bridged;                 /* behind the PCIe-to-PCI bridge */
};

struct sim_machine {
	struct iopt_env *env;
	struct vtdm *vtd;             /* unit 0 (units[0]) */
	unsigned int nr_units;
	struct vtdm *units[SIM_MACHINE_MAX_UNITS];
	unsigned int nr_devs;
	struct sim_machine_dev devs[SIM_MACHINE_MAX_DEVS];
	struct sim_pci_dev *bridge;   /* or NULL */
};

/**
 * Build the machine on env (see the file comment).
 * @return 0; -EINVAL (not a sim env, bad counts, a device on a unit
 *         beyond nr_units, a misaligned RMRR, a profile that does not
 *         choose coherency given one, CAP/ECAP overrides the model
 *         refuses, see vtdm_create); -ENOENT
 *         (unknown profile); -EEXIST (env already has a block at the base or
 *         a device at those addresses); -ENOMEM. Nothing is left on env on
 *         error.
 */
int sim_machine_create(struct iopt_env *env, const struct sim_machine_opts *opts,
		       struct sim_machine **out);

/* Take everything off env and free it. NULL is a no-op. */
void sim_machine_destroy(struct sim_machine *m);

/**
 * Device idx does one DMA: reads [iova, iova + len) into buf, or writes buf
 * there, through its unit's VT-d model.
 * @return 0; -EPERM when its bus mastering is off (nothing is transferred);
 *         -EFAULT with *f filled on a translation fault; -EAGAIN (a page
 *         request is pending, PRI devices); -EINVAL (bad index).
 */
int sim_machine_dma(struct sim_machine *m, unsigned int idx, uint64_t iova, void *buf,
		    size_t len, bool is_write, struct hwmodel_fault *f);

/* The device index of requester rid, or -ENOENT. */
int sim_machine_find(const struct sim_machine *m, uint16_t rid);

/* Set bus mastering of device idx the way a driver would (PCI command bit 2). */
int sim_machine_set_bus_master(struct sim_machine *m, unsigned int idx, bool on);

#endif
