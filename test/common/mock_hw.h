/*
 * A mock IOMMU driver implementing struct iopt_hw_ops in memory, for the
 * object model's tests.
 *
 * Each mock domain keeps its leaves (iova, page size, pa, prot, dirty) in an
 * interval tree, so a test can ask what any IOVA translates to in any domain.
 * Unmapped leaves stay "stale" (still usable by the pretend IOTLB) until an
 * iotlb_sync covering them: mock_dom_stale_bytes() tells whether an unmap
 * returned before its invalidation completed. Every op call is recorded in
 * a log (mock_log_*), so tests can check which domains a map filled and the
 * order of attach/replace calls. Every op can be made to fail on its n-th
 * call (mock_fail_op). Several units, apertures, reserved regions, PASID,
 * dirty bits set by the test, nested domains with user invalidation, and
 * queued events (faults and page requests) for poll.
 *
 * Not thread-safe beyond what iopt's locking gives it (one mutex guards the
 * log and failure table).
 */
#ifndef IOPT_TEST_MOCK_HW_H
#define IOPT_TEST_MOCK_HW_H

#include <stdbool.h>
#include <stdint.h>

#include "iopt/iopt.h"
#include "iopt_internal/hw_ops.h"

#define MOCK_MAX_UNITS 4
#define MOCK_MAX_DEVS 16

enum mock_op {
	MOCK_OP_INSTANCE_CREATE,
	MOCK_OP_HW_INFO,
	MOCK_OP_PROBE,
	MOCK_OP_RELEASE,
	MOCK_OP_DOMAIN_ALLOC_PAGING,
	MOCK_OP_DOMAIN_ALLOC_NESTED,
	MOCK_OP_DOMAIN_FREE,
	MOCK_OP_ATTACH_DEV,
	MOCK_OP_ATTACH_DEV_PASID,
	MOCK_OP_MAP,
	MOCK_OP_UNMAP,
	MOCK_OP_IOTLB_SYNC,
	MOCK_OP_SET_DIRTY,
	MOCK_OP_READ_DIRTY,
	MOCK_OP_CACHE_INVALIDATE,
	MOCK_OP_POLL,
	MOCK_OP_PAGE_RESPONSE,
	MOCK_OP_COUNT
};

/* One recorded call. */
struct mock_call {
	enum mock_op op;
	uint32_t dom;       /* the domain's serial (0: none / blocked) */
	uint32_t old_dom;   /* attach: what the device had before */
	uint32_t dev;       /* the device's index in the config, or UINT32_MAX */
	uint32_t pasid;
	uint64_t iova;
	uint64_t len;       /* bytes (map/unmap), count (invalidate) */
	uint64_t pgsize;
	uint32_t code;      /* page response code */
	int rc;
};

struct mock_unit_cfg {
	uint64_t pgsize_bitmap;   /* 0: 4K | 2M | 1G */
	uint64_t aperture_start;
	uint64_t aperture_last;   /* 0: 2^48 - 1 */
	bool no_dirty;            /* refuse DIRTY_TRACKING */
	bool no_nesting;          /* refuse NEST_PARENT */
	uint8_t max_pasid_log2;   /* 0: no PASID on this unit */
};

struct mock_dev_cfg {
	const char *name;         /* sim-style name, or NULL */
	uint16_t segment, rid;    /* matched when name is NULL */
	uint32_t unit;
	uint32_t nr_resv;
	struct iopt_hw_resv_region resv[4];
	bool pri;
};

struct mock_cfg {
	uint32_t nr_units;
	struct mock_unit_cfg units[MOCK_MAX_UNITS];
	uint32_t nr_devs;
	struct mock_dev_cfg devs[MOCK_MAX_DEVS];
};

struct mock_hw;

extern const struct iopt_hw_ops mock_hw_ops;

/* Create the mock platform (pass as iopt_hw_platform.model). */
struct mock_hw *mock_hw_create(const struct mock_cfg *cfg);
void mock_hw_destroy(struct mock_hw *m);

/* Calls since the last clear. */
uint32_t mock_log_count(struct mock_hw *m, enum mock_op op);
uint32_t mock_log_len(struct mock_hw *m);
const struct mock_call *mock_log_get(struct mock_hw *m, uint32_t i);
void mock_log_clear(struct mock_hw *m);

/* Make the nth call (1-based, counted from now) of op fail with err (0 disarms). */
void mock_fail_op(struct mock_hw *m, enum mock_op op, uint32_t nth, int err);

/* Live domains: count, and lookup by serial. */
uint32_t mock_nr_domains(struct mock_hw *m);
struct iopt_hw_domain *mock_domain_by_serial(struct mock_hw *m, uint32_t serial);
uint32_t mock_domain_serial(const struct iopt_hw_domain *dom);

/* What the device (config index) is attached to (pasid UINT32_MAX: the RID). */
struct iopt_hw_domain *mock_dev_domain(struct mock_hw *m, uint32_t dev, uint32_t pasid);

/* Translate iova in dom: 0 and pa, prot, pgsize; -ENOENT when not mapped. */
int mock_dom_translate(struct iopt_hw_domain *dom, uint64_t iova, uint64_t *pa, uint32_t *prot,
		       uint64_t *pgsize);
uint64_t mock_dom_mapped_bytes(struct iopt_hw_domain *dom);
/* Unmapped but not yet invalidated bytes. */
uint64_t mock_dom_stale_bytes(struct iopt_hw_domain *dom);
/* Mark the leaf holding iova dirty (as a DMA write would). -ENOENT. */
int mock_dom_set_dirty(struct iopt_hw_domain *dom, uint64_t iova);
bool mock_dom_dirty_tracking(struct iopt_hw_domain *dom);
/* Nested: user invalidations that reached the mock. */
uint32_t mock_dom_user_invalidations(struct iopt_hw_domain *dom);

/* Queue an event for unit's next poll (dev: config index, or UINT32_MAX). */
void mock_queue_event(struct mock_hw *m, uint32_t unit, uint32_t dev,
		      const struct iopt_hw_event *ev);
uint32_t mock_events_queued(struct mock_hw *m, uint32_t unit);

/* Raw hw_info blob the mock reports (struct iopt_hw_info_vtd). */
#define MOCK_CAP_REG  0x00d2008c22260206ULL
#define MOCK_ECAP_REG 0x00000000000f0e5eULL

#endif
