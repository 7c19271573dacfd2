/*
 * The sim VT-d backends only (sim:vtd, sim:vtd-scalable, sim:vtd-full): the
 * counterparts of what hwpt_ut.c tests with the mock's facilities, done
 * with the real thing: faults from DMA and iopt_poll, fault recording
 * overflow, dirty bitmaps from A/D bits set by DMA, PASID-tagged DMA, page
 * requests from a PRI device through the fault queue, a nested HWPT over a
 * real first-stage table, and the unbound-device policy. Tests the unit of a
 * backend cannot do are skipped there, after checking it refuses them.
 */
#include "fixture.h"
#include "iopt/pgtbl.h"
#include "iopt_internal/hwdrv_vtd.h"
#include "iopt_internal/sim_machine.h"


/* DMA to an IOVA nothing maps faults; iopt_poll drains the fault record, once. */
static void sim_dma_fault_poll(void)
{
	uint64_t iova = 16 * PAGE, before;
	uint8_t b = 0;
	uint32_t pt;

	fx_setup(4 * PAGE);
	fx_bind(0);
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_FIXED_RW),
			0);
	while (iopt_poll(g_fx.ctx) > 0)
		;
	before = g_fx.ctx->nr_faults_logged;
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, 64 * PAGE, &b, 1,
				     IOPT_DMA_TO_DEVICE), -EFAULT);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	CU_ASSERT_EQUAL(g_fx.ctx->nr_faults_logged, before + 1);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0);
	/* A write to a read-only area faults too, and is drained the same way. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, 4 * PAGE, NULL), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova,
				      IOPT_IOAS_MAP_FIXED_IOVA | IOPT_IOAS_MAP_READABLE), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, iova, g_fx.buf, 4 * PAGE, false));
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0); /* fx_dma_maps drained its own */
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, iova, &b, 1,
				     IOPT_DMA_FROM_DEVICE), -EFAULT);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	/* one fault each: the unmapped read, fx_dma_maps' four refused writes, this one */
	CU_ASSERT_EQUAL(g_fx.ctx->nr_faults_logged, before + 6);
	fx_teardown();
}

/*
 * Dirty state of 2 MiB leaves (HUGE_PAGES, the default): one DMA write
 * dirties its whole leaf, so every 4 KiB bit of that 2 MiB is reported and
 * at 2 MiB granularity exactly its bit; the bitmap sits at an odd address.
 */
static void sim_dirty_huge(uint32_t hwpt)
{
	const uint64_t base = 64 * MB, len = 4 * MB;
	uint8_t mem[4 * MB / PAGE / 8 + 8], *bm = mem + 5, v = 2;
	struct iopt_dma_buf big;
	uint64_t iova = base;
	size_t set = 0;

	CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.env, len, 2 * MB, IOPT_NUMA_ANY, &big) == 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, big.va, len, &iova, MAP_FIXED_RW), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, base + 2 * MB + 77 * PAGE,
				     &v, 1, IOPT_DMA_FROM_DEVICE), 0);
	memset(mem, 0, sizeof(mem));
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, 2 * MB, bm,
						   IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR), 0);
	CU_ASSERT_EQUAL(bm[0], 1U << 1);
	memset(mem, 0, sizeof(mem));
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, PAGE, bm, 0), 0);
	for (uint64_t bit = 0; bit < len / PAGE; bit++) {
		bool got = bm[bit / 8] & (1U << (bit % 8));

		set += got;
		if (got != (bit >= 512)) {
			CU_FAIL("dirty bit of a 2 MiB leaf");
			break;
		}
	}
	CU_ASSERT_EQUAL(set, 512);
	CU_ASSERT_EQUAL(bm[len / PAGE / 8], 0); /* nothing past the range */
	CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, PAGE, bm, 0), 0);
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, base, len, NULL), 0);
	CU_ASSERT(fx_dev_unmapped(0, base, len));
	iopt_dma_free(g_fx.env, &big);
}

/*
 * Dirty bitmaps from real A/D bits: DMA writes (not reads) through a
 * dirty-tracking HWPT mark pages, at several bitmap page sizes and with an
 * unaligned bitmap; reading clears unless NO_CLEAR.
 */
static void sim_dirty_by_dma(void)
{
	const uint64_t base = 2 * MB, len = 64 * PAGE;
	uint8_t mem[16 + 8], *bm = mem + 3, v = 1;
	uint32_t hwpt, pt;
	uint64_t iova = base;
	int rc;

	fx_setup(len);
	fx_bind(0);
	rc = iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, IOPT_HWPT_ALLOC_DIRTY_TRACKING, 0,
			     IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt);
	if (!fx_backend_is("sim:vtd-full")) {
		CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
		fx_teardown();
		UT_SKIP("unit without second-stage A/D");
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, len, &iova, MAP_FIXED_RW), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_set_dirty_tracking(g_fx.ctx, hwpt, true), 0);
	for (uint64_t pgsz = PAGE; pgsz <= 16 * PAGE; pgsz *= 4) {
		const uint64_t pages[] = { 0, 5, 17, 63 };
		uint64_t nbits = len / pgsz;

		for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
			CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX,
						     base + pages[i] * PAGE + 8, &v, 1,
						     IOPT_DMA_FROM_DEVICE), 0);
		/* Reads do not dirty. */
		CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, base + 40 * PAGE, &v,
					     1, IOPT_DMA_TO_DEVICE), 0);
		for (int pass = 0; pass < 3; pass++) {
			uint32_t flags = pass == 0 ? IOPT_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;

			memset(mem, 0, sizeof(mem));
			CU_ASSERT_EQUAL(iopt_hwpt_get_dirty_bitmap(g_fx.ctx, hwpt, base, len, pgsz,
								   bm, flags), 0);
			for (uint64_t bit = 0; bit < nbits; bit++) {
				bool want = false;

				for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
					want |= pages[i] * PAGE / pgsz == bit;
				/* passes 0 (no clear) and 1 see the writes, pass 2 nothing */
				CU_ASSERT_EQUAL(!!(bm[bit / 8] & (1U << (bit % 8))),
						want && pass < 2);
			}
		}
	}
	CU_ASSERT(fx_dev_maps(0, iova, g_fx.buf, len));
	sim_dirty_huge(hwpt);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	fx_teardown();
}

/* A PASID-capable HWPT attached to (device, PASID): DMA tagged with that PASID reaches it. */
static void sim_pasid_dma(void)
{
	uint32_t hwpt, pt, ioas2, hwpt2, plain;
	uint64_t iova = 8 * PAGE, iova2 = 8 * PAGE;
	int rc;

	fx_setup(8 * PAGE);
	fx_bind(0);
	rc = iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas, IOPT_HWPT_ALLOC_PASID, 0,
			     IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt);
	if (!fx_backend_is("sim:vtd-full")) {
		/* legacy mode, and QEMU's scalable mode without pasid=on (ECAP.PASID=0) */
		CU_ASSERT_EQUAL(rc, -EOPNOTSUPP);
		fx_teardown();
		UT_SKIP("unit without scalable-mode PASID support");
	}
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(iopt_ioas_alloc(g_fx.ctx, &ioas2), 0);
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], ioas2, IOPT_HWPT_ALLOC_PASID, 0,
					IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt2), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, 4 * PAGE, &iova, MAP_FIXED_RW),
			0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, ioas2, g_fx.buf + 4 * PAGE, 4 * PAGE, &iova2,
				      MAP_FIXED_RW), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 7, &pt), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova, g_fx.buf, 4 * PAGE, true));
	/* Other PASIDs and the RID reach nothing. */
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], 8, iova, 4 * PAGE));
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, iova, 4 * PAGE));
	/* Re-attach: -EBUSY, translation kept; replace switches it. */
	pt = hwpt2;
	CU_ASSERT_EQUAL(iopt_device_pasid_attach(g_fx.ctx, g_fx.dev[0], 7, &pt), -EBUSY);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova, g_fx.buf, 4 * PAGE, true));
	/* A failed replace (an HWPT not allocated for PASIDs) keeps the old domain. */
	CU_ASSERT_EQUAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], ioas2, 0, 0, IOPT_HWPT_DATA_NONE,
					NULL, 0, &plain), 0);
	pt = plain;
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 7, &pt), -EINVAL);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova, g_fx.buf, 4 * PAGE, true));
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, plain), 0);
	pt = hwpt2;
	CU_ASSERT_EQUAL(iopt_device_pasid_replace(g_fx.ctx, g_fx.dev[0], 7, &pt), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], 7, iova2, g_fx.buf + 4 * PAGE, 4 * PAGE, true));
	/* Unmap in the attached IOAS invalidates the PASID's translations. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, ioas2, 0, UINT64_MAX, NULL), 0);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], 7, iova2, 4 * PAGE));
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 7), 0);
	CU_ASSERT_EQUAL(iopt_device_pasid_detach(g_fx.ctx, g_fx.dev[0], 7), 0);
	fx_teardown();
}

/*
 * The current sim backend's machine, but with test devices that do ATS and
 * PRI (which iopt_ctx_create's machines do not, so that their faults stay
 * faults): the context is made on it the way iopt_ctx_create makes one.
 */
static void fx_setup_sim_machine(unsigned int dev_caps, size_t buf_len)
{
	static const char *const profiles[] = { "qemu-q35", "qemu-q35-scalable", "full" };
	static const char *const variants[] = { "legacy", "scalable", "full" };
	struct iopt_env_opts eo = { .mem = IOPT_ENV_MEM_SIM };
	struct sim_machine_opts mo = { .nr_devs = 4, .bus_master = true, .dev_caps = dev_caps };
	struct iopt_ctx_opts opts = { .log_level = -1 };
	struct iopt_hw_platform plat = { 0 };
	struct sim_machine *sim;
	int be = (int)(g_fx_be - g_fx_backends) - 1;
	void *p = NULL;

	CU_ASSERT_FATAL(be >= 0 && be < 3);
	memset(&g_fx, 0, sizeof(g_fx));
	CU_ASSERT_FATAL(iopt_env_create(&eo, &g_fx.own_env) == 0);
	mo.profile = profiles[be];
	CU_ASSERT_FATAL(sim_machine_create(g_fx.own_env, &mo, &sim) == 0);
	plat.env = g_fx.own_env;
	plat.model = sim;
	plat.variant = variants[be];
	CU_ASSERT_FATAL(iom_ctx_create_ops(&opts, &vtd_hw_ops, &plat, &g_fx.ctx) == 0);
	g_fx.ctx->sim = sim; /* iopt_sim_dma's machine; iopt_ctx_destroy frees it */
	g_fx.env = g_fx.own_env;
	CU_ASSERT_FATAL(iopt_ioas_alloc(g_fx.ctx, &g_fx.ioas) == 0);
	CU_ASSERT_FATAL(posix_memalign(&p, 2 * MB, buf_len) == 0);
	g_fx.buf = p;
	for (size_t i = 0; i < buf_len; i++)
		g_fx.buf[i] = (uint8_t)(i * 7 + 3);
	g_fx.buf_len = buf_len;
}

/* One page request the device sent: poll brings it to the fault queue, whole. */
static bool read_one_request(uint32_t fault, uint64_t addr, uint32_t perm, struct iopt_fault *f)
{
	uint32_t n = 0;

	if (iopt_poll(g_fx.ctx) != 1 || iopt_fault_read(g_fx.ctx, fault, f, 1, &n) || n != 1)
		return false;
	return f->dev_id == g_fx.dev[0] && f->addr == addr && f->perm == perm &&
	       (f->flags & IOPT_PGFAULT_FLAGS_LAST_PAGE) && f->grpid <= 0x1ff;
}

/*
 * Fault queue round trip with real page requests (sim:vtd-full: PRS; the
 * devices do ATS and PRI): a DMA to a not-present IOVA sends a page request
 * and waits; iopt_poll queues it; the application maps the page and answers
 * SUCCESS, and the retried DMA gets the data. An INVALID answer fails the
 * DMA. An unmap invalidates the device's ATC: the next DMA asks again.
 */
static void sim_fault_queue_round_trip(void)
{
	uint64_t iova = 16 * PAGE, miss = 64 * PAGE, miss2 = 80 * PAGE;
	struct iopt_fault f;
	uint32_t fault, hwpt, pt;
	uint8_t got[8];

	if (!fx_backend_is("sim:vtd-full"))
		UT_SKIP("page requests need ECAP.PRS (full profile)");
	fx_setup_sim_machine(DMADEV_CAP_ATS | DMADEV_CAP_PRI, 4 * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_fault_queue_alloc(g_fx.ctx, &fault), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					      IOPT_HWPT_FAULT_ID_VALID, fault,
					      IOPT_HWPT_DATA_NONE, NULL, 0, &hwpt), 0);
	pt = hwpt;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, PAGE, &iova, MAP_FIXED_RW), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, iova, g_fx.buf, PAGE, true));
	/* Not present: a page request, the DMA waits for its answer. */
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss + 8, got, 8,
				     IOPT_DMA_TO_DEVICE), -EAGAIN);
	CU_ASSERT_FATAL(read_one_request(fault, miss, IOPT_PGFAULT_PERM_READ, &f));
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss + 8, got, 8,
				     IOPT_DMA_TO_DEVICE), -EAGAIN);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf + PAGE, PAGE, &miss,
				      MAP_FIXED_RW), 0);
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f.cookie, IOPT_PGFAULT_RESP_SUCCESS),
			0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss + 8, got, 8,
				     IOPT_DMA_TO_DEVICE), 0);
	CU_ASSERT_EQUAL(memcmp(got, g_fx.buf + PAGE + 8, 8), 0);
	/* A write request answered INVALID: the DMA fails. */
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss2, got, 8,
				     IOPT_DMA_FROM_DEVICE), -EAGAIN);
	CU_ASSERT_FATAL(read_one_request(fault, miss2, IOPT_PGFAULT_PERM_WRITE, &f));
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f.cookie, IOPT_PGFAULT_RESP_INVALID),
			0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, miss2, got, 8,
				     IOPT_DMA_FROM_DEVICE), -EIO);
	/* Unmap reached the device's ATC: the page is asked for again, not read stale. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, iova, PAGE, NULL), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, iova, got, 8,
				     IOPT_DMA_TO_DEVICE), -EAGAIN);
	CU_ASSERT_FATAL(read_one_request(fault, iova, IOPT_PGFAULT_PERM_READ, &f));
	CU_ASSERT_EQUAL(iopt_fault_respond(g_fx.ctx, fault, f.cookie, IOPT_PGFAULT_RESP_INVALID),
			0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, fault), -EBUSY);
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, hwpt), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, fault), 0);
	fx_teardown();
}

/*
 * Guest memory for a nested HWPT: pages of g_fx.buf mapped in the parent IOAS
 * at GUEST_GPA, so a first-stage table built in them names guest-physical
 * addresses (IOVAs of the parent). Pages [0, GUEST_TABLE_PAGES) hold table
 * pages, the rest data.
 */
#define GUEST_GPA (1ULL << 30)
#define GUEST_TABLE_PAGES 8
#define GUEST_PAGES 16

struct guest_mem {
	uint32_t next;
};

static int guest_alloc(void *arg, size_t size, size_t align, int node, void **va, uint64_t *pa)
{
	struct guest_mem *gm = arg;

	(void)node;
	if (size != PAGE || align > PAGE || gm->next == GUEST_TABLE_PAGES)
		return -ENOMEM;
	*va = g_fx.buf + gm->next * PAGE;
	*pa = GUEST_GPA + gm->next * PAGE;
	memset(*va, 0, PAGE);
	gm->next++;
	return 0;
}

static void guest_free(void *arg, void *va, uint64_t pa, size_t size)
{
	(void)arg; (void)va; (void)pa; (void)size; /* the pool goes with the test */
}

static void *guest_phys_to_virt(void *arg, uint64_t pa)
{
	(void)arg;
	return g_fx.buf + (pa - GUEST_GPA);
}

static const struct iopt_pgtbl_mem_ops g_guest_mem_ops = {
	.alloc = guest_alloc, .free = guest_free, .phys_to_virt = guest_phys_to_virt,
};

/*
 * A nested HWPT over a real first-stage table (sim:vtd-full): DMA goes
 * through both stages; a first-stage change is seen only after the user
 * invalidation; an unmap in the parent IOAS cuts the nested translation.
 */
static void sim_nested_dma(void)
{
	const uint64_t s1_iova = 0x40000000, data_gpa = GUEST_GPA + GUEST_TABLE_PAGES * PAGE;
	struct guest_mem gm = { 0 };
	struct iopt_pgtbl_cfg cfg = { .format = IOPT_PGTBL_X86_64, .ias = 48, .oas = 39,
				      .numa_node = -1, .mem_ops = &g_guest_mem_ops,
				      .mem_arg = &gm };
	struct iopt_hwpt_vtd_s1 s1 = { .addr_width = 48 };
	struct iopt_hwpt_vtd_s1_invalidate inv = { .addr = s1_iova, .npages = 1 };
	struct iopt_pgtbl_gather g;
	struct iopt_pgtbl_info info;
	struct iopt_pgtbl *t;
	uint32_t parent, nested, pt, num = 1;
	uint64_t gpa = GUEST_GPA;
	uint8_t b;

	if (!fx_backend_is("sim:vtd-full"))
		UT_SKIP("nesting needs scalable mode with ECAP.NEST (full profile)");
	fx_setup(GUEST_PAGES * PAGE);
	fx_bind(0);
	CU_ASSERT_EQUAL(iopt_ioas_map(g_fx.ctx, g_fx.ioas, g_fx.buf, GUEST_PAGES * PAGE, &gpa,
				      MAP_FIXED_RW), 0);
	CU_ASSERT_FATAL(iopt_pgtbl_create(&cfg, &t) == 0);
	CU_ASSERT_FATAL(iopt_pgtbl_map(t, s1_iova, data_gpa, 4 * PAGE,
				       IOPT_PGTBL_PROT_READ | IOPT_PGTBL_PROT_WRITE) == 0);
	CU_ASSERT_FATAL(iopt_pgtbl_get_info(t, &info) == 0);
	s1.pgtbl_addr = info.root_pa;
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], g_fx.ioas,
					      IOPT_HWPT_ALLOC_NEST_PARENT, 0, IOPT_HWPT_DATA_NONE,
					      NULL, 0, &parent), 0);
	CU_ASSERT_EQUAL_FATAL(iopt_hwpt_alloc(g_fx.ctx, g_fx.dev[0], parent, 0, 0,
					      IOPT_HWPT_DATA_VTD_S1, &s1, sizeof(s1), &nested), 0);
	pt = nested;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, s1_iova,
			      g_fx.buf + GUEST_TABLE_PAGES * PAGE, 4 * PAGE, true));
	/* The guest unmaps a first-stage page: seen after its invalidation, not before. */
	iopt_pgtbl_gather_init(&g);
	CU_ASSERT_EQUAL(iopt_pgtbl_unmap(t, s1_iova, PAGE, &g, NULL), 0);
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, s1_iova, &b, 1,
				     IOPT_DMA_TO_DEVICE), 0); /* the IOTLB still has it */
	CU_ASSERT_EQUAL(iopt_hwpt_invalidate(g_fx.ctx, nested, IOPT_HWPT_INVALIDATE_DATA_VTD_S1,
					     &inv, sizeof(inv), &num), 0);
	CU_ASSERT_EQUAL(num, 1);
	iopt_pgtbl_gather_release(t, &g);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, s1_iova, PAGE));
	CU_ASSERT(fx_dma_maps(g_fx.dev[0], UINT32_MAX, s1_iova + PAGE,
			      g_fx.buf + (GUEST_TABLE_PAGES + 1) * PAGE, 3 * PAGE, true));
	/* The host unmaps guest memory: the nested translations through it go. */
	CU_ASSERT_EQUAL(iopt_ioas_unmap(g_fx.ctx, g_fx.ioas, GUEST_GPA, GUEST_PAGES * PAGE, NULL),
			0);
	CU_ASSERT(fx_dma_faults(g_fx.dev[0], UINT32_MAX, s1_iova + PAGE, 3 * PAGE));
	CU_ASSERT_EQUAL(iopt_device_detach(g_fx.ctx, g_fx.dev[0]), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, nested), 0);
	CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, parent), 0);
	iopt_pgtbl_destroy(t);
	fx_teardown();
}

/*
 * Devices the application did not bind keep working untranslated by
 * default (DMA at a physical address reaches it) or are blocked by policy;
 * a device is translated while bound and goes back to the policy when
 * unbound. The unbound device's DMA is issued on the sim machine directly.
 */
static void sim_unbound_devices(void)
{
	struct iopt_ctx_opts opts = { .log_level = -1 };
	struct hwmodel_fault f;
	struct iopt_dma_buf dma;
	uint8_t got[8];
	uint32_t dev;

	for (int block = 0; block < 2; block++) {
		opts.backend = g_fx_be->backend;
		opts.unbound = block ? IOPT_UNBOUND_BLOCK : IOPT_UNBOUND_PASSTHROUGH;
		CU_ASSERT_FATAL(iopt_ctx_create(&opts, &g_fx.ctx) == 0);
		CU_ASSERT_FATAL(iopt_dma_alloc(g_fx.ctx->env, PAGE, PAGE, IOPT_NUMA_ANY, &dma) == 0);
		memset(dma.va, 0x3c + block, PAGE);
		/* edu0 bound (translation is on), edu1 (index 1) not. */
		CU_ASSERT_EQUAL(iopt_device_bind(g_fx.ctx, "edu0", &dev), 0);
		CU_ASSERT_EQUAL(sim_machine_dma(g_fx.ctx->sim, 1, dma.pa, got, sizeof(got), false, &f),
				block ? -EFAULT : 0);
		if (!block)
			CU_ASSERT_EQUAL(memcmp(got, dma.va, sizeof(got)), 0);
		/* The bound device is blocked until attached: its PA is no IOVA. */
		CU_ASSERT_EQUAL(sim_machine_dma(g_fx.ctx->sim, 0, dma.pa, got, sizeof(got), false, &f),
				-EFAULT);
		/* Unbound again: the policy applies to it too. */
		CU_ASSERT_EQUAL(iopt_destroy(g_fx.ctx, dev), 0);
		CU_ASSERT_EQUAL(sim_machine_dma(g_fx.ctx->sim, 0, dma.pa, got, sizeof(got), false, &f),
				block ? -EFAULT : 0);
		while (iopt_poll(g_fx.ctx) > 0)
			;
		iopt_dma_free(g_fx.ctx->env, &dma);
		iopt_ctx_destroy(g_fx.ctx);
		g_fx.ctx = NULL;
	}
}

/*
 * More faults than the unit has fault recording registers (CAP.NFR), with no
 * poll in between: the ones recorded are drained in one bounded poll, the
 * overflow is reported as an error, and recording resumes afterwards.
 */
static void sim_fault_overflow(void)
{
	unsigned int nfr;
	uint64_t faults, errors;
	uint8_t b;
	uint32_t pt;
	int n;

	fx_setup(0);
	fx_bind(0);
	nfr = (unsigned int)((vtdm_cap(g_fx.ctx->sim->vtd) >> 40) & 0xff) + 1; /* CAP.NFR */
	pt = g_fx.ioas;
	CU_ASSERT_EQUAL(iopt_device_attach(g_fx.ctx, g_fx.dev[0], &pt), 0);
	faults = g_fx.ctx->nr_faults_logged;
	errors = g_fx.ctx->nr_errors_logged;
	for (unsigned int i = 0; i < nfr + 8; i++)
		CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX,
					     (uint64_t)(i + 1) * PAGE, &b, 1, IOPT_DMA_TO_DEVICE),
				-EFAULT);
	n = iopt_poll(g_fx.ctx);
	CU_ASSERT(n >= 1 && n <= (int)nfr + 1);
	CU_ASSERT(g_fx.ctx->nr_faults_logged - faults >= 1 &&
		  g_fx.ctx->nr_faults_logged - faults <= nfr);
	CU_ASSERT_EQUAL(g_fx.ctx->nr_errors_logged, errors + 1); /* the overflow */
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 0);
	/* Recording works again. */
	faults = g_fx.ctx->nr_faults_logged;
	CU_ASSERT_EQUAL(iopt_sim_dma(g_fx.ctx, g_fx.dev[0], UINT32_MAX, 512 * PAGE, &b, 1,
				     IOPT_DMA_TO_DEVICE), -EFAULT);
	CU_ASSERT_EQUAL(iopt_poll(g_fx.ctx), 1);
	CU_ASSERT_EQUAL(g_fx.ctx->nr_faults_logged, faults + 1);
	fx_teardown();
}

/* The sim equivalents of mock-only facilities: real faults, A/D bits, PASID-tagged DMA. */
static const struct ut_test g_sim_tests[] = {
	UT_TEST(sim_dma_fault_poll),
	UT_TEST(sim_fault_overflow),
	UT_TEST(sim_dirty_by_dma),
	UT_TEST(sim_pasid_dma),
	UT_TEST(sim_fault_queue_round_trip),
	UT_TEST(sim_nested_dma),
	UT_TEST(sim_unbound_devices),
	UT_END
};

static const struct ut_suite g_suites[] = {
	{ "iommufd_hwpt_sim@sim:vtd", fx_init_vtd, NULL, g_sim_tests },
	{ "iommufd_hwpt_sim@sim:vtd-scalable", fx_init_vtd_scalable, NULL, g_sim_tests },
	{ "iommufd_hwpt_sim@sim:vtd-full", fx_init_vtd_full, NULL, g_sim_tests },
	{ "iommufd_hwpt_sim@sim:vtd-quirks", fx_init_vtd_quirks, NULL, g_sim_tests },
	{ NULL, NULL, NULL, NULL }
};

int main(int argc, char **argv)
{
	return ut_run(argc, argv, g_suites);
}
