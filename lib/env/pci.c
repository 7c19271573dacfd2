/*
 * PCI devices, the part every backend shares: addresses, open/close
 * dispatch, checked config access, bus mastering, and enumeration
 * (libpciaccess, or a scan of sysfs).
 */
#define LOG_MODULE "pci"
#include "iopt_internal/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef IOPT_HAVE_PCIACCESS
#include <pciaccess.h>
#endif

#include "pci_internal.h"

/* ---- Addresses ------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse 1..maxdigits hex digits at *p up to the delimiter; advance past it. */
static int parse_hex_field(const char **p, int maxdigits, char delim, uint32_t *out)
{
	uint32_t v = 0;
	int n = 0;

	while (**p != delim) {
		int d = hexval(**p);

		if (d < 0 || ++n > maxdigits)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
		(*p)++;
	}
	if (n == 0)
		return -EINVAL;
	if (delim != '\0')
		(*p)++;
	*out = v;
	return 0;
}

int iopt_pci_addr_parse(const char *s, struct iopt_pci_addr *out)
{
	uint32_t domain = 0, bus, dev, fn;
	const char *p = s;

	if (s == NULL || out == NULL)
		return -EINVAL;
	/* Two colons: the domain is present. */
	const char *c1 = strchr(s, ':');

	if (c1 != NULL && strchr(c1 + 1, ':') != NULL) {
		if (parse_hex_field(&p, 4, ':', &domain) != 0)
			goto bad;
	}
	if (parse_hex_field(&p, 2, ':', &bus) != 0 || parse_hex_field(&p, 2, '.', &dev) != 0 ||
	    parse_hex_field(&p, 1, '\0', &fn) != 0 || dev > 0x1f || fn > 7)
		goto bad;
	out->domain = domain;
	out->bus = (uint8_t)bus;
	out->dev = (uint8_t)dev;
	out->fn = (uint8_t)fn;
	return 0;
bad:
	IOPT_DEBUGLOG("'%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)", s);
	return -EINVAL;
}

int iopt_pci_addr_format(const struct iopt_pci_addr *addr, char *buf, size_t len)
{
	char tmp[32];

	if (addr == NULL || buf == NULL || addr->domain > 0xffff || addr->dev > 0x1f ||
	    addr->fn > 7)
		return -EINVAL;
	int n = snprintf(tmp, sizeof(tmp), "%04x:%02x:%02x.%x", (unsigned int)addr->domain,
			 addr->bus, addr->dev, addr->fn);

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)n + 1);
	return 0;
}

int pci_dev_set_addr(struct iopt_pci_dev *dev, const char *name)
{
	int rc = iopt_pci_addr_parse(name, &dev->addr);

	if (rc != 0)
		return rc;
	return iopt_pci_addr_format(&dev->addr, dev->bdf, sizeof(dev->bdf));
}

const char *iopt_pci_backend_name(enum iopt_pci_backend backend)
{
	switch (backend) {
	case IOPT_PCI_SYSFS:
		return "sysfs";
	case IOPT_PCI_UIO:
		return "uio";
	case IOPT_PCI_VFIO_NOIOMMU:
		return "vfio-noiommu";
	case IOPT_PCI_SIM:
		return "sim";
	}
	return "?";
}

static const struct pci_backend *backend_of(enum iopt_pci_backend kind)
{
	switch (kind) {
	case IOPT_PCI_SYSFS:
		return &pci_sysfs_backend;
	case IOPT_PCI_UIO:
		return &pci_uio_backend;
	case IOPT_PCI_VFIO_NOIOMMU:
		return &pci_vfio_backend;
	case IOPT_PCI_SIM:
		return &pci_sim_backend;
	}
	return NULL;
}

/* ---- Open / close ----------------------------------------------------------- */

static int read_ids(struct iopt_pci_dev *dev)
{
	uint32_t id;
	int rc = dev->be->cfg_read(dev, IOPT_PCI_CFG_VENDOR_ID, 4, &id);

	if (rc != 0)
		return rc;
	dev->vendor_id = (uint16_t)id;
	dev->device_id = (uint16_t)(id >> 16);
	if (dev->vendor_id == 0xffff)
		IOPT_WARNLOG("%s: vendor ID reads 0xffff (device gone or config space blocked)",
			     dev->bdf);
	return 0;
}

int iopt_pci_open(const struct iopt_pci_opts *opts, const char *name, struct iopt_pci_dev **out)
{
	static const struct iopt_pci_opts defaults = { .backend = IOPT_PCI_SYSFS };
	struct iopt_pci_dev *dev;
	int rc;

	if (name == NULL || out == NULL)
		return -EINVAL;
	if (opts == NULL)
		opts = &defaults;
	const struct pci_backend *be = backend_of(opts->backend);

	if (be == NULL) {
		IOPT_ERRLOG("open %s: unknown PCI backend %d", name, (int)opts->backend);
		return -EINVAL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	dev->be = be;
	dev->kind = opts->backend;
	dev->numa_node = IOPT_NUMA_ANY;
	rc = pci_root_set(dev->root, opts->root);
	if (rc == 0)
		rc = be->open(dev, opts, name);
	if (rc != 0) {
		free(dev);
		return rc;
	}
	rc = read_ids(dev);
	if (rc != 0) {
		IOPT_ERRLOG("open %s: cannot read vendor/device ID: %d", name, rc);
		be->close(dev);
		free(dev);
		return rc;
	}
	IOPT_INFOLOG("%s [%04x:%04x] opened through %s", dev->bdf, dev->vendor_id,
		     dev->device_id, dev->describe);
	*out = dev;
	return 0;
}

void iopt_pci_close(struct iopt_pci_dev *dev)
{
	if (dev == NULL)
		return;
	dev->be->close(dev);
	free(dev);
}

struct iopt_pci_addr iopt_pci_get_addr(const struct iopt_pci_dev *dev)
{
	return dev->addr;
}

uint16_t iopt_pci_rid(const struct iopt_pci_dev *dev)
{
	return iopt_pci_addr_rid(&dev->addr);
}

enum iopt_pci_backend iopt_pci_get_backend(const struct iopt_pci_dev *dev)
{
	return dev->kind;
}

const char *iopt_pci_describe(const struct iopt_pci_dev *dev)
{
	return dev->describe;
}

uint16_t iopt_pci_vendor_id(const struct iopt_pci_dev *dev)
{
	return dev->vendor_id;
}

uint16_t iopt_pci_device_id(const struct iopt_pci_dev *dev)
{
	return dev->device_id;
}

int iopt_pci_numa_node(const struct iopt_pci_dev *dev)
{
	return dev->numa_node;
}

uint32_t iopt_pci_cfg_size(const struct iopt_pci_dev *dev)
{
	return dev->cfg_size;
}

/* ---- Config space ----------------------------------------------------------- */

static bool cfg_access_ok(const struct iopt_pci_dev *dev, uint32_t off, unsigned int size)
{
	if ((size != 1 && size != 2 && size != 4) || off % size != 0 ||
	    (uint64_t)off + size > dev->cfg_size) {
		IOPT_ERRLOG("%s: bad %u-byte config access at 0x%x (config space is 0x%x bytes)",
			    dev->bdf, size, off, dev->cfg_size);
		return false;
	}
	return true;
}

int iopt_pci_cfg_read(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val)
{
	if (dev == NULL || val == NULL || !cfg_access_ok(dev, off, size))
		return -EINVAL;
	return dev->be->cfg_read(dev, off, size, val);
}

int iopt_pci_cfg_write(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val)
{
	if (dev == NULL || !cfg_access_ok(dev, off, size))
		return -EINVAL;
	if (size < 4 && (val >> (size * 8)) != 0) {
		IOPT_ERRLOG("%s: value 0x%x does not fit a %u-byte config write", dev->bdf, val,
			    size);
		return -EINVAL;
	}
	return dev->be->cfg_write(dev, off, size, val);
}

int iopt_pci_get_bus_master(struct iopt_pci_dev *dev)
{
	uint32_t cmd;
	int rc = iopt_pci_cfg_read(dev, IOPT_PCI_CFG_COMMAND, 2, &cmd);

	if (rc != 0)
		return rc;
	return (cmd & IOPT_PCI_COMMAND_MASTER) != 0;
}

int iopt_pci_set_bus_master(struct iopt_pci_dev *dev, bool enable)
{
	uint32_t cmd, new_cmd;
	int rc = iopt_pci_cfg_read(dev, IOPT_PCI_CFG_COMMAND, 2, &cmd);

	if (rc != 0)
		return rc;
	new_cmd = enable ? cmd | IOPT_PCI_COMMAND_MASTER : cmd & ~IOPT_PCI_COMMAND_MASTER;
	if (new_cmd == cmd)
		return 0;
	rc = iopt_pci_cfg_write(dev, IOPT_PCI_CFG_COMMAND, 2, new_cmd);
	if (rc == 0)
		IOPT_DEBUGLOG("%s: bus mastering %s (command 0x%04x -> 0x%04x)", dev->bdf,
			      enable ? "enabled" : "disabled", cmd, new_cmd);
	return rc;
}

int iopt_pci_bar_info(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info)
{
	if (dev == NULL || info == NULL || bar >= IOPT_PCI_NUM_BARS)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	return dev->be->bar_info(dev, bar, info);
}

int iopt_pci_map_bar(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out)
{
	if (dev == NULL || out == NULL || bar >= IOPT_PCI_NUM_BARS) {
		IOPT_ERRLOG("map_bar: bad arguments (bar %u)", bar);
		return -EINVAL;
	}
	return dev->be->map_bar(dev, bar, out);
}

/* ---- Enumeration ------------------------------------------------------------ */

bool iopt_pci_have_pciaccess(void)
{
#ifdef IOPT_HAVE_PCIACCESS
	return true;
#else
	return false;
#endif
}

/* Fill the driver name of info from <root>/sys/bus/pci/devices/<bdf>/driver. */
static void info_driver(const char *root, struct iopt_pci_dev_info *info)
{
	char bdf[IOPT_PCI_ADDR_STRLEN], path[PATH_MAX];

	info->driver[0] = '\0';
	if (iopt_pci_addr_format(&info->addr, bdf, sizeof(bdf)) != 0 ||
	    pci_path(path, root, "/sys/bus/pci/devices/%s/driver", bdf) != 0)
		return;
	if (sysfs_link_name(path, info->driver, sizeof(info->driver)) != 0)
		info->driver[0] = '\0';
}

static int sysfs_info(const char *root, const char *bdf, struct iopt_pci_dev_info *info)
{
	char path[PATH_MAX];
	uint64_t v;
	int rc = iopt_pci_addr_parse(bdf, &info->addr);

	if (rc != 0)
		return rc;
	if (pci_path(path, root, "/sys/bus/pci/devices/%s/vendor", bdf) != 0 ||
	    sysfs_read_u64(path, &v) != 0)
		return -EIO;
	info->vendor_id = (uint16_t)v;
	if (pci_path(path, root, "/sys/bus/pci/devices/%s/device", bdf) != 0 ||
	    sysfs_read_u64(path, &v) != 0)
		return -EIO;
	info->device_id = (uint16_t)v;
	if (pci_path(path, root, "/sys/bus/pci/devices/%s/class", bdf) == 0 &&
	    sysfs_read_u64(path, &v) == 0)
		info->class_code = (uint32_t)v & 0xffffff;
	info_driver(root, info);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int enumerate_sysfs(const char *root, iopt_pci_enum_cb cb, void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (pci_path(path, root, "/sys/bus/pci/devices") != 0)
		return -ENAMETOOLONG;
	DIR *d = opendir(path);

	if (d == NULL) {
		IOPT_INFOLOG("no PCI bus visible: cannot open %s (errno %d)", path, errno);
		return -ENOENT;
	}
	while ((de = readdir(d)) != NULL) {
		struct iopt_pci_addr a;

		if (de->d_name[0] == '.' || iopt_pci_addr_parse(de->d_name, &a) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nn = realloc(names, ncap * sizeof(*nn));

			if (nn == NULL) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (names[n] == NULL) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc == 0 && n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct iopt_pci_dev_info info = { 0 };

		if (sysfs_info(root, names[i], &info) != 0) {
			IOPT_WARNLOG("enumerate: cannot identify %s, skipped", names[i]);
			continue;
		}
		rc = cb(&info, arg);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

#ifdef IOPT_HAVE_PCIACCESS
static int addr_cmp(const void *a, const void *b)
{
	const struct iopt_pci_dev_info *x = a, *y = b;
	uint64_t kx = (uint64_t)x->addr.domain << 16 | iopt_pci_addr_rid(&x->addr);
	uint64_t ky = (uint64_t)y->addr.domain << 16 | iopt_pci_addr_rid(&y->addr);

	return kx < ky ? -1 : kx > ky;
}

/*
 * libpciaccess keeps one global state, initialised and torn down here per
 * call; the list is copied out and sorted first so that the callback runs
 * without libpciaccess state held.
 */
static int enumerate_pciaccess(iopt_pci_enum_cb cb, void *arg)
{
	struct pci_device_iterator *it;
	struct pci_device *pd;
	struct iopt_pci_dev_info *list = NULL;
	size_t n = 0, cap = 0;
	int rc = pci_system_init();

	if (rc != 0) {
		IOPT_ERRLOG("libpciaccess: pci_system_init failed: errno %d", rc);
		return rc == ENOENT ? -ENOENT : -EIO;
	}
	it = pci_slot_match_iterator_create(NULL);
	if (it == NULL) {
		pci_system_cleanup();
		return -ENOMEM;
	}
	while ((pd = pci_device_next(it)) != NULL) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct iopt_pci_dev_info *nl = realloc(list, ncap * sizeof(*nl));

			if (nl == NULL) {
				rc = -ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		struct iopt_pci_dev_info *info = &list[n++];

		memset(info, 0, sizeof(*info));
		info->addr.domain = pd->domain;
		info->addr.bus = pd->bus;
		info->addr.dev = pd->dev;
		info->addr.fn = pd->func;
		info->vendor_id = pd->vendor_id;
		info->device_id = pd->device_id;
		info->class_code = pd->device_class & 0xffffff;
	}
	pci_iterator_destroy(it);
	pci_system_cleanup();
	if (rc == 0 && n > 0)
		qsort(list, n, sizeof(*list), addr_cmp);
	for (size_t i = 0; i < n && rc == 0; i++) {
		info_driver("", &list[i]);
		rc = cb(&list[i], arg);
	}
	free(list);
	return rc;
}
#endif

int iopt_pci_enumerate(const char *root, bool use_sysfs, iopt_pci_enum_cb cb, void *arg)
{
	char r[PATH_MAX];
	int rc;

	if (cb == NULL)
		return -EINVAL;
	rc = pci_root_set(r, root);
	if (rc != 0)
		return rc;
#ifdef IOPT_HAVE_PCIACCESS
	if (!use_sysfs && r[0] == '\0')
		return enumerate_pciaccess(cb, arg);
#else
	(void)use_sysfs;
#endif
	return enumerate_sysfs(r, cb, arg);
}
