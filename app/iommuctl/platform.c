/*
 * Opening a backend. Both kinds of platform are found the same way: read
 * the DMAR through iopt_env_fw_table (sim) or from /sys (real), then map
 * every DRHD's registers at its base (iopt_env_mmio_map on sim, /dev/mem on
 * real hardware). On sim the units are the ones the library's context
 * builds for the backend (its sim machine options, iopt_internal/backends.h):
 * one unit under a DMAR like QEMU q35's, several as the library's sim
 * machine with its DMAR; with --dmar, DRHD i gets unit i (see sim_open).
 *
 * Real backends are used read-only here: iommuctl never writes a register
 * of a unit it did not bring up itself, so it can look at a unit another
 * process owns. A unit it did bring up (--setup demo, selftest --walk) is
 * the library's: these mappings only read it, beside the driver's own. uio and vfio-noiommu differ only in how devices are bound,
 * which the inspection commands do not need.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iopt/env.h"
#include "iopt_internal/backends.h"
#include "iopt_internal/hwmodel.h"
#include "iopt_internal/sim_machine.h"
#include "iopt_internal/sim.h"
#include "hwdrv/vtd/regs.h"
#include "iommuctl.h"

/*
 * Host address width of a profile, for the synthesized DMAR's HAW (the
 * model keeps it private; QEMU's aw-bits=39 default, 46 for "full").
 */
static unsigned int profile_haw(const char *profile)
{
	return strcmp(profile, "full") == 0 ? 46 : 39;
}

/* Device scopes of QEMU q35's DMAR (QEMU.md): IOAPIC, then endpoints; plus
 * 00:03.0, in scope but left without a context entry by --sim-setup demo. */
static const struct {
	uint8_t type, enum_id, bus, dev, fn;
} g_q35_scopes[] = {
	{ IOPT_DMAR_SCOPE_IOAPIC, 0, 0xff, 0, 0 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0, 0 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 1, 0 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 2, 0 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 3, 0 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0x1f, 0 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0x1f, 2 },
	{ IOPT_DMAR_SCOPE_PCI_ENDPOINT, 0, 0, 0x1f, 3 },
};
#define N_Q35_SCOPES (sizeof(g_q35_scopes) / sizeof(g_q35_scopes[0]))
#define DMAR_HDR_LEN 48     /* ACPI header 36 + HAW, flags, 10 reserved */
#define DRHD_HDR_LEN 16
#define SCOPE_LEN 8
#define Q35_DMAR_LEN (DMAR_HDR_LEN + DRHD_HDR_LEN + N_Q35_SCOPES * SCOPE_LEN)

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A DMAR (VT-d §8.1, §8.3) with one DRHD at reg_base holding the q35 scopes. */
static void build_q35_dmar(uint8_t *t, uint64_t reg_base, unsigned int haw)
{
	uint8_t *d = t + DMAR_HDR_LEN, *s = d + DRHD_HDR_LEN, sum = 0;

	memset(t, 0, Q35_DMAR_LEN);
	memcpy(t, "DMAR", 4);
	put_le(t + 4, Q35_DMAR_LEN, 4);
	t[8] = 1;
	memcpy(t + 10, "IOPT  ", 6);
	memcpy(t + 16, "SIMQ35  ", 8);
	put_le(t + 24, 1, 4);
	memcpy(t + 28, "IOPT", 4);
	put_le(t + 32, 1, 4);
	t[36] = (uint8_t)(haw - 1);
	t[37] = 0; /* no interrupt remapping in the models */
	put_le(d, 0, 2);                       /* type 0: DRHD */
	put_le(d + 2, DRHD_HDR_LEN + N_Q35_SCOPES * SCOPE_LEN, 2);
	put_le(d + 8, reg_base, 8);
	for (size_t i = 0; i < N_Q35_SCOPES; i++, s += SCOPE_LEN) {
		s[0] = g_q35_scopes[i].type;
		s[1] = SCOPE_LEN;
		s[4] = g_q35_scopes[i].enum_id;
		s[5] = g_q35_scopes[i].bus;
		s[6] = g_q35_scopes[i].dev;
		s[7] = g_q35_scopes[i].fn;
	}
	for (size_t i = 0; i < Q35_DMAR_LEN; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)(0x100 - sum);
}

/* Unit u of the backend's machine, as the library's sim machine builds it. */
static int sim_model_create(struct ctl_plat *p, const struct sim_machine_opts *mo,
			    unsigned int u, uint64_t reg_base)
{
	const char *profile = mo->units[u].profile ? mo->units[u].profile : mo->profile;
	struct vtdm_opts vo = { .reg_base = reg_base };
	const struct iopt_mmio *mm;
	int rc;

	vo.coherency = mo->units[u].profile ? mo->units[u].coherency : mo->coherency;
	if (!mo->units[u].profile) { /* the overrides go with the machine's profile */
		vo.cap_set = mo->cap_set;
		vo.cap_clear = mo->cap_clear;
		vo.ecap_set = mo->ecap_set;
		vo.ecap_clear = mo->ecap_clear;
	}
	p->model_profiles[u] = profile ? profile : "qemu-q35";
	rc = vtdm_create(p->env, p->model_profiles[u], &vo, &p->models[u]);
	if (rc)
		return rc;
	mm = vtdm_mmio(p->models[u]);
	rc = sim_platform_add_mmio(p->env, vtdm_reg_base(p->models[u]),
				   vtdm_reg_size(p->models[u]), mm->sim, mm->sim_arg);
	if (rc) {
		vtdm_destroy(p->models[u]);
		p->models[u] = NULL;
		return rc;
	}
	p->n_models = u + 1;
	return 0;
}

/*
 * --dmar FILE: its DRHD i gets unit i of the machine (as many as both have),
 * at the DRHD's base. @return 0 or an exit code (message printed).
 */
static int sim_open_given_dmar(const struct ctl_opts *o, const char *cmd, struct ctl_plat *p,
			       const struct sim_machine_opts *mo)
{
	unsigned int nr_units = mo->nr_units ? mo->nr_units : 1;
	struct iopt_dmar *d = NULL;
	void *file = NULL;
	size_t file_len = 0;
	int rc;

	rc = ctl_read_table(o->dmar_file, &file, &file_len);
	if (rc) {
		ctl_err(cmd, "cannot read %s: %s", o->dmar_file, strerror(-rc));
		return CTL_EXIT_FAIL;
	}
	rc = iopt_dmar_parse(file, file_len, 0, &d);
	if (rc || d->n_drhd == 0) {
		ctl_err(cmd, "%s: %s", o->dmar_file, rc ? "not a valid DMAR" : "no DRHD");
		iopt_dmar_free(d);
		ctl_free_table(file);
		return CTL_EXIT_FAIL;
	}
	rc = iopt_env_create(NULL, &p->env);
	for (unsigned int u = 0; rc == 0 && u < nr_units && u < d->n_drhd; u++)
		rc = sim_model_create(p, mo, u, d->drhd[u].reg_base);
	if (rc == 0)
		rc = sim_platform_add_fw_table(p->env, "DMAR", file, file_len);
	iopt_dmar_free(d);
	ctl_free_table(file);
	if (rc) {
		ctl_err(cmd, "cannot create the sim platform: %s", strerror(-rc));
		return CTL_EXIT_NO_BACKEND;
	}
	return 0;
}

/*
 * The sim platform of backend o->backend (the machine the library builds
 * for it, lib/iopt/main.c): with --dmar, see sim_open_given_dmar; a
 * one-unit machine is its model at 0xfed90000 under a DMAR like QEMU q35's
 * (what iommuctl always showed); a several-unit machine is the library's
 * sim machine itself, with its DMAR (explicit scopes, INCLUDE_PCI_ALL last).
 * @return 0 or an exit code (message printed).
 */
static int sim_open(const struct ctl_opts *o, const char *cmd, struct ctl_plat *p)
{
	struct sim_machine_opts mo;
	uint8_t q35[Q35_DMAR_LEN];
	int rc;

	rc = backend_sim_machine(o->backend, &mo);
	if (rc) {
		ctl_err(cmd, "%s is not a sim backend", o->backend);
		return CTL_EXIT_USAGE;
	}
	p->profile = mo.profile ? mo.profile : "qemu-q35";
	if (o->dmar_file)
		return sim_open_given_dmar(o, cmd, p, &mo);
	rc = iopt_env_create(NULL, &p->env);
	if (rc == 0 && mo.nr_units > 1) {
		rc = sim_machine_create(p->env, &mo, &p->machine);
		for (unsigned int u = 0; rc == 0 && u < p->machine->nr_units; u++) {
			const char *prof = mo.units[u].profile ? mo.units[u].profile : p->profile;

			p->models[u] = p->machine->units[u];
			p->model_profiles[u] = prof;
		}
		if (rc == 0)
			p->n_models = p->machine->nr_units;
	} else if (rc == 0) {
		rc = sim_model_create(p, &mo, 0, 0);
		if (rc == 0) {
			build_q35_dmar(q35, vtdm_reg_base(p->models[0]), profile_haw(p->profile));
			rc = sim_platform_add_fw_table(p->env, "DMAR", q35, Q35_DMAR_LEN);
		}
	}
	if (rc) {
		ctl_err(cmd, "cannot create the sim platform: %s", strerror(-rc));
		return CTL_EXIT_NO_BACKEND;
	}
	return 0;
}

static int map_units(const char *cmd, struct ctl_plat *p)
{
	uint32_t mapped = 0;

	p->n_units = p->dmar->n_drhd;
	p->units = calloc(p->n_units ? p->n_units : 1, sizeof(*p->units));
	if (!p->units)
		return CTL_EXIT_FAIL;
	for (uint32_t i = 0; i < p->n_units; i++) {
		struct ctl_unit *u = &p->units[i];
		int rc;

		u->drhd = &p->dmar->drhd[i];
		u->reg_len = u->drhd->reg_size > VTD_REG_BLOCK_SIZE ? u->drhd->reg_size :
								       VTD_REG_BLOCK_SIZE;
		if (p->sim)
			rc = iopt_env_mmio_map(p->env, u->drhd->reg_base, VTD_REG_BLOCK_SIZE,
					       &u->mmio);
		else
			rc = iopt_mmio_map_phys(u->drhd->reg_base, u->reg_len, &u->mmio);
		if (p->sim)
			u->reg_len = VTD_REG_BLOCK_SIZE;
		if (rc) {
			u->mmio = NULL;
			u->map_error = rc;
			ctl_err(cmd, "unit %u at 0x%llx: cannot map its registers: %s", i,
				(unsigned long long)u->drhd->reg_base, strerror(-rc));
			continue;
		}
		u->coherent_walks = iopt_mmio_read64(u->mmio, VTD_ECAP_REG) & VTD_ECAP_C;
		mapped++;
	}
	return mapped ? 0 : CTL_EXIT_NO_BACKEND;
}

/*
 * Read the DMAR and map the units: sim from p->env (sim_open's or a live
 * context's), real from /sys and /dev/mem. @return 0 or an exit code.
 */
static int plat_find_units(const char *cmd, struct ctl_plat *p)
{
	int rc;

	if (p->sim)
		rc = iopt_env_fw_table(p->env, "DMAR", &p->dmar_buf, &p->dmar_len);
	else
		rc = iopt_acpi_table_read("DMAR", &p->dmar_buf, &p->dmar_len);
	if (rc) {
		ctl_err(cmd, "no DMAR table on this platform: %s%s", strerror(-rc),
			rc == -EACCES ? " (needs root)" : "");
		return CTL_EXIT_NO_BACKEND;
	}
	rc = iopt_dmar_parse(p->dmar_buf, p->dmar_len, 0, &p->dmar);
	if (rc) {
		ctl_err(cmd, "the platform's DMAR is not valid: %s", strerror(-rc));
		return CTL_EXIT_FAIL;
	}
	rc = map_units(cmd, p);
	if (rc)
		return rc;
	if (!p->sim)
		p->mem_fd = open("/dev/mem", O_RDONLY | O_CLOEXEC);
	return 0;
}

static void plat_init(const struct ctl_opts *o, struct ctl_plat *p)
{
	struct sim_machine_opts mo;

	memset(p, 0, sizeof(*p));
	p->mem_fd = -1;
	p->backend = o->backend;
	p->sim = strncmp(o->backend, "sim:", 4) == 0;
	if (p->sim && backend_sim_machine(o->backend, &mo) == 0)
		p->profile = mo.profile ? mo.profile : "qemu-q35";
}

int ctl_plat_open_env(const struct ctl_opts *o, const char *cmd, struct iopt_env *env,
		      struct ctl_plat *p)
{
	int rc;

	plat_init(o, p);
	p->env = env;
	p->env_borrowed = true;
	rc = plat_find_units(cmd, p);
	if (rc)
		ctl_plat_close(p);
	return rc;
}

/*
 * --sim-setup demo on every unit with a model: unit 0 with 00:02.0 (as
 * always), unit u > 0 of a several-unit machine with the first test device
 * behind it (a unit with none is left at reset). @return 0 or an exit code.
 */
static int sim_setup_units(const char *cmd, struct ctl_plat *p)
{
	for (uint32_t u = 0; u < p->n_models && u < p->n_units; u++) {
		int devfn = u == 0 ? 0x10 : -1, rc;

		for (unsigned int i = 0; devfn < 0 && p->machine && i < p->machine->nr_devs; i++)
			if (p->machine->devs[i].unit == u && p->machine->devs[i].rid < 0x100)
				devfn = p->machine->devs[i].rid;
		if (!p->models[u] || !p->units[u].mmio || devfn < 0)
			continue;
		rc = sim_setup_demo(p, u, (uint8_t)devfn, &p->setup[u]);
		if (rc) {
			ctl_err(cmd, "--sim-setup demo failed on unit %u: %s", u, strerror(-rc));
			return CTL_EXIT_FAIL;
		}
	}
	return 0;
}

int ctl_plat_open(const struct ctl_opts *o, const char *cmd, struct ctl_plat *p)
{
	struct ctl_live *live = NULL;
	int rc;

	if (o->setup) {
		/* The unit is live: the context's platform, not a second model. */
		rc = live_open(o, cmd, &live);
		if (rc)
			return rc;
		rc = ctl_plat_open_env(o, cmd, live_env(live), p);
		if (rc) {
			live_close(live);
			return rc;
		}
		p->live = live;
		return 0;
	}
	plat_init(o, p);
	if (p->sim) {
		rc = sim_open(o, cmd, p);
		if (rc)
			goto fail;
	}
	rc = plat_find_units(cmd, p);
	if (rc)
		goto fail;
	if (o->sim_setup) {
		rc = sim_setup_units(cmd, p);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	ctl_plat_close(p);
	return rc;
}

void ctl_plat_close(struct ctl_plat *p)
{
	for (uint32_t i = 0; i < CTL_MAX_MODELS; i++)
		sim_setup_free(p, p->setup[i]);
	for (uint32_t i = 0; i < p->n_units; i++)
		iopt_mmio_unmap(p->units[i].mmio);
	free(p->units);
	iopt_dmar_free(p->dmar);
	if (p->sim)
		iopt_env_fw_table_free(p->dmar_buf);
	else
		iopt_acpi_table_free(p->dmar_buf);
	if (p->machine) {
		sim_machine_destroy(p->machine);
	} else {
		for (uint32_t i = 0; i < p->n_models; i++) {
			if (!p->models[i])
				continue;
			sim_platform_remove_mmio(p->env, vtdm_reg_base(p->models[i]));
			vtdm_destroy(p->models[i]);
		}
	}
	if (!p->env_borrowed)
		iopt_env_destroy(p->env);
	live_close(p->live);  /* after the mappings of its unit's registers */
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	memset(p, 0, sizeof(*p));
	p->mem_fd = -1;
}

int ctl_phys_read(struct ctl_plat *p, const struct ctl_unit *u, uint64_t pa, void *buf,
		  size_t len)
{
	ssize_t r;

	if (p->sim)
		return sim_phys_read(p->env, pa, buf, len,
				     u->coherent_walks ? 0 : SIM_PHYS_NONCOHERENT);
	if (p->env && len) {
		/* Our own DMA memory (a live context's tables and buffers): QEMU's
		 * walker reads guest RAM directly, so the CPU's view is the unit's. */
		uint8_t *va = iopt_dma_phys_to_virt(p->env, pa);

		if (va && iopt_dma_phys_to_virt(p->env, pa + len - 1) == va + len - 1) {
			memcpy(buf, va, len);
			return 0;
		}
	}
	if (p->mem_fd < 0)
		return -EACCES;
	r = pread(p->mem_fd, buf, len, (off_t)pa);
	if (r < 0)
		return -errno;
	return (size_t)r == len ? 0 : -EFAULT;
}
