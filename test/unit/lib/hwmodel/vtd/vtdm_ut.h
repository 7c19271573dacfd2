/*
 * Helpers for the VT-d model's unit tests: a sim environment, a model, and
 * tables built by hand as raw uint64_t values in iopt_dma_alloc'd memory
 * (never through lib/pgtbl or a driver), plus register and queue helpers.
 * Every store is flushed (iopt_dma_flush) unless t->no_flush is set, so
 * tests of the non-coherent walker can leave stores unflushed on purpose.
 */
#ifndef VTDM_UT_H
#define VTDM_UT_H

#include "ut.h"

#include <string.h>

#include "iopt/env.h"
#include "iopt/log.h"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim.h"
#include "hwmodel/vtd/regs.h"

#define UTV_MAX_BUFS 256

struct ut_vtd {
	struct iopt_env *env;
	struct vtdm *m;
	struct iopt_mmio *mmio;
	struct iopt_dma_buf bufs[UTV_MAX_BUFS];
	unsigned int nbufs;
	bool no_flush;
	struct iopt_dma_buf *root;
	struct iopt_dma_buf *ctx[512]; /* legacy: per bus; scalable: per bus * 2 + upper half */
	struct iopt_dma_buf *iq, *status;
	uint64_t iq_tail;
	uint32_t wait_seq;
};

static inline int utv_setup(struct ut_vtd *t, const char *profile, const struct vtdm_opts *o)
{
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_SIM, .sim_phys_size = 64ULL << 20 };

	memset(t, 0, sizeof(*t));
	if (iopt_env_create(&eo, &t->env) != 0)
		return -1;
	if (vtdm_create(t->env, profile, o, &t->m) != 0)
		return -1;
	t->mmio = vtdm_mmio(t->m);
	return 0;
}

static inline void utv_teardown(struct ut_vtd *t)
{
	vtdm_destroy(t->m);
	for (unsigned int i = 0; i < t->nbufs; i++)
		iopt_dma_free(t->env, &t->bufs[i]);
	iopt_env_destroy(t->env);
}

static inline void utv_flush(struct ut_vtd *t, const void *va, size_t len)
{
	if (!t->no_flush)
		iopt_dma_flush(t->env, va, len);
}

/* A zeroed 4 KiB page (flushed, so a non-coherent walker sees zeroes too). */
static inline struct iopt_dma_buf *utv_page(struct ut_vtd *t)
{
	struct iopt_dma_buf *b = &t->bufs[t->nbufs];

	CU_ASSERT_FATAL(t->nbufs < UTV_MAX_BUFS);
	CU_ASSERT_FATAL(iopt_dma_alloc(t->env, 4096, 4096, IOPT_NUMA_ANY, b) == 0);
	t->nbufs++;
	utv_flush(t, b->va, 4096);
	return b;
}

static inline void utv_store(struct ut_vtd *t, uint64_t *p, uint64_t v)
{
	*p = v;
	utv_flush(t, p, sizeof(*p));
}

static inline uint64_t *utv_va(struct ut_vtd *t, uint64_t pa)
{
	return iopt_dma_phys_to_virt(t->env, pa);
}

/* ---- Registers ------------------------------------------------------------- */

static inline uint32_t utv_r32(struct ut_vtd *t, uint64_t off)
{
	return iopt_mmio_read32(t->mmio, off);
}

static inline uint64_t utv_r64(struct ut_vtd *t, uint64_t off)
{
	return iopt_mmio_read64(t->mmio, off);
}

static inline void utv_w32(struct ut_vtd *t, uint64_t off, uint32_t v)
{
	iopt_mmio_write32(t->mmio, off, v);
}

static inline void utv_w64(struct ut_vtd *t, uint64_t off, uint64_t v)
{
	iopt_mmio_write64(t->mmio, off, v);
}

static inline uint64_t utv_iro(struct ut_vtd *t)
{
	return FIELD_GET(ECAP_IRO, vtdm_ecap(t->m)) * 16;
}

static inline uint64_t utv_fro(struct ut_vtd *t)
{
	return FIELD_GET(CAP_FRO, vtdm_cap(t->m)) * 16;
}

/* Set (on) or clear a persistent GCMD bit, or issue a one-shot command. */
static inline void utv_gcmd(struct ut_vtd *t, uint32_t bit, bool on)
{
	uint32_t v = utv_r32(t, VTD_REG_GSTS) & GCMD_PERSISTENT;

	utv_w32(t, VTD_REG_GCMD, on ? (v | bit) : (v & ~bit));
}

static inline void utv_set_root(struct ut_vtd *t, unsigned int ttm)
{
	if (t->root == NULL)
		t->root = utv_page(t);
	utv_w64(t, VTD_REG_RTADDR, t->root->pa | FIELD_PREP(RTADDR_TTM, ttm));
	utv_gcmd(t, GCMD_SRTP, true);
}

static inline void utv_cc_global(struct ut_vtd *t)
{
	utv_w64(t, VTD_REG_CCMD, CCMD_ICC | FIELD_PREP(CCMD_CIRG, CC_GRAN_GLOBAL));
}

static inline void utv_iotlb_reg(struct ut_vtd *t, unsigned int gran, uint16_t did, uint64_t addr,
				 unsigned int am, bool ih)
{
	utv_w64(t, utv_iro(t) + VTD_IRO_IVA, addr | FIELD_PREP(IVA_AM, am) | (ih ? IVA_IH : 0));
	utv_w64(t, utv_iro(t) + VTD_IRO_IOTLB,
		IOTLB_IVT | FIELD_PREP(IOTLB_IIRG, gran) | FIELD_PREP(IOTLB_DID, did));
}

/* The model up on profile (overrides o): legacy root table set, context cache
 * and IOTLB invalidated globally, translation enabled and seen in GSTS. */
static inline void utv_legacy_up(struct ut_vtd *t, const char *profile, const struct vtdm_opts *o)
{
	CU_ASSERT_FATAL(utv_setup(t, profile, o) == 0);
	utv_set_root(t, TTM_LEGACY);
	utv_cc_global(t);
	utv_iotlb_reg(t, IOTLB_GRAN_GLOBAL, 0, 0, 0, false);
	utv_gcmd(t, GCMD_TE, true);
	CU_ASSERT_FATAL((utv_r32(t, VTD_REG_GSTS) & GCMD_TE) != 0);
}

/* ---- Legacy root / context ------------------------------------------------- */

static inline void utv_legacy_ctx(struct ut_vtd *t, uint16_t rid, uint64_t lo, uint64_t hi)
{
	unsigned int bus = rid >> 8, devfn = rid & 0xff;
	uint64_t *root = t->root->va;

	if (t->ctx[bus] == NULL) {
		t->ctx[bus] = utv_page(t);
		utv_store(t, &root[bus * 2], t->ctx[bus]->pa | ROOT_0_P);
	}
	uint64_t *ce = (uint64_t *)t->ctx[bus]->va + devfn * 2;

	ce[1] = hi;
	utv_flush(t, &ce[1], 8);
	utv_store(t, &ce[0], lo);
}

static inline uint64_t utv_ctx_lo(uint64_t table, unsigned int tt)
{
	return table | FIELD_PREP(CTX_0_TT, tt) | CTX_0_P;
}

static inline uint64_t utv_ctx_hi(unsigned int aw, uint16_t did)
{
	return FIELD_PREP(CTX_1_AW, aw) | FIELD_PREP(CTX_1_DID, did);
}

/* ---- Scalable root / context / PASID --------------------------------------- */

static inline void utv_sm_ctx(struct ut_vtd *t, uint16_t rid, uint64_t q0, uint64_t q1)
{
	unsigned int bus = rid >> 8, devfn = rid & 0xff, half = devfn >= 128;
	uint64_t *root = t->root->va;
	struct iopt_dma_buf **ct = &t->ctx[bus * 2 + half];

	if (*ct == NULL) {
		*ct = utv_page(t);
		utv_store(t, &root[bus * 2 + half], (*ct)->pa | SMROOT_0_LP);
	}
	uint64_t *ce = (uint64_t *)(*ct)->va + (devfn & 0x7f) * 4;

	ce[1] = q1;
	utv_flush(t, &ce[1], 8);
	utv_store(t, &ce[0], q0);
}

/* Install PASID entry pe[8] under the directory dir (allocating its table). */
static inline uint64_t *utv_pasid_entry(struct ut_vtd *t, struct iopt_dma_buf *dir,
					uint32_t pasid, const uint64_t *pe)
{
	uint64_t *pde = (uint64_t *)dir->va + (pasid >> 6);
	uint64_t *e;

	if (!(*pde & PDE_P))
		utv_store(t, pde, utv_page(t)->pa | PDE_P);
	e = utv_va(t, (*pde & PDE_PTP)) + (pasid & 0x3f) * 8;
	for (int i = 7; i >= 0; i--)
		e[i] = pe[i];
	utv_flush(t, e, 64);
	return e;
}

/* ---- Paging structures ------------------------------------------------------ */

#define UTV_SS_TABLE (SSPTE_R | SSPTE_W)
#define UTV_FS_TABLE (FSPTE_P | FSPTE_RW | FSPTE_US)

/*
 * Map iova → pa in the table at root (levels deep), leaf at leaf_level with
 * leaf_flags (PS added for leaf_level > 1); intermediate tables get
 * table_flags. Returns the CPU pointer to the leaf entry.
 */
static inline uint64_t *utv_map(struct ut_vtd *t, uint64_t root, unsigned int levels,
				uint64_t table_flags, uint64_t iova, uint64_t pa,
				unsigned int leaf_level, uint64_t leaf_flags)
{
	uint64_t table = root;

	for (unsigned int l = levels; l > leaf_level; l--) {
		uint64_t *pte = utv_va(t, table) + ((iova >> (12 + 9 * (l - 1))) & 0x1ff);

		if (*pte == 0)
			utv_store(t, pte, utv_page(t)->pa | table_flags);
		table = *pte & SSPTE_ADDR;
	}
	uint64_t *leaf = utv_va(t, table) + ((iova >> (12 + 9 * (leaf_level - 1))) & 0x1ff);

	utv_store(t, leaf, pa | leaf_flags | (leaf_level > 1 ? SSPTE_PS : 0));
	return leaf;
}

static inline uint64_t *utv_ss_map(struct ut_vtd *t, uint64_t root, unsigned int levels,
				   uint64_t iova, uint64_t pa, uint64_t perm)
{
	return utv_map(t, root, levels, UTV_SS_TABLE, iova, pa, 1, perm);
}

/* ---- Queued invalidation --------------------------------------------------- */

static inline void utv_qi_enable(struct ut_vtd *t, bool dw)
{
	t->iq = utv_page(t);
	t->status = utv_page(t);
	t->iq_tail = 0;
	utv_w64(t, VTD_REG_IQT, 0);
	utv_w64(t, VTD_REG_IQA, t->iq->pa | (dw ? IQA_DW : 0));
	utv_gcmd(t, GCMD_QIE, true);
}

static inline unsigned int utv_qi_dsz(struct ut_vtd *t)
{
	return (utv_r64(t, VTD_REG_IQA) & IQA_DW) ? 32 : 16;
}

/* Copy n descriptors (d[4] each; 2 words used on a 128-bit queue) and ring the tail once. */
static inline void utv_qi_batch(struct ut_vtd *t, const uint64_t (*d)[4], unsigned int n)
{
	unsigned int dsz = utv_qi_dsz(t);

	for (unsigned int i = 0; i < n; i++) {
		memcpy((uint8_t *)t->iq->va + t->iq_tail, d[i], dsz);
		t->iq_tail = (t->iq_tail + dsz) % 4096;
	}
	utv_w64(t, VTD_REG_IQT, t->iq_tail);
}

static inline void utv_qi_put(struct ut_vtd *t, const uint64_t *d)
{
	uint64_t one[1][4];

	memcpy(one[0], d, sizeof(one[0]));
	utv_qi_batch(t, one, 1);
}

static inline void utv_wait_desc(struct ut_vtd *t, uint64_t *d)
{
	d[0] = QI_TYPE_WAIT | QI_WAIT_0_SW | FIELD_PREP(QI_WAIT_0_SDATA, ++t->wait_seq);
	d[1] = t->status->pa;
	d[2] = d[3] = 0;
}

/* Submit an invalidation wait with status write; true when the status arrived. */
static inline bool utv_qi_wait(struct ut_vtd *t)
{
	uint64_t d[4];

	utv_wait_desc(t, d);
	utv_qi_put(t, d);
	return *(uint32_t *)t->status->va == t->wait_seq;
}

/* One descriptor and a wait behind it, rung together, as a driver does. */
static inline bool utv_qi(struct ut_vtd *t, uint64_t d0, uint64_t d1)
{
	uint64_t d[2][4] = { { d0, d1, 0, 0 } };

	utv_wait_desc(t, d[1]);
	utv_qi_batch(t, d, 2);
	return *(uint32_t *)t->status->va == t->wait_seq;
}

/* ---- DMA ------------------------------------------------------------------- */

static inline int utv_rd(struct ut_vtd *t, uint16_t rid, uint32_t pasid, uint64_t iova,
			 void *buf, size_t len, struct hwmodel_fault *f)
{
	return vtdm_dma(t->m, rid, pasid, iova, len, false, buf, f);
}

static inline int utv_wr(struct ut_vtd *t, uint16_t rid, uint32_t pasid, uint64_t iova,
			 const void *buf, size_t len, struct hwmodel_fault *f)
{
	return vtdm_dma(t->m, rid, pasid, iova, len, true, (void *)(uintptr_t)buf, f);
}

/* Read one u64 through the model; returns the value or ~0 on fault. */
static inline uint64_t utv_peek(struct ut_vtd *t, uint16_t rid, uint32_t pasid, uint64_t iova,
				struct hwmodel_fault *f)
{
	uint64_t v = ~0ULL;

	if (utv_rd(t, rid, pasid, iova, &v, sizeof(v), f) != 0)
		return ~0ULL;
	return v;
}

/* Log lines go to a counter instead of stderr (tests provoke many errors). */
static unsigned int g_utv_log_lines;

static inline void utv_log_sink(enum iopt_log_level level, const char *module, const char *msg,
				void *arg)
{
	(void)level;
	(void)module;
	(void)msg;
	(void)arg;
	g_utv_log_lines++;
}

static inline int utv_quiet(void)
{
	iopt_log_set_level(IOPT_LOG_INFO);
	iopt_log_set_handler(utv_log_sink, NULL);
	return 0;
}

#endif
