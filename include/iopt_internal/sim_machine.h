/*
 * A simulated x86 machine with one VT-d unit: the sim counterpart of QEMU's
 * q35 machine with -device intel-iommu and edu devices (../shared/QEMU.md).
 *
 * sim_machine_create() puts, on a sim environment:
 *   - a VT-d model (lib/hwmodel/vtd) of the chosen profile, its register
 *     block at a fixed fake physical address (0xfed90000, as QEMU) published
 *     with sim_platform_add_mmio(), so a driver maps it with
 *     iopt_env_mmio_map() exactly as on hardware;
 *   - a DMAR table published with sim_platform_add_fw_table(): one DRHD at
 *     that base with explicit device scopes (no INCLUDE_PCI_ALL, as QEMU) for
 *     every DMA test device, an RHSA (proximity domain 0), optionally an RMRR
 *     naming the first device; correct checksum;
 *   - nr_devs DMA test devices (dmadev, edu's counterpart) at 00:02.0,
 *     00:03.0, ... named "edu0", "edu1", ... on the sim PCI bus
 *     (sim_pci_add), so that config space
 *     and bus mastering behave as on hardware: sim_machine_dma() refuses DMA
 *     (-EPERM) while a device's bus mastering is off.
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
/* Where the register block goes (QEMU's q35 puts intel-iommu there). */
#define SIM_MACHINE_VTD_BASE 0xfed90000ULL
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
	/* VT-d CAP / ECAP overrides, passed to the model (struct vtdm_opts) */
	uint64_t cap_set, cap_clear, ecap_set, ecap_clear;
};

struct sim_machine_dev {
	uint16_t rid;                 /* 00:02.0 = 0x0010, 00:03.0 = 0x0018, ... */
	char name[16];                /* "0000:00:02.0" */
	struct dmadev *dma;
	struct sim_pci_dev *pci;
};

struct sim_machine {
	struct iopt_env *env;
	struct vtdm *vtd;
	unsigned int nr_devs;
	struct sim_machine_dev devs[SIM_MACHINE_MAX_DEVS];
};

/**
 * Build the machine on env (see the file comment).
 * @return 0; -EINVAL (not a sim env, bad counts, a misaligned RMRR, a
 *         profile that does not choose coherency given one, CAP/ECAP
 *         overrides the model refuses, see vtdm_create); -ENOENT
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
 * there, through the VT-d model.
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
