/*
 * lib/env PCI internals: the device handle, the backend interface and the
 * sysfs helpers the SYSFS, UIO and VFIO backends share.
 *
 * iopt_pci_open() checks arguments and then calls the backend's open, which
 * fills the handle (address, cfg_size, and its own state in priv). Config
 * accesses reach the backend only after pci.c has checked size, alignment
 * and bounds, so backends never see an out-of-range access. vendor/device
 * are read through the backend once open has succeeded.
 *
 * Paths: every /sys or /dev path is built by pci_path() from dev->root,
 * which is the caller's root prefix without a trailing slash ("" for "/").
 */
#ifndef IOPT_PCI_INTERNAL_H
#define IOPT_PCI_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "iopt/pci.h"

struct iopt_pci_dev;

struct pci_backend {
	const char *name;
	/* Fill dev (addr, cfg_size, describe, priv). On error, undo everything. */
	int (*open)(struct iopt_pci_dev *dev, const struct iopt_pci_opts *opts, const char *name);
	void (*close)(struct iopt_pci_dev *dev);
	/* Checked by pci.c: size 1/2/4, aligned, off + size <= cfg_size. */
	int (*cfg_read)(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val);
	int (*cfg_write)(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val);
	/* bar < IOPT_PCI_NUM_BARS (checked). */
	int (*bar_info)(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info);
	int (*map_bar)(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out);
};

struct iopt_pci_dev {
	const struct pci_backend *be;
	enum iopt_pci_backend kind;
	struct iopt_pci_addr addr;
	char bdf[IOPT_PCI_ADDR_STRLEN];
	char root[PATH_MAX];        /* prefix without trailing '/' */
	uint32_t cfg_size;
	uint16_t vendor_id;
	uint16_t device_id;
	int numa_node;
	char describe[PATH_MAX + 32];
	void *priv;                 /* backend state */
};

extern const struct pci_backend pci_sysfs_backend;
extern const struct pci_backend pci_uio_backend;
extern const struct pci_backend pci_vfio_backend;
extern const struct pci_backend pci_sim_backend;

/* Copy a root prefix into dst (PATH_MAX) without trailing '/'. -ENAMETOOLONG. */
int pci_root_set(char *dst, const char *root);

/*
 * snprintf a path below root: pci_path(buf, root, "/sys/bus/pci/devices/%s/config", bdf).
 * Returns -ENAMETOOLONG when it does not fit in PATH_MAX.
 */
int pci_path(char *buf, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sysfs file helpers. Each returns 0 or a negative errno. */
int sysfs_read_str(const char *path, char *buf, size_t len);    /* trailing newline stripped */
int sysfs_write_str(const char *path, const char *s);
int sysfs_read_u64(const char *path, uint64_t *val);             /* "0x..." or decimal */
int sysfs_read_s64(const char *path, int64_t *val);
bool path_exists(const char *path);
/* Last component of the symlink at path ("" when absent). */
int sysfs_link_name(const char *path, char *buf, size_t len);

/*
 * The sysfs device state the SYSFS and UIO backends share: the config file
 * descriptor and the device directory. pci_sysfs_dev_open fills dev->addr,
 * bdf, cfg_size (from the config file's size) and numa_node.
 */
struct pci_sysfs_dev {
	int cfg_fd;
	char dir[PATH_MAX];         /* <root>/sys/bus/pci/devices/<bdf> */
};

int pci_sysfs_dev_open(struct iopt_pci_dev *dev, struct pci_sysfs_dev *sd, const char *name);
void pci_sysfs_dev_close(struct pci_sysfs_dev *sd);
int pci_sysfs_cfg_read(struct pci_sysfs_dev *sd, uint32_t off, unsigned int size, uint32_t *val);
int pci_sysfs_cfg_write(struct pci_sysfs_dev *sd, uint32_t off, unsigned int size, uint32_t val);
int pci_sysfs_bar_info(struct pci_sysfs_dev *sd, unsigned int bar, struct iopt_pci_bar *info);
int pci_sysfs_map_bar(struct pci_sysfs_dev *sd, unsigned int bar, struct iopt_mmio **out);

/*
 * Parse line `bar` of a sysfs `resource` file ("0xSTART 0xEND 0xFLAGS" per
 * line, IORESOURCE_* flags) into info. Exposed for tests.
 */
int pci_parse_resource(const char *text, unsigned int bar, struct iopt_pci_bar *info);

/* Resolve a name (BDF) into dev->addr and dev->bdf. -EINVAL when malformed. */
int pci_dev_set_addr(struct iopt_pci_dev *dev, const char *name);

/* Read <dir>/numa_node: the node, or IOPT_NUMA_ANY. */
int pci_read_numa_node(const char *dir);

#endif
