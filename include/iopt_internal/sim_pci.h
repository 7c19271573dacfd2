/*
 * Simulated PCI devices (lib/env, IOPT_PCI_SIM backend): how the software
 * models put devices on a sim environment's bus, and how they ask about
 * them.
 *
 * A model (the VT-d or SMMUv3 model's DMA test device, say) describes a
 * device with struct sim_pci_desc and adds it with sim_pci_add(). From then
 * on iopt_pci_open() with IOPT_PCI_SIM and the same environment reaches it
 * by name ("sim0") or by BDF, exactly like a real device: config space,
 * BARs, bus mastering. Before doing DMA on behalf of a requester ID, a model
 * asks sim_pci_bus_master() whether that requester's bus mastering is on
 * (a device with bus mastering off must not do DMA, as on real hardware).
 *
 * Config space: 4 KiB (256 bytes when desc.conventional), little-endian,
 * type-0 header. Vendor, device, class, revision and header type are read
 * only. The command register keeps the bits a device implements (I/O and
 * memory decode, bus master, parity, SERR, INTx disable); it starts with
 * memory decode on and bus mastering off, as a device the OS enabled but no
 * driver has yet claimed. BARs behave as hardware's: the address bits above
 * the BAR's size are writable, the type bits are fixed, so writing all ones
 * and reading back gives the size mask. Offsets 0x40 and up are plain
 * read-write storage for the model (capabilities, device registers); the
 * model can fill it with sim_pci_cfg_poke() and learns of every guest write
 * through desc.cfg_written (called after the write took effect, without any
 * sim lock held, so it may call back into this API).
 *
 * BAR MMIO: iopt_pci_map_bar() on a sim device gives a handle made with
 * sim_mmio_create() whose accesses call the BAR's ops; while memory decode
 * (command bit 1) is off, reads return all ones and writes are dropped.
 *
 * Lifetime: sim_pci_remove() refuses (-EBUSY) while an iopt_pci handle on
 * the device is open; BAR mappings must be unmapped before their handle is
 * closed. Devices must be removed before their environment is destroyed.
 *
 * Threads: one mutex guards the registry and every config space; callbacks
 * (cfg_written, BAR ops) run without it.
 */
#ifndef IOPT_INTERNAL_SIM_PCI_H
#define IOPT_INTERNAL_SIM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "iopt/env.h"
#include "iopt/pci.h"

/* Longest device name, with the NUL. */
#define SIM_PCI_NAME_MAX 32

struct sim_pci_bar_desc {
	/* Bytes: 0 (no BAR) or a power of two >= 16. */
	uint64_t size;
	bool is_64;          /* a 64-bit BAR; takes the next BAR slot too */
	bool prefetchable;
	/* Register callbacks; off is relative to the BAR. NULL: the BAR cannot be mapped. */
	const struct iopt_mmio_sim_ops *ops;
	void *arg;
};

struct sim_pci_desc {
	const char *name;            /* unique on the environment, < SIM_PCI_NAME_MAX */
	struct iopt_pci_addr addr;   /* unique on the environment */
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;         /* 24 bits */
	uint8_t revision;
	bool conventional;           /* 256-byte config space instead of 4 KiB */
	struct sim_pci_bar_desc bars[IOPT_PCI_NUM_BARS];
	/* Told of every config write after it took effect; may be NULL. */
	void (*cfg_written)(void *arg, uint32_t off, unsigned int size, uint32_t val);
	void *arg;
};

struct sim_pci_dev;

/**
 * Put a device on env's simulated bus.
 * @return 0; -EINVAL for a non-sim env, a missing or too long name, bad BAR
 *         sizes, a 64-bit BAR in slot 5 or a BAR overlapping one; -EEXIST
 *         when the name or address is taken on env; -ENOMEM.
 */
int sim_pci_add(struct iopt_env *env, const struct sim_pci_desc *desc, struct sim_pci_dev **out);

/**
 * Take a device off the bus and free it. NULL is a no-op (returns 0).
 * @return 0; -EBUSY while an iopt_pci handle on it is open (nothing changes).
 */
int sim_pci_remove(struct sim_pci_dev *dev);

/**
 * Is bus mastering enabled for requester ID rid on env?
 * @return 1 or 0; -ENODEV when no simulated device has that RID (a model
 *         treats that as an unsupported request).
 */
int sim_pci_bus_master(struct iopt_env *env, uint16_t rid);

/** @return the device's requester ID. */
uint16_t sim_pci_rid(const struct sim_pci_dev *dev);

/**
 * Model-side config access, bypassing the write masks (to set up
 * capabilities or reflect device state) and without calling cfg_written.
 * @return 0; -EINVAL for a bad size, misalignment or offset beyond the space.
 */
int sim_pci_cfg_peek(struct sim_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val);
int sim_pci_cfg_poke(struct sim_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val);

#endif
