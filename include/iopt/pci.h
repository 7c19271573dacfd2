/**
 * @file
 * PCI devices: find them, open one, reach its configuration space and BARs,
 * and control its bus mastering.
 *
 * A device is opened by its address (BDF, "0000:00:02.0" or "00:02.0") with
 * one of four backends, which differ only in how they reach the device:
 *   - IOPT_PCI_SYSFS: the sysfs `config` and `resourceN` files of a device
 *     left bound to whatever driver it has. No binding is done. This is what
 *     iommuctl and tests use on a device someone else bound (setup.sh).
 *   - IOPT_PCI_UIO: binds the device to uio_pci_generic through sysfs
 *     (driver_override, or new_id, then bind), after unbinding its current
 *     driver, and gives it back to that driver on close. Config space through
 *     the sysfs `config` file, BARs through sysfs `resourceN` (uio_pci_generic
 *     exposes no maps for most devices).
 *   - IOPT_PCI_VFIO_NOIOMMU: VFIO in no-IOMMU mode. The group form
 *     (/dev/vfio/noiommu-N: container, VFIO_NOIOMMU_IOMMU, device fd) or,
 *     where the kernel has it (Linux 6.6+), the cdev form
 *     (/dev/vfio/devices/noiommu-vfioN bound with VFIO_DEVICE_BIND_IOMMUFD
 *     and iommufd -1). Config space and BARs are VFIO regions; bus
 *     mastering is set through the config region. The device must already be
 *     bound to vfio-pci (scripts/setup.sh DRIVER=vfio does that). The open
 *     logs which form it found, or why neither could be used; each reason
 *     has its own error code (see iopt_pci_open()).
 *   - IOPT_PCI_SIM: a device of the simulated platform (a model registered
 *     it on a sim environment, iopt_internal/sim_pci.h), by name ("sim0") or
 *     by BDF.
 *
 * Every path the real backends touch (/sys/..., /dev/...) is taken relative
 * to a root prefix (iopt_pci_opts.root, default "/"), so that tests can run
 * the same code on a fake tree in a temporary directory.
 *
 * Enumeration uses libpciaccess when the build has it (CONFIG_PCIACCESS) and
 * the root is "/"; otherwise it scans <root>/sys/bus/pci/devices.
 *
 * Thread safety: a device handle is used by one thread at a time (config
 * read-modify-write is not atomic against another user). Different handles
 * are independent. VFIO refuses a second open of a device (the kernel
 * answers -EBUSY, measured in a QEMU guest); SYSFS and UIO do not detect it,
 * and a second UIO handle on a device the first one bound uses the binding
 * as it finds it (only the handle that bound the device restores it).
 */
#ifndef IOPT_PCI_H
#define IOPT_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iopt/env.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A PCI address: domain (segment), bus, device (0..31), function (0..7). */
struct iopt_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
};

/** Bytes a formatted address needs, with the NUL ("0000:00:02.0"). */
#define IOPT_PCI_ADDR_STRLEN 13

/**
 * Parse "DDDD:BB:DD.F" or "BB:DD.F" (hex; domain 0 when omitted). The whole
 * string must be an address: no spaces, no trailing characters.
 * @param s    the text
 * @param out  receives the address
 * @return 0; -EINVAL for NULL arguments, a malformed string, or a field out
 *         of range (domain > 0xffff, device > 0x1f, function > 7).
 */
int iopt_pci_addr_parse(const char *s, struct iopt_pci_addr *out);

/**
 * Format an address as "DDDD:BB:DD.F".
 * @param addr  the address
 * @param buf   receives the text
 * @param len   size of buf; at least IOPT_PCI_ADDR_STRLEN
 * @return 0; -EINVAL for NULL arguments or fields out of range; -ENOSPC when
 *         buf is too small (buf is then left untouched).
 */
int iopt_pci_addr_format(const struct iopt_pci_addr *addr, char *buf, size_t len);

/** Requester ID of an address: bus << 8 | dev << 3 | fn. */
static inline uint16_t iopt_pci_addr_rid(const struct iopt_pci_addr *addr)
{
	return (uint16_t)(addr->bus << 8 | (addr->dev & 0x1f) << 3 | (addr->fn & 7));
}

/** Backends (see the file comment). */
enum iopt_pci_backend {
	IOPT_PCI_SYSFS = 0,
	IOPT_PCI_UIO = 1,
	IOPT_PCI_VFIO_NOIOMMU = 2,
	IOPT_PCI_SIM = 3,
};

/** @return the backend's name ("sysfs", "uio", "vfio-noiommu", "sim"), or "?". */
const char *iopt_pci_backend_name(enum iopt_pci_backend backend);

/** Options for iopt_pci_open(). Zero-initialise, then set what matters. */
struct iopt_pci_opts {
	enum iopt_pci_backend backend;
	/** Root prefix of /sys and /dev; NULL or "" means "/". Ignored by sim. */
	const char *root;
	/** sim: the sim environment whose devices to look in. Ignored otherwise. */
	struct iopt_env *env;
};

struct iopt_pci_dev;

/**
 * Open a device.
 * @param opts  backend and root; NULL selects IOPT_PCI_SYSFS at "/"
 * @param name  the BDF; on sim also a device name ("sim0")
 * @param out   receives the handle
 * @return 0, or a negative errno:
 *   - -EINVAL: NULL name/out, a name that is not a BDF (sim: nor a device
 *     name), an unknown backend, sim without a sim environment;
 *   - -ENODEV: no such device (no <root>/sys/bus/pci/devices/<bdf>; on sim
 *     no device of that name or address);
 *   - -EACCES / -EPERM: the files exist but may not be opened (not root);
 *   - -EIO: a sysfs or VFIO file gave short or unreadable data;
 *   - -ENOMEM.
 *   UIO:
 *   - -ENXIO: uio_pci_generic is not loaded (no
 *     <root>/sys/bus/pci/drivers/uio_pci_generic): `modprobe uio_pci_generic`
 *     or scripts/setup.sh DRIVER=uio;
 *   - -EBUSY: binding did not take (another driver holds the device, or no
 *     /dev/uioN appeared); the old driver has been given the device back.
 *   VFIO no-IOMMU (each reason is logged at open time):
 *   - -ENXIO: no VFIO: neither /dev/vfio/vfio nor /dev/vfio/devices exists
 *     (the vfio module is not loaded);
 *   - -EOPNOTSUPP: VFIO is loaded without no-IOMMU mode:
 *     /sys/module/vfio/parameters/enable_unsafe_noiommu_mode is absent (the
 *     kernel lacks CONFIG_VFIO_NOIOMMU, as Debian's do: see
 *     scripts/setup.sh, which can point at rebuilding vfio.ko) or reads N,
 *     or the container refuses VFIO_NOIOMMU_IOMMU;
 *   - -EUNATCH: the device is not bound to vfio-pci;
 *   - -EXDEV: the device is in a real IOMMU group (/dev/vfio/N), not a
 *     no-IOMMU one: the kernel owns an IOMMU for it (boot with
 *     intel_iommu=off, or use the kernel's VFIO);
 *   - -ENOENT: bound to vfio-pci but neither a no-IOMMU group node nor a
 *     no-IOMMU device cdev exists for it;
 *   - -EBUSY: the group is not viable (another device in it is bound to a
 *     host driver) or already opened by another process.
 */
int iopt_pci_open(const struct iopt_pci_opts *opts, const char *name, struct iopt_pci_dev **out);

/**
 * Close a device. UIO gives the device back to the driver it had before
 * iopt_pci_open() (or leaves it unbound if it had none). Bus mastering is
 * left as it is: disable it first if the device may still do DMA. MMIO
 * handles from iopt_pci_map_bar() must be unmapped first. NULL is a no-op.
 */
void iopt_pci_close(struct iopt_pci_dev *dev);

/** @return the address of dev. */
struct iopt_pci_addr iopt_pci_get_addr(const struct iopt_pci_dev *dev);

/** @return the requester ID of dev (bus << 8 | dev << 3 | fn). */
uint16_t iopt_pci_rid(const struct iopt_pci_dev *dev);

/** @return the backend dev was opened with. */
enum iopt_pci_backend iopt_pci_get_backend(const struct iopt_pci_dev *dev);

/**
 * How the backend reaches the device, for logs and diagnostics: "sysfs",
 * "uio:/dev/uio0", "vfio-group:/dev/vfio/noiommu-0",
 * "vfio-cdev:/dev/vfio/devices/noiommu-vfio0", "sim:sim0".
 */
const char *iopt_pci_describe(const struct iopt_pci_dev *dev);

/** @return vendor ID from config offset 0 (read at open). */
uint16_t iopt_pci_vendor_id(const struct iopt_pci_dev *dev);

/** @return device ID from config offset 2 (read at open). */
uint16_t iopt_pci_device_id(const struct iopt_pci_dev *dev);

/**
 * NUMA node of the device (sysfs numa_node).
 * @return the node (>= 0), or IOPT_NUMA_ANY when unknown (no file, -1 in it,
 *         or sim).
 */
int iopt_pci_numa_node(const struct iopt_pci_dev *dev);

/** @return bytes of config space: 256 (conventional) or 4096 (PCIe). */
uint32_t iopt_pci_cfg_size(const struct iopt_pci_dev *dev);

/**
 * Read config space.
 * @param dev   the device
 * @param off   byte offset, naturally aligned to size
 * @param size  1, 2 or 4
 * @param val   receives the value (zero-extended)
 * @return 0; -EINVAL for a bad size, misaligned offset, or off + size beyond
 *         iopt_pci_cfg_size(); -EIO when the access failed or was short.
 */
int iopt_pci_cfg_read(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val);

/**
 * Write config space.
 * @return 0; -EINVAL as iopt_pci_cfg_read(), or val wider than size; -EIO.
 */
int iopt_pci_cfg_write(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val);

/** Config space offsets and bits iopt uses (PCI Local Bus 3.0, 6.2). */
#define IOPT_PCI_CFG_VENDOR_ID 0x00
#define IOPT_PCI_CFG_DEVICE_ID 0x02
#define IOPT_PCI_CFG_COMMAND 0x04
#define IOPT_PCI_COMMAND_MEMORY (1U << 1) /**< memory space enable */
#define IOPT_PCI_COMMAND_MASTER (1U << 2) /**< bus master enable */
#define IOPT_PCI_CFG_STATUS 0x06
#define IOPT_PCI_CFG_CLASS_REV 0x08
#define IOPT_PCI_CFG_HEADER_TYPE 0x0e
#define IOPT_PCI_CFG_BAR0 0x10

/** Number of BARs of a type-0 header. */
#define IOPT_PCI_NUM_BARS 6

/** What iopt_pci_bar_info() reports. */
struct iopt_pci_bar {
	uint64_t size;      /**< bytes; 0 when the BAR is not implemented */
	uint64_t phys;      /**< bus address (0 on VFIO, which does not say) */
	bool is_io;         /**< an I/O-port BAR (cannot be mapped) */
	bool is_64;         /**< a 64-bit memory BAR */
	bool prefetchable;
	bool mappable;      /**< iopt_pci_map_bar() can map it */
};

/**
 * Describe a BAR (from sysfs `resource`, VFIO region info, or the sim
 * device).
 * @return 0; -EINVAL for bar >= IOPT_PCI_NUM_BARS or NULL info; -EIO when
 *         the `resource` file is malformed.
 */
int iopt_pci_bar_info(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info);

/**
 * Map a memory BAR, all of it, into an MMIO handle (free it with
 * iopt_mmio_unmap() before closing dev).
 * @return 0; -EINVAL for a bad bar number; -ENOENT when the BAR is not
 *         implemented (size 0); -ENOTSUP for an I/O BAR or a VFIO region
 *         that cannot be mmap-ed; -ENOMEM; or the error of the mapping
 *         (iopt_mmio_map_file / iopt_mmio_map_fd).
 */
int iopt_pci_map_bar(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out);

/**
 * Enable or disable bus mastering: read-modify-write of bit 2 of the command
 * register, other bits kept.
 * @return 0; -EIO when config space could not be read or written.
 */
int iopt_pci_set_bus_master(struct iopt_pci_dev *dev, bool enable);

/**
 * Is bus mastering enabled?
 * @return 1 or 0; -EIO when the command register could not be read.
 */
int iopt_pci_get_bus_master(struct iopt_pci_dev *dev);

/* ---- Enumeration --------------------------------------------------------- */

/** One device as enumeration sees it. */
struct iopt_pci_dev_info {
	struct iopt_pci_addr addr;
	uint16_t vendor_id;
	uint16_t device_id;
	uint32_t class_code;   /**< 24-bit base class, subclass, prog-if */
	/** Bound driver ("virtio-pci"), or "" when unbound or unknown. */
	char driver[32];
};

/** Called per device; a non-zero return stops the walk and is returned. */
typedef int (*iopt_pci_enum_cb)(const struct iopt_pci_dev_info *info, void *arg);

/**
 * Call cb for every PCI device, in address order.
 * @param root  root prefix as in iopt_pci_opts (NULL: "/"); libpciaccess is
 *              used only for "/" and when use_sysfs is false
 * @param use_sysfs  scan <root>/sys/bus/pci/devices even when libpciaccess
 *              is available
 * @return 0 when every device was visited; the callback's non-zero value;
 *         -ENOENT when there is no <root>/sys/bus/pci (no PCI bus visible);
 *         -EIO when libpciaccess fails to initialise; -ENOMEM.
 */
int iopt_pci_enumerate(const char *root, bool use_sysfs, iopt_pci_enum_cb cb, void *arg);

/** @return true when this build enumerates through libpciaccess. */
bool iopt_pci_have_pciaccess(void);

#ifdef __cplusplus
}
#endif

#endif
