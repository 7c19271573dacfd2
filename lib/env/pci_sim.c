/*
 * Simulated PCI devices: the registry the models add devices to
 * (iopt_internal/sim_pci.h) and the IOPT_PCI_SIM backend that opens them.
 *
 * The registry is one list for every environment, keyed by (env, name) and
 * (env, address), guarded by g_lock, which also guards every device's config
 * space and open count. Model callbacks are called with g_lock released.
 */
#define LOG_MODULE "pci_sim"
#include "iopt_internal/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iopt_internal/sim.h"
#include "iopt_internal/sim_pci.h"
#include "pci_internal.h"

#define SIM_CFG_MAX 4096

/* Command register bits a simulated device implements (PCI 3.0, 6.2.2). */
#define SIM_COMMAND_WMASK 0x0547U

/* BAR low bits (PCI 3.0, 6.2.5.1). */
#define BAR_MEM_TYPE_64 (2U << 1)
#define BAR_MEM_PREFETCH (1U << 3)

struct sim_pci_bar_ctx {
	struct sim_pci_dev *dev;
	unsigned int bar;
};

struct sim_pci_dev {
	struct sim_pci_dev *next;
	struct iopt_env *env;
	char name[SIM_PCI_NAME_MAX];
	struct iopt_pci_addr addr;
	uint16_t rid;
	uint32_t cfg_size;
	uint8_t cfg[SIM_CFG_MAX];
	uint8_t wmask[SIM_CFG_MAX];   /* 1 bits are writable by iopt_pci_cfg_write */
	struct sim_pci_bar_desc bars[IOPT_PCI_NUM_BARS];
	struct sim_pci_bar_ctx bar_ctx[IOPT_PCI_NUM_BARS];
	void (*cfg_written)(void *arg, uint32_t off, unsigned int size, uint32_t val);
	void *arg;
	int open_count;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_pci_dev *g_devs;

static uint32_t cfg_get(const struct sim_pci_dev *d, uint32_t off, unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

static void cfg_set(struct sim_pci_dev *d, uint32_t off, unsigned int size, uint32_t v)
{
	for (unsigned int i = 0; i < size; i++)
		d->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void wmask_set(struct sim_pci_dev *d, uint32_t off, unsigned int size, uint32_t m)
{
	for (unsigned int i = 0; i < size; i++)
		d->wmask[off + i] = (uint8_t)(m >> (8 * i));
}

static bool cfg_ok(const struct sim_pci_dev *d, uint32_t off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && off % size == 0 &&
	       (uint64_t)off + size <= d->cfg_size;
}

/* Lookups; g_lock held. */
static struct sim_pci_dev *find_name(struct iopt_env *env, const char *name)
{
	for (struct sim_pci_dev *d = g_devs; d != NULL; d = d->next)
		if (d->env == env && strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static struct sim_pci_dev *find_addr(struct iopt_env *env, const struct iopt_pci_addr *a)
{
	for (struct sim_pci_dev *d = g_devs; d != NULL; d = d->next)
		if (d->env == env && d->addr.domain == a->domain && d->rid == iopt_pci_addr_rid(a))
			return d;
	return NULL;
}

static int check_bars(const struct sim_pci_desc *desc)
{
	for (unsigned int i = 0; i < IOPT_PCI_NUM_BARS; i++) {
		const struct sim_pci_bar_desc *b = &desc->bars[i];

		if (b->size == 0)
			continue;
		if (b->size < 16 || (b->size & (b->size - 1)) != 0 ||
		    (!b->is_64 && b->size > (1ULL << 31))) {
			IOPT_ERRLOG("sim device %s: BAR%u size 0x%" PRIx64 " is not a power of two "
				    "in range", desc->name, i, b->size);
			return -EINVAL;
		}
		if (b->is_64 && (i == IOPT_PCI_NUM_BARS - 1 || desc->bars[i + 1].size != 0)) {
			IOPT_ERRLOG("sim device %s: 64-bit BAR%u needs BAR%u free", desc->name, i,
				    i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* Build the header: IDs, command, BAR type bits and write masks. */
static void init_config(struct sim_pci_dev *d, const struct sim_pci_desc *desc)
{
	cfg_set(d, IOPT_PCI_CFG_VENDOR_ID, 2, desc->vendor_id);
	cfg_set(d, IOPT_PCI_CFG_DEVICE_ID, 2, desc->device_id);
	cfg_set(d, IOPT_PCI_CFG_CLASS_REV, 4, (desc->class_code & 0xffffff) << 8 | desc->revision);
	cfg_set(d, IOPT_PCI_CFG_COMMAND, 2, IOPT_PCI_COMMAND_MEMORY);
	wmask_set(d, IOPT_PCI_CFG_COMMAND, 2, SIM_COMMAND_WMASK);
	wmask_set(d, 0x0c, 2, 0xffff);          /* cache line size, latency timer */
	wmask_set(d, 0x3c, 1, 0xff);            /* interrupt line */
	for (unsigned int i = 0; i < IOPT_PCI_NUM_BARS; i++) {
		const struct sim_pci_bar_desc *b = &d->bars[i];
		uint32_t off = IOPT_PCI_CFG_BAR0 + 4 * i;

		if (b->size == 0)
			continue;
		uint32_t type = (b->is_64 ? BAR_MEM_TYPE_64 : 0) |
				(b->prefetchable ? BAR_MEM_PREFETCH : 0);

		cfg_set(d, off, 4, type);
		wmask_set(d, off, 4, (uint32_t)~(b->size - 1) & ~0xfU);
		if (b->is_64)
			wmask_set(d, off + 4, 4, (uint32_t)(~(b->size - 1) >> 32));
		i += b->is_64;
	}
	memset(d->wmask + 0x40, 0xff, d->cfg_size - 0x40);
}

int sim_pci_add(struct iopt_env *env, const struct sim_pci_desc *desc, struct sim_pci_dev **out)
{
	struct sim_pci_dev *d;
	int rc;

	if (env == NULL || desc == NULL || out == NULL || desc->name == NULL ||
	    desc->name[0] == '\0' || strlen(desc->name) >= SIM_PCI_NAME_MAX ||
	    iopt_env_mem_kind(env) != IOPT_ENV_MEM_SIM || desc->addr.dev > 0x1f ||
	    desc->addr.fn > 7) {
		IOPT_ERRLOG("sim_pci_add: bad arguments");
		return -EINVAL;
	}
	rc = check_bars(desc);
	if (rc != 0)
		return rc;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->env = env;
	strcpy(d->name, desc->name);
	d->addr = desc->addr;
	d->rid = iopt_pci_addr_rid(&desc->addr);
	d->cfg_size = desc->conventional ? 256 : SIM_CFG_MAX;
	memcpy(d->bars, desc->bars, sizeof(d->bars));
	d->cfg_written = desc->cfg_written;
	d->arg = desc->arg;
	for (unsigned int i = 0; i < IOPT_PCI_NUM_BARS; i++)
		d->bar_ctx[i] = (struct sim_pci_bar_ctx){ .dev = d, .bar = i };
	init_config(d, desc);

	pthread_mutex_lock(&g_lock);
	if (find_name(env, desc->name) != NULL || find_addr(env, &desc->addr) != NULL) {
		pthread_mutex_unlock(&g_lock);
		IOPT_ERRLOG("sim_pci_add: name %s or its address is already on the bus",
			    desc->name);
		free(d);
		return -EEXIST;
	}
	d->next = g_devs;
	g_devs = d;
	pthread_mutex_unlock(&g_lock);
	*out = d;
	return 0;
}

int sim_pci_remove(struct sim_pci_dev *dev)
{
	struct sim_pci_dev **link;

	if (dev == NULL)
		return 0;
	pthread_mutex_lock(&g_lock);
	if (dev->open_count > 0) {
		pthread_mutex_unlock(&g_lock);
		IOPT_ERRLOG("sim_pci_remove: %s is still open", dev->name);
		return -EBUSY;
	}
	for (link = &g_devs; *link != NULL && *link != dev; link = &(*link)->next)
		;
	if (*link != NULL)
		*link = dev->next;
	pthread_mutex_unlock(&g_lock);
	free(dev);
	return 0;
}

int sim_pci_bus_master(struct iopt_env *env, uint16_t rid)
{
	int rc = -ENODEV;

	pthread_mutex_lock(&g_lock);
	for (struct sim_pci_dev *d = g_devs; d != NULL; d = d->next) {
		if (d->env == env && d->rid == rid) {
			rc = (cfg_get(d, IOPT_PCI_CFG_COMMAND, 2) & IOPT_PCI_COMMAND_MASTER) != 0;
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

uint16_t sim_pci_rid(const struct sim_pci_dev *dev)
{
	return dev->rid;
}

int sim_pci_cfg_peek(struct sim_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val)
{
	if (dev == NULL || val == NULL || !cfg_ok(dev, off, size))
		return -EINVAL;
	pthread_mutex_lock(&g_lock);
	*val = cfg_get(dev, off, size);
	pthread_mutex_unlock(&g_lock);
	return 0;
}

int sim_pci_cfg_poke(struct sim_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val)
{
	if (dev == NULL || !cfg_ok(dev, off, size))
		return -EINVAL;
	pthread_mutex_lock(&g_lock);
	cfg_set(dev, off, size, val);
	pthread_mutex_unlock(&g_lock);
	return 0;
}

/* ---- BAR MMIO: gated by memory decode ------------------------------------------ */

static bool mem_decode_on(struct sim_pci_dev *d)
{
	pthread_mutex_lock(&g_lock);
	bool on = (cfg_get(d, IOPT_PCI_CFG_COMMAND, 2) & IOPT_PCI_COMMAND_MEMORY) != 0;

	pthread_mutex_unlock(&g_lock);
	return on;
}

static uint64_t bar_read(void *arg, uint64_t off, unsigned int size)
{
	struct sim_pci_bar_ctx *c = arg;
	const struct sim_pci_bar_desc *b = &c->dev->bars[c->bar];

	if (!mem_decode_on(c->dev)) {
		IOPT_DEBUGLOG("%s: BAR%u read at 0x%" PRIx64 " with memory decode off",
			      c->dev->name, c->bar, off);
		return size == 4 ? 0xffffffffULL : ~0ULL;
	}
	return b->ops->read(b->arg, off, size);
}

static void bar_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct sim_pci_bar_ctx *c = arg;
	const struct sim_pci_bar_desc *b = &c->dev->bars[c->bar];

	if (!mem_decode_on(c->dev)) {
		IOPT_DEBUGLOG("%s: BAR%u write at 0x%" PRIx64 " dropped: memory decode off",
			      c->dev->name, c->bar, off);
		return;
	}
	b->ops->write(b->arg, off, val, size);
}

static const struct iopt_mmio_sim_ops g_bar_gate = { .read = bar_read, .write = bar_write };

/* ---- The IOPT_PCI_SIM backend ------------------------------------------------ */

static int simb_open(struct iopt_pci_dev *dev, const struct iopt_pci_opts *opts, const char *name)
{
	struct iopt_pci_addr a;
	struct sim_pci_dev *d;

	if (opts->env == NULL || iopt_env_mem_kind(opts->env) != IOPT_ENV_MEM_SIM) {
		IOPT_ERRLOG("open %s: the sim PCI backend needs a sim environment", name);
		return -EINVAL;
	}
	bool is_addr = iopt_pci_addr_parse(name, &a) == 0;

	pthread_mutex_lock(&g_lock);
	d = is_addr ? find_addr(opts->env, &a) : find_name(opts->env, name);
	if (d != NULL)
		d->open_count++;
	pthread_mutex_unlock(&g_lock);
	if (d == NULL) {
		IOPT_ERRLOG("open %s: no simulated device of that %s", name,
			    is_addr ? "address" : "name");
		return -ENODEV;
	}
	dev->addr = d->addr;
	iopt_pci_addr_format(&d->addr, dev->bdf, sizeof(dev->bdf));
	dev->cfg_size = d->cfg_size;
	dev->numa_node = IOPT_NUMA_ANY;
	dev->priv = d;
	snprintf(dev->describe, sizeof(dev->describe), "sim:%s", d->name);
	return 0;
}

static void simb_close(struct iopt_pci_dev *dev)
{
	struct sim_pci_dev *d = dev->priv;

	pthread_mutex_lock(&g_lock);
	d->open_count--;
	pthread_mutex_unlock(&g_lock);
	dev->priv = NULL;
}

static int simb_cfg_read(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t *val)
{
	return sim_pci_cfg_peek(dev->priv, off, size, val);
}

static int simb_cfg_write(struct iopt_pci_dev *dev, uint32_t off, unsigned int size, uint32_t val)
{
	struct sim_pci_dev *d = dev->priv;

	pthread_mutex_lock(&g_lock);
	for (unsigned int i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i], b = (uint8_t)(val >> (8 * i));

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~m) | (b & m));
	}
	pthread_mutex_unlock(&g_lock);
	if (d->cfg_written != NULL)
		d->cfg_written(d->arg, off, size, val);
	return 0;
}

static int simb_bar_info(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_pci_bar *info)
{
	struct sim_pci_dev *d = dev->priv;
	const struct sim_pci_bar_desc *b = &d->bars[bar];

	info->size = b->size;
	if (b->size == 0)
		return 0;
	pthread_mutex_lock(&g_lock);
	info->phys = cfg_get(d, IOPT_PCI_CFG_BAR0 + 4 * bar, 4) & ~0xfULL;
	if (b->is_64)
		info->phys |= (uint64_t)cfg_get(d, IOPT_PCI_CFG_BAR0 + 4 * bar + 4, 4) << 32;
	pthread_mutex_unlock(&g_lock);
	info->is_64 = b->is_64;
	info->prefetchable = b->prefetchable;
	info->mappable = b->ops != NULL;
	return 0;
}

static int simb_map_bar(struct iopt_pci_dev *dev, unsigned int bar, struct iopt_mmio **out)
{
	struct sim_pci_dev *d = dev->priv;
	const struct sim_pci_bar_desc *b = &d->bars[bar];

	if (b->size == 0) {
		IOPT_ERRLOG("%s: BAR%u is not implemented", d->name, bar);
		return -ENOENT;
	}
	if (b->ops == NULL) {
		IOPT_ERRLOG("%s: BAR%u has no register model to map", d->name, bar);
		return -ENOTSUP;
	}
	return sim_mmio_create(&g_bar_gate, &d->bar_ctx[bar], (size_t)b->size, out);
}

const struct pci_backend pci_sim_backend = {
	.name = "sim",
	.open = simb_open,
	.close = simb_close,
	.cfg_read = simb_cfg_read,
	.cfg_write = simb_cfg_write,
	.bar_info = simb_bar_info,
	.map_bar = simb_map_bar,
};
