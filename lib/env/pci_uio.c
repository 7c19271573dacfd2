/*
 * The IOPT_PCI_UIO backend: bind the device to uio_pci_generic through
 * sysfs, use its sysfs config and resourceN files, and give it back to its
 * old driver on close.
 *
 * Binding, in the order the kernel needs it:
 *   1. remember the current driver (the name the `driver` link points at);
 *   2. if <dev>/driver_override exists, write "uio_pci_generic" to it (only
 *      this device matches then); otherwise write "VVVV DDDD" to the driver's
 *      new_id (every device with those IDs matches: undone with remove_id);
 *   3. write the BDF to the old driver's unbind;
 *   4. write the BDF to uio_pci_generic's bind (new_id may already have
 *      bound it, so a failing bind is not an error by itself);
 *   5. find /dev/uioN from <dev>/uio/uioN: that directory exists exactly
 *      when a UIO driver holds the device, so it is the proof the bind took.
 * Release undoes it: unbind from uio_pci_generic, put driver_override back
 * to what it was (a newline clears it) or remove_id, and write the BDF to the
 * old driver's bind. The old override matters: vfio-pci, for one, binds a
 * device only through driver_override or new_id.
 */
#define LOG_MODULE "pci_uio"
#include "iopt_internal/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci_internal.h"

#define UIO_DRIVER "uio_pci_generic"

struct pci_uio_dev {
	struct pci_sysfs_dev sd;
	char old_driver[64];        /* "" when the device had none */
	bool we_bound;              /* we changed the binding and must restore it */
	bool used_override;         /* driver_override (else new_id) */
	char old_override[64];      /* its value before ("" for none): restored on close */
	char uio_dev[PATH_MAX];     /* /dev/uioN below the root */
};

/* Find <dir>/uio/uioN and build <root>/dev/uioN. -ENOENT when none. */
static int find_uio_node(struct iopt_pci_dev *dev, struct pci_uio_dev *u)
{
	char path[PATH_MAX];
	struct dirent *de;
	int rc = -ENOENT;

	if (snprintf(path, sizeof(path), "%s/uio", u->sd.dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	DIR *d = opendir(path);

	if (d == NULL)
		return -ENOENT;
	while ((de = readdir(d)) != NULL) {
		unsigned int n;
		char tail;

		if (sscanf(de->d_name, "uio%u%c", &n, &tail) != 1)
			continue;
		rc = pci_path(u->uio_dev, dev->root, "/dev/uio%u", n);
		break;
	}
	closedir(d);
	if (rc == 0 && !path_exists(u->uio_dev)) {
		IOPT_ERRLOG("%s: bound to UIO but %s does not exist", dev->bdf, u->uio_dev);
		rc = -ENOENT;
	}
	return rc;
}

static int driver_file(char *buf, const struct iopt_pci_dev *dev, const char *drv, const char *f)
{
	return pci_path(buf, dev->root, "/sys/bus/pci/drivers/%s/%s", drv, f);
}

/* Write s to the driver's file f, logging the action. */
static int driver_write(const struct iopt_pci_dev *dev, const char *drv, const char *f,
			const char *s)
{
	char path[PATH_MAX];
	int rc = driver_file(path, dev, drv, f);

	if (rc != 0)
		return rc;
	rc = sysfs_write_str(path, s);
	IOPT_DEBUGLOG("%s: '%s' > %s: %d", dev->bdf, s, path, rc);
	return rc;
}

static int set_override(const struct iopt_pci_dev *dev, struct pci_uio_dev *u, const char *s)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/driver_override", u->sd.dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int rc = sysfs_write_str(path, s);

	IOPT_DEBUGLOG("%s: driver_override <- '%s': %d", dev->bdf, s, rc);
	return rc;
}

/* Undo the binding: back to the old driver (or unbound). Best effort, logged. */
static void uio_restore(struct iopt_pci_dev *dev, struct pci_uio_dev *u)
{
	char ids[16];

	if (!u->we_bound)
		return;
	driver_write(dev, UIO_DRIVER, "unbind", dev->bdf);
	if (u->used_override) {
		/* The old driver may match only through the old override (vfio-pci does). */
		set_override(dev, u, u->old_override[0] ? u->old_override : "\n");
	} else {
		snprintf(ids, sizeof(ids), "%04x %04x", dev->vendor_id, dev->device_id);
		driver_write(dev, UIO_DRIVER, "remove_id", ids);
	}
	if (u->old_driver[0] != '\0') {
		int rc = driver_write(dev, u->old_driver, "bind", dev->bdf);

		if (rc != 0)
			IOPT_ERRLOG("%s: could not give the device back to %s: %d", dev->bdf,
				    u->old_driver, rc);
		else
			IOPT_INFOLOG("%s: given back to %s", dev->bdf, u->old_driver);
	} else {
		IOPT_INFOLOG("%s: released; it had no driver and stays unbound", dev->bdf);
	}
	u->we_bound = false;
}

static int read_ids_sysfs(struct iopt_pci_dev *dev, struct pci_uio_dev *u)
{
	uint32_t id;
	int rc = pci_sysfs_cfg_read(&u->sd, 0, 4, &id);

	if (rc != 0)
		return rc;
	dev->vendor_id = (uint16_t)id;
	dev->device_id = (uint16_t)(id >> 16);
	return 0;
}

static int uio_bind(struct iopt_pci_dev *dev, struct pci_uio_dev *u)
{
	char path[PATH_MAX], ids[16];
	int rc;

	if (pci_path(path, dev->root, "/sys/bus/pci/drivers/%s", UIO_DRIVER) != 0)
		return -ENAMETOOLONG;
	if (!path_exists(path)) {
		IOPT_ERRLOG("%s: %s is not loaded (no %s): modprobe %s, or scripts/setup.sh "
			    "DRIVER=uio", dev->bdf, UIO_DRIVER, path, UIO_DRIVER);
		return -ENXIO;
	}
	rc = read_ids_sysfs(dev, u);
	if (rc != 0)
		return rc;
	if (snprintf(path, sizeof(path), "%s/driver_override", u->sd.dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	u->used_override = path_exists(path);
	u->we_bound = true;
	if (u->used_override) {
		if (sysfs_read_str(path, u->old_override, sizeof(u->old_override)) != 0 ||
		    strcmp(u->old_override, "(null)") == 0)
			u->old_override[0] = '\0';
		rc = set_override(dev, u, UIO_DRIVER);
	} else {
		snprintf(ids, sizeof(ids), "%04x %04x", dev->vendor_id, dev->device_id);
		rc = driver_write(dev, UIO_DRIVER, "new_id", ids);
		if (rc == -EEXIST)
			rc = 0; /* the IDs are already known to the driver */
	}
	if (rc == 0 && u->old_driver[0] != '\0')
		rc = driver_write(dev, u->old_driver, "unbind", dev->bdf);
	if (rc != 0) {
		IOPT_ERRLOG("%s: preparing the bind to %s failed: %d", dev->bdf, UIO_DRIVER, rc);
		uio_restore(dev, u);
		return rc == -EACCES || rc == -EPERM ? rc : -EBUSY;
	}
	/* new_id may already have probed the device; a failing bind is judged by step 5. */
	rc = driver_write(dev, UIO_DRIVER, "bind", dev->bdf);
	if (find_uio_node(dev, u) != 0) {
		IOPT_ERRLOG("%s: bind to %s did not take (bind: %d; no uio node)", dev->bdf,
			    UIO_DRIVER, rc);
		uio_restore(dev, u);
		return -EBUSY;
	}
	IOPT_INFOLOG("%s: unbound from %s, bound to %s (%s)", dev->bdf,
		     u->old_driver[0] ? u->old_driver : "no driver", UIO_DRIVER, u->uio_dev);
	return 0;
}

static int uio_open(struct iopt_pci_dev *dev, const struct iopt_pci_opts *opts, const char *name)
{
	struct pci_uio_dev *u = calloc(1, sizeof(*u));
	char path[PATH_MAX];
	int rc;

	(void)opts;
	if (u == NULL)
		return -ENOMEM;
	rc = pci_sysfs_dev_open(dev, &u->sd, name);
	if (rc != 0)
		goto fail;
	if (snprintf(path, sizeof(path), "%s/driver", u->sd.dir) >= (int)sizeof(path)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	sysfs_link_name(path, u->old_driver, sizeof(u->old_driver));
	if (strcmp(u->old_driver, UIO_DRIVER) == 0) {
		/* Someone (setup.sh) bound it already: use it, restore nothing. */
		u->old_driver[0] = '\0';
		rc = find_uio_node(dev, u);
		if (rc != 0)
			IOPT_ERRLOG("%s: bound to %s but no uio node found", dev->bdf, UIO_DRIVER);
	} else {
		rc = uio_bind(dev, u);
	}
	if (rc != 0)
		goto fail;
	dev->priv = u;
	snprintf(dev->describe, sizeof(dev->describe), "uio:%s", u->uio_dev);
	return 0;
fail:
	pci_sysfs_dev_close(&u->sd);
	free(u);
	return rc;
}

static void uio_close(struct iopt_pci_dev *dev)
{
	struct pci_uio_dev *u = dev->priv;

	uio_restore(dev, u);
	pci_sysfs_dev_close(&u->sd);
	free(u);
	dev->priv = NULL;
}

static int uio_cfg_read(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val)
{
	struct pci_uio_dev *u = dev->priv;

	return pci_sysfs_cfg_read(&u->sd, off, size, val);
}

static int uio_cfg_write(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val)
{
	struct pci_uio_dev *u = dev->priv;

	return pci_sysfs_cfg_write(&u->sd, off, size, val);
}

static int uio_bar_info(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info)
{
	struct pci_uio_dev *u = dev->priv;

	return pci_sysfs_bar_info(&u->sd, bar, info);
}

static int uio_map_bar(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out)
{
	struct pci_uio_dev *u = dev->priv;

	return pci_sysfs_map_bar(&u->sd, bar, out);
}

const struct pci_backend pci_uio_backend = {
	.name = "uio",
	.open = uio_open,
	.close = uio_close,
	.cfg_read = uio_cfg_read,
	.cfg_write = uio_cfg_write,
	.bar_info = uio_bar_info,
	.map_bar = uio_map_bar,
};
