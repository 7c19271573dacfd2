/*
 * Contexts and the object table: ids, two-phase creation, typed lookups,
 * destroy, and the backend table.
 */
#include <errno.h>
#include <string.h>

#include "iopt_private.h"
#include "iopt/log.h"
#include "iopt_internal/util.h"
#include "iopt_internal/backends.h"
#include "iopt_internal/hwdrv_vtd.h"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim_machine.h"

#define LOG_MODULE "iopt"
#include "iopt_internal/log.h"

/* Ids are index + 1; the table never grows past this. */
#define IOM_MAX_OBJS (1U << 20)

static const struct iom_obj_ops g_obj_ops[] = {
	[IOM_OBJ_IOAS] = { iom_ioas_destroy },
	[IOM_OBJ_HWPT_PAGING] = { iom_hwpt_destroy },
	[IOM_OBJ_HWPT_NESTED] = { iom_hwpt_destroy },
	[IOM_OBJ_DEVICE] = { iom_device_destroy },
	[IOM_OBJ_FAULT] = { iom_fault_destroy },
};

int iom_obj_reserve(struct iopt_ctx *ctx, struct iom_obj *obj, enum iom_obj_type type)
{
	uint32_t i;

	for (i = 0; i < ctx->nr_objs; i++)
		if (!ctx->objs[i])
			break;
	if (i == ctx->nr_objs) {
		uint32_t ncap = ctx->nr_objs ? ctx->nr_objs * 2 : 16;
		struct iom_obj **n;

		if (ncap > IOM_MAX_OBJS) {
			IOPT_ERRLOG("object table full (%u objects)", ctx->nr_objs);
			return -ENOSPC;
		}
		n = iom_realloc(ctx->objs, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		memset(n + ctx->nr_objs, 0, (ncap - ctx->nr_objs) * sizeof(*n));
		ctx->objs = n;
		ctx->nr_objs = ncap;
	}
	obj->type = type;
	obj->id = i + 1;
	obj->refs = 1;
	obj->published = false;
	ctx->objs[i] = obj;
	return 0;
}

void iom_obj_publish(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	(void)ctx;
	obj->published = true;
}

void iom_obj_abort(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	ctx->objs[obj->id - 1] = NULL;
	obj->id = 0;
}

void iom_obj_unpublish(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	ctx->objs[obj->id - 1] = NULL;
	obj->published = false;
}

static bool type_matches(enum iom_obj_type have, enum iom_obj_type want)
{
	if (want == IOM_OBJ_ANY)
		return true;
	if (want == IOM_OBJ_HWPT)
		return have == IOM_OBJ_HWPT_PAGING || have == IOM_OBJ_HWPT_NESTED;
	return have == want;
}

struct iom_obj *iom_obj_get_locked(struct iopt_ctx *ctx, uint32_t id, enum iom_obj_type type)
{
	struct iom_obj *obj;

	if (id == 0 || id > ctx->nr_objs)
		return NULL;
	obj = ctx->objs[id - 1];
	if (!obj || !obj->published || !type_matches(obj->type, type))
		return NULL;
	obj->refs++;
	return obj;
}

struct iom_obj *iom_obj_get(struct iopt_ctx *ctx, uint32_t id, enum iom_obj_type type)
{
	struct iom_obj *obj;

	pthread_mutex_lock(&ctx->lock);
	obj = iom_obj_get_locked(ctx, id, type);
	pthread_mutex_unlock(&ctx->lock);
	return obj;
}

void iom_obj_put_locked(struct iom_obj *obj)
{
	obj->refs--;
}

void iom_obj_put(struct iopt_ctx *ctx, struct iom_obj *obj)
{
	pthread_mutex_lock(&ctx->lock);
	obj->refs--;
	pthread_mutex_unlock(&ctx->lock);
}

int iopt_destroy(struct iopt_ctx *ctx, uint32_t id)
{
	struct iom_obj *obj;

	if (!ctx)
		return -EINVAL;
	pthread_mutex_lock(&ctx->lock);
	obj = iom_obj_get_locked(ctx, id, IOM_OBJ_ANY);
	if (!obj) {
		pthread_mutex_unlock(&ctx->lock);
		IOPT_ERRLOG("destroy: no object with id %u", id);
		return -ENOENT;
	}
	obj->refs--;
	if (obj->refs != 1) {
		pthread_mutex_unlock(&ctx->lock);
		IOPT_ERRLOG("destroy: object %u is in use (%u references)", id, obj->refs - 1);
		return -EBUSY;
	}
	iom_obj_unpublish(ctx, obj);
	g_obj_ops[obj->type].destroy(ctx, obj);
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

/* ---- contexts ---------------------------------------------------------------- */

static int ctx_alloc(const struct iopt_ctx_opts *opts, struct iopt_ctx **out)
{
	struct iopt_ctx *ctx = iom_calloc(1, sizeof(*ctx));

	if (!ctx)
		return -ENOMEM;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->pin_lock, NULL);
	ctx->pin.pins = (struct itree)ITREE_INIT;
	ctx->pin.limit = opts ? opts->pinned_limit : 0;
	*out = ctx;
	return 0;
}

static void ctx_free(struct iopt_ctx *ctx)
{
	pthread_mutex_destroy(&ctx->lock);
	pthread_mutex_destroy(&ctx->pin_lock);
	iom_free(ctx->objs);
	iom_free(ctx);
}

int iom_ctx_create_ops(const struct iopt_ctx_opts *opts, const struct iopt_hw_ops *ops,
		       const struct iopt_hw_platform *plat, struct iopt_ctx **out)
{
	struct iopt_ctx *ctx;
	int rc;

	if (!ops || !plat || !plat->env || !out)
		return -EINVAL;
	if (opts && opts->log_level >= 0 && opts->log_level <= IOPT_LOG_DEBUG)
		iopt_log_set_level((enum iopt_log_level)opts->log_level);
	rc = ctx_alloc(opts, &ctx);
	if (rc)
		return rc;
	ctx->env = plat->env;
	ctx->ops = ops;
	rc = ops->instance_create(plat, &ctx->inst);
	if (rc) {
		IOPT_ERRLOG("%s: driver instance creation failed: %d", ops->name, rc);
		ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

/*
 * The backends iopt knows. ops is the driver that serves a backend; a
 * backend whose driver is not in this build has NULL and is refused with
 * -ENOTSUP. A sim backend runs the driver on a sim machine (the VT-d model
 * of 'profile' with its DMAR and DMA test devices edu0.., see
 * iopt_internal/sim_machine.h) built on the context's environment.
 */
struct iom_backend {
	const char *name;
	const char *variant;        /* passed to the driver as iopt_hw_platform.variant */
	bool sim;                   /* runs on a sim environment and a model */
	const struct iopt_hw_ops *ops;
	enum iopt_pci_backend pci;  /* real backends: how iopt_device_bind() opens a device */
	/* sim: the machine (profile, CAP/ECAP overrides, units); nr_devs and
	 * bus_master are set by ctx_create_backend */
	struct sim_machine_opts machine;
};

/* "sim:vtd-quirks": q35 with CAP.RWBF (bit 4) and CAP.CM (bit 7) set, ECAP.QI
 * (bit 1) and ECAP.PT (bit 6) clear (VT-d 11.4.2, 11.4.3). */
#define IOM_QUIRKS_CAP_SET ((1ULL << 4) | (1ULL << 7))
#define IOM_QUIRKS_ECAP_CLEAR ((1ULL << 1) | (1ULL << 6))

/* DMA test devices on a sim machine: edu0 .. edu3 at 00:02.0 .. 00:05.0. */
#define IOM_SIM_DEVS 4

static const struct iom_backend g_backends[] = {
	{ "sim:vtd", "legacy", true, &vtd_hw_ops, .machine = { .profile = "qemu-q35" } },
	{ "sim:vtd-scalable", "scalable", true, &vtd_hw_ops,
	  .machine = { .profile = "qemu-q35-scalable" } },
	{ "sim:vtd-full", "full", true, &vtd_hw_ops, .machine = { .profile = "full" } },
	/* The "full" unit with ECAP.C=1, driven in legacy mode: its walker
	 * snoops the CPU caches, so the driver writes no flushes and the sim
	 * copies nothing into the walker's memory view (what a coherent server
	 * unit costs). Legacy, because in scalable mode ECAP.C does not cover
	 * the paging structures: their walks snoop only with ECAP.SMPWCS and
	 * PASID-entry PWSNP (VT-d 11.4.3, 9.6), which the model does not
	 * offer, so the driver (rightly) flushes every table write there. */
	{ "sim:vtd-coherent", "legacy", true, &vtd_hw_ops,
	  .machine = { .profile = "full", .coherency = VTDM_COHERENT } },
	{ "sim:vtd-quirks", "legacy", true, &vtd_hw_ops,
	  .machine = { .profile = "qemu-q35", .cap_set = IOM_QUIRKS_CAP_SET,
		       .ecap_clear = IOM_QUIRKS_ECAP_CLEAR } },
	/* Two units, as on a server: unit 0 a q35-like legacy unit with an
	 * explicit scope for edu0 and edu1, unit 1 the "full" model
	 * (non-coherent, scalable) with INCLUDE_PCI_ALL for edu2, edu3 and
	 * everything else. The driver chooses each unit's mode itself. */
	{ "sim:vtd-2units", "full", true, &vtd_hw_ops,
	  .machine = { .profile = "qemu-q35", .nr_units = 2,
		       .units = { [1] = { "full", VTDM_NONCOHERENT } },
		       .dev_unit = { 0, 0, 1, 1 } } },
	{ "uio", "uio", false, &vtd_hw_ops, IOPT_PCI_UIO, { 0 } },
	{ "vfio-noiommu", "vfio-noiommu", false, &vtd_hw_ops, IOPT_PCI_VFIO_NOIOMMU, { 0 } },
};

static const struct iom_backend *backend_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(g_backends); i++)
		if (strcmp(name, g_backends[i].name) == 0)
			return &g_backends[i];
	return NULL;
}

const char *backend_name(size_t i)
{
	return i < ARRAY_SIZE(g_backends) ? g_backends[i].name : NULL;
}

bool backend_known(const char *name)
{
	return name && backend_find(name);
}

const char *backend_variant(const char *name)
{
	const struct iom_backend *be = name ? backend_find(name) : NULL;

	return be ? be->variant : NULL;
}

int backend_sim_machine(const char *name, struct sim_machine_opts *out)
{
	const struct iom_backend *be = name ? backend_find(name) : NULL;

	if (!be || !be->sim || !out)
		return -ENOENT;
	*out = be->machine;
	out->nr_devs = IOM_SIM_DEVS;
	out->bus_master = true;
	return 0;
}

/* Create a context on a backend's driver, with its own environment unless given one. */
static int ctx_create_backend(const struct iopt_ctx_opts *opts, const struct iom_backend *be,
			      struct iopt_ctx **out)
{
	struct iopt_env_opts eo = { .mem = be->sim ? IOPT_ENV_MEM_SIM : IOPT_ENV_MEM_HUGETLBFS };
	struct iopt_hw_platform plat = {
		.variant = be->variant,
		.fw_source = opts ? opts->fw_source : NULL,
		.block_unbound = opts && opts->unbound == IOPT_UNBOUND_BLOCK,
	};
	struct iopt_env *env = opts ? opts->env : NULL;
	struct sim_machine *sim = NULL;
	int rc;

	if (!env) {
		rc = iopt_env_create(&eo, &env);
		if (rc) {
			IOPT_ERRLOG("backend \"%s\": environment creation failed: %d", be->name, rc);
			return rc;
		}
	}
	plat.env = env;
	rc = 0;
	if (be->sim) {
		struct sim_machine_opts mo;

		(void)backend_sim_machine(be->name, &mo);
		rc = sim_machine_create(env, &mo, &sim);
		if (rc)
			IOPT_ERRLOG("backend \"%s\": sim machine creation failed: %d", be->name, rc);
		plat.model = sim;
	}
	if (rc == 0)
		rc = iom_ctx_create_ops(opts, be->ops, &plat, out);
	if (rc) {
		sim_machine_destroy(sim);
		if (!opts || !opts->env)
			iopt_env_destroy(env);
		return rc;
	}
	(*out)->own_env = !opts || !opts->env;
	(*out)->sim = sim;
	(*out)->real = !be->sim;
	(*out)->pci_backend = be->pci;
	return 0;
}

int iopt_ctx_create(const struct iopt_ctx_opts *opts, struct iopt_ctx **out)
{
	const char *name = (opts && opts->backend) ? opts->backend : "sim:vtd";
	const struct iom_backend *be;

	if (!out)
		return -EINVAL;
	if (opts && (opts->unbound != IOPT_UNBOUND_PASSTHROUGH &&
		     opts->unbound != IOPT_UNBOUND_BLOCK)) {
		IOPT_ERRLOG("unknown unbound-device policy %d", (int)opts->unbound);
		return -EINVAL;
	}
	be = backend_find(name);
	if (!be) {
		IOPT_ERRLOG("unknown backend \"%s\"", name);
		return -EINVAL;
	}
	if (!be->ops) {
		IOPT_ERRLOG("backend \"%s\": its driver is not in this build yet", name);
		return -ENOTSUP;
	}
	return ctx_create_backend(opts, be, out);
}

void iopt_ctx_destroy(struct iopt_ctx *ctx)
{
	uint32_t i;
	int pass;

	if (!ctx)
		return;
	pthread_mutex_lock(&ctx->lock);
	/*
	 * Destroy in dependency order: devices (drop attachments), nested
	 * HWPTs, paging HWPTs, IOASes, fault queues.
	 */
	static const enum iom_obj_type order[] = {
		IOM_OBJ_DEVICE, IOM_OBJ_HWPT_NESTED, IOM_OBJ_HWPT_PAGING, IOM_OBJ_IOAS,
		IOM_OBJ_FAULT,
	};
	for (pass = 0; pass < (int)(sizeof(order) / sizeof(order[0])); pass++) {
		for (i = 0; i < ctx->nr_objs; i++) {
			struct iom_obj *obj = ctx->objs[i];

			if (!obj || obj->type != order[pass] || !obj->published)
				continue;
			if (obj->refs != 1)
				IOPT_WARNLOG("ctx destroy: object %u still has %u references",
					     obj->id, obj->refs - 1);
			iom_obj_unpublish(ctx, obj);
			g_obj_ops[obj->type].destroy(ctx, obj);
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	iom_pin_destroy_all(ctx);
	if (ctx->inst)
		ctx->ops->instance_destroy(ctx->inst);
	sim_machine_destroy(ctx->sim);
	if (ctx->own_env)
		iopt_env_destroy(ctx->env);
	ctx_free(ctx);
}

uint64_t iopt_ctx_pinned_bytes(struct iopt_ctx *ctx)
{
	uint64_t v;

	if (!ctx)
		return 0;
	pthread_mutex_lock(&ctx->pin_lock);
	v = ctx->pin.pinned_bytes;
	pthread_mutex_unlock(&ctx->pin_lock);
	return v;
}

int iopt_sim_dma(struct iopt_ctx *ctx, uint32_t dev_id, uint32_t pasid, uint64_t iova,
		 void *buf, size_t len, enum iopt_dma_dir dir)
{
	struct hwmodel_fault f;
	struct iom_obj *obj;
	uint16_t rid;
	int idx, rc;

	if (!ctx || !buf || !len || (dir != IOPT_DMA_TO_DEVICE && dir != IOPT_DMA_FROM_DEVICE)) {
		IOPT_ERRLOG("sim DMA: NULL context or buffer, zero length or bad direction %d",
			    (int)dir);
		return -EINVAL;
	}
	if (!ctx->sim) {
		IOPT_ERRLOG("sim DMA: the context is not on a sim backend");
		return -ENOTSUP;
	}
	obj = iom_obj_get(ctx, dev_id, IOM_OBJ_DEVICE);
	if (!obj) {
		IOPT_ERRLOG("sim DMA: no device %u", dev_id);
		return -ENOENT;
	}
	rid = container_of(obj, struct iom_device, obj)->hw->id.rid;
	iom_obj_put(ctx, obj);
	idx = sim_machine_find(ctx->sim, rid);
	if (idx < 0) {
		IOPT_ERRLOG("sim DMA: device %u (requester %04x) is not a sim test device", dev_id,
			    rid);
		return -ENOENT;
	}
	/* One DMA at a time per context: the device's PASID is set around it. */
	pthread_mutex_lock(&ctx->lock);
	dmadev_set_pasid(ctx->sim->devs[idx].dma, pasid == UINT32_MAX ? HWMODEL_NO_PASID : pasid);
	rc = sim_machine_dma(ctx->sim, (unsigned int)idx, iova, buf, len,
			     dir == IOPT_DMA_FROM_DEVICE, &f);
	dmadev_set_pasid(ctx->sim->devs[idx].dma, HWMODEL_NO_PASID);
	pthread_mutex_unlock(&ctx->lock);
	return rc == -EPERM ? -EIO : rc;
}
