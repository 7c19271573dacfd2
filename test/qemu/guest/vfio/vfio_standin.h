/*
 * TEMPORARY: a stand-in for lib/env's VFIO no-IOMMU backend
 * (iopt_pci_open() with IOPT_PCI_VFIO_NOIOMMU, include/iopt/pci.h), which is
 * being written on the `pci` branch and is not on main yet. Each function
 * here has the shape of the iopt_pci_* call that replaces it (same
 * arguments, same error codes for the cases the guest meets), so that the
 * switch is a rename:
 *   standin_pci_open           -> iopt_pci_open(&{.backend = IOPT_PCI_VFIO_NOIOMMU}, bdf, &dev)
 *   standin_pci_close          -> iopt_pci_close
 *   standin_pci_describe       -> iopt_pci_describe
 *   standin_pci_cfg_read/write -> iopt_pci_cfg_read/write
 *   standin_pci_bar_info       -> iopt_pci_bar_info
 *   standin_pci_map_bar        -> iopt_pci_map_bar
 *   standin_pci_set/get_bus_master -> iopt_pci_set/get_bus_master
 * Only the group form (/dev/vfio/noiommu-N) is implemented: Linux 6.1 has
 * no no-IOMMU device cdev; the open says which form it found and why.
 * Delete this file (and vfio_standin.c) once pci.h is on main.
 */
#ifndef IOPT_GUEST_VFIO_STANDIN_H
#define IOPT_GUEST_VFIO_STANDIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"

struct standin_pci_dev;

/* As struct iopt_pci_bar. */
struct standin_pci_bar {
	uint64_t size;      /* bytes; 0 when the BAR is not implemented */
	bool mappable;      /* the region can be mmap-ed */
};

/*
 * Open a device bound to vfio-pci in no-IOMMU mode (group form): container,
 * VFIO_NOIOMMU_IOMMU, device fd, region table. err receives why on failure.
 * @return 0, or a negative errno:
 *   -ENXIO      no /dev/vfio/vfio (vfio not loaded);
 *   -EOPNOTSUPP vfio without no-IOMMU mode (parameter absent or N, or the
 *               container refuses VFIO_NOIOMMU_IOMMU);
 *   -EUNATCH    the device is not bound to vfio-pci;
 *   -EXDEV      the device is in a real IOMMU group, not a no-IOMMU one;
 *   -ENOENT     no group node for the device;
 *   -EBUSY      the group is not viable or already open;
 *   -ENODEV     no such device; -EIO; -ENOMEM.
 */
int standin_pci_open(const char *bdf, struct standin_pci_dev **out, char *err, size_t err_len);
/* Close device fd, group and container. NULL is a no-op. */
void standin_pci_close(struct standin_pci_dev *dev);
/* "vfio-group:/dev/vfio/noiommu-0" */
const char *standin_pci_describe(const struct standin_pci_dev *dev);
/* Config space through the VFIO config region. size 1, 2 or 4, aligned.
 * @return 0; -EINVAL; -EIO. */
int standin_pci_cfg_read(struct standin_pci_dev *dev, uint32_t off, unsigned int size,
			 uint32_t *val);
int standin_pci_cfg_write(struct standin_pci_dev *dev, uint32_t off, unsigned int size,
			  uint32_t val);
/* @return 0; -EINVAL for bar > 5. */
int standin_pci_bar_info(struct standin_pci_dev *dev, unsigned int bar,
			 struct standin_pci_bar *info);
/* Map all of a BAR's region from the device fd.
 * @return 0; -EINVAL; -ENOENT (size 0); -ENOTSUP (not mmap-able); a mapping error. */
int standin_pci_map_bar(struct standin_pci_dev *dev, unsigned int bar, struct iopt_mmio **out);
/* Read-modify-write of the command register's bus-master bit.
 * @return 0; -EIO. */
int standin_pci_set_bus_master(struct standin_pci_dev *dev, bool enable);
/* @return 1 or 0; -EIO. */
int standin_pci_get_bus_master(struct standin_pci_dev *dev);

#endif
