/*
 * iommuctl dmar: decode an ACPI DMAR table (VT-d spec chapter 8) through
 * lib/env's parser (iopt_dmar_parse), which checks every length and
 * reference; this file only prints what the parser returns, plus the ACPI
 * header fields the parser does not keep.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommuctl.h"

const char *dmar_scope_type_str(unsigned int type)
{
	switch (type) {
	case IOPT_DMAR_SCOPE_PCI_ENDPOINT: return "pci-endpoint";
	case IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY: return "pci-subhierarchy";
	case IOPT_DMAR_SCOPE_IOAPIC: return "ioapic";
	case IOPT_DMAR_SCOPE_HPET: return "hpet";
	case IOPT_DMAR_SCOPE_ACPI_NAMESPACE: return "acpi-namespace";
	default: return "unknown";
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Copy n bytes of an ACPI string field, stopping at NUL, non-printables as '?'. */
static void acpi_str(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = 0;
}

/* ACPI 6.x §5.2.6 system description table header (36 bytes). */
void acpi_emit_header(struct out *o, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	char s[9];

	if (len < 36)
		return;
	out_obj_begin(o, "header");
	acpi_str(s, b, 4);
	out_str(o, "signature", s);
	out_u64(o, "length", le32(b + 4));
	out_u64(o, "revision", b[8]);
	out_hex(o, "checksum", b[9]);
	acpi_str(s, b + 10, 6);
	out_str(o, "oem_id", s);
	acpi_str(s, b + 16, 8);
	out_str(o, "oem_table_id", s);
	out_hex(o, "oem_revision", le32(b + 24));
	acpi_str(s, b + 28, 4);
	out_str(o, "creator_id", s);
	out_hex(o, "creator_revision", le32(b + 32));
	out_obj_end(o);
}

/* Bridge bus numbers from this machine's sysfs config space. */
static int sysfs_bridge_buses(void *arg, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn,
			      uint8_t *secondary, uint8_t *subordinate)
{
	char path[96];
	uint8_t cfg[0x1b];
	FILE *f;
	size_t n;

	(void)arg;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%04x:%02x:%02x.%x/config", segment,
		 bus, dev, fn);
	f = fopen(path, "rb");
	if (!f)
		return -ENODEV;
	n = fread(cfg, 1, sizeof(cfg), f);
	fclose(f);
	/* Header type 1 (bits 6:0 of 0x0e) is a PCI-PCI bridge. */
	if (n < sizeof(cfg) || (cfg[0x0e] & 0x7f) != 1)
		return -ENODEV;
	*secondary = cfg[0x19];
	*subordinate = cfg[0x1a];
	return 0;
}

void dmar_emit_scope(struct out *o, const struct iopt_dmar_scope *s, uint16_t segment, bool sysfs)
{
	char path[256];
	size_t n = 0;
	uint16_t bdf;
	int sec = -1, sub = -1, rc;

	out_obj_begin(o, NULL);
	out_str(o, "type", dmar_scope_type_str(s->type));
	out_u64(o, "type_code", s->type);
	out_hex(o, "flags", s->flags);
	out_u64(o, "enumeration_id", s->enumeration_id);
	out_hex(o, "start_bus", s->start_bus);
	n += (size_t)snprintf(path, sizeof(path), "%02x", s->start_bus);
	for (uint32_t i = 0; i < s->path_len && n < sizeof(path) - 8; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%s%02x.%x", i ? "/" : ":",
				      s->path[i].dev, s->path[i].fn);
	out_str(o, "path", path);
	/* Text shows the hops in 'path' already. */
	if (o->json) {
		out_arr_begin(o, "hops");
		for (uint32_t i = 0; i < s->path_len; i++) {
			out_obj_begin(o, NULL);
			out_u64(o, "dev", s->path[i].dev);
			out_u64(o, "fn", s->path[i].fn);
			out_obj_end(o);
		}
		out_arr_end(o);
	}
	/* The BDF first; a bridge's bus range only where the live system tells it. */
	rc = iopt_dmar_scope_resolve(s, segment, sysfs ? sysfs_bridge_buses : NULL, NULL, &bdf,
				     NULL, NULL);
	if (rc == 0 && sysfs && s->type == IOPT_DMAR_SCOPE_PCI_SUBHIERARCHY &&
	    iopt_dmar_scope_resolve(s, segment, sysfs_bridge_buses, NULL, &bdf, &sec, &sub))
		sec = sub = -1;
	if (rc == 0) {
		out_strf(o, "bdf", "%04x:%02x:%02x.%x", segment, bdf >> 8, (bdf >> 3) & 31, bdf & 7);
		out_hex(o, "rid", bdf);
		if (sec >= 0) {
			out_hex(o, "secondary_bus", (uint64_t)sec);
			out_hex(o, "subordinate_bus", (uint64_t)sub);
		}
	} else {
		out_null(o, "bdf");
		out_str(o, "bdf_unresolved", rc == -EOPNOTSUPP ?
			"the path crosses a bridge whose bus numbers only the live system knows" :
			strerror(-rc));
	}
	if (s->andd)
		out_str(o, "acpi_name", s->andd->name);
	out_u64(o, "table_offset", s->table_offset);
	out_obj_end(o);
}

static void emit_scopes(struct out *o, const struct iopt_dmar_scope *s, uint32_t n,
			uint16_t segment, bool sysfs)
{
	out_arr_begin(o, "scopes");
	for (uint32_t i = 0; i < n; i++)
		dmar_emit_scope(o, &s[i], segment, sysfs);
	out_arr_end(o);
}

static void emit_drhds(struct out *o, const struct iopt_dmar *d, bool sysfs)
{
	out_arr_begin(o, "drhd");
	for (uint32_t i = 0; i < d->n_drhd; i++) {
		const struct iopt_dmar_drhd *u = &d->drhd[i];

		out_obj_begin(o, NULL);
		out_u64(o, "index", i);
		out_hex(o, "flags", u->flags);
		out_bool(o, "include_pci_all", u->include_pci_all);
		out_u64(o, "segment", u->segment);
		out_hex(o, "reg_base", u->reg_base);
		out_hex(o, "reg_size", u->reg_size);
		if (u->has_proximity)
			out_u64(o, "proximity_domain", u->proximity_domain);
		else
			out_null(o, "proximity_domain");
		out_i64(o, "numa_node", u->numa_node);
		emit_scopes(o, u->scopes, u->n_scopes, u->segment, sysfs);
		out_u64(o, "table_offset", u->table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
}

static void emit_others(struct out *o, const struct iopt_dmar *d, bool sysfs)
{
	out_arr_begin(o, "rmrr");
	for (uint32_t i = 0; i < d->n_rmrr; i++) {
		const struct iopt_dmar_rmrr *r = &d->rmrr[i];

		out_obj_begin(o, NULL);
		out_u64(o, "segment", r->segment);
		out_hex(o, "base", r->base);
		out_hex(o, "limit", r->limit);
		out_hex(o, "size", r->limit - r->base + 1);
		emit_scopes(o, r->scopes, r->n_scopes, r->segment, sysfs);
		out_u64(o, "table_offset", r->table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_arr_begin(o, "atsr");
	for (uint32_t i = 0; i < d->n_atsr; i++) {
		const struct iopt_dmar_atsr *a = &d->atsr[i];

		out_obj_begin(o, NULL);
		out_hex(o, "flags", a->flags);
		out_bool(o, "all_ports", a->all_ports);
		out_u64(o, "segment", a->segment);
		emit_scopes(o, a->scopes, a->n_scopes, a->segment, sysfs);
		out_u64(o, "table_offset", a->table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_arr_begin(o, "rhsa");
	for (uint32_t i = 0; i < d->n_rhsa; i++) {
		const struct iopt_dmar_rhsa *r = &d->rhsa[i];

		out_obj_begin(o, NULL);
		out_hex(o, "reg_base", r->reg_base);
		out_u64(o, "proximity_domain", r->proximity_domain);
		out_u64(o, "drhd_index", (uint64_t)(r->drhd - d->drhd));
		out_u64(o, "table_offset", r->table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_arr_begin(o, "andd");
	for (uint32_t i = 0; i < d->n_andd; i++) {
		out_obj_begin(o, NULL);
		out_u64(o, "device_number", d->andd[i].device_number);
		out_str(o, "name", d->andd[i].name);
		out_u64(o, "table_offset", d->andd[i].table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
	out_arr_begin(o, "satc");
	for (uint32_t i = 0; i < d->n_satc; i++) {
		const struct iopt_dmar_satc *s = &d->satc[i];

		out_obj_begin(o, NULL);
		out_hex(o, "flags", s->flags);
		out_bool(o, "atc_required", s->atc_required);
		out_u64(o, "segment", s->segment);
		emit_scopes(o, s->scopes, s->n_scopes, s->segment, sysfs);
		out_u64(o, "table_offset", s->table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
}

int ctl_read_error_exit(int rc)
{
	return (rc == -EACCES || rc == -EPERM) ? CTL_EXIT_NO_BACKEND : CTL_EXIT_FAIL;
}

/* Shared by dmar and iort: parse the one positional argument and flags. */
static int table_args(const char *cmd, int argc, char **argv, const char **src, uint32_t *flags)
{
	static const struct option lo[] = {
		{ "allow-bad-checksum", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		if (c != 'c') {
			ctl_err(cmd, "unknown option '%s'", argv[optind - 1]);
			return CTL_EXIT_USAGE;
		}
		*flags |= IOPT_FW_F_ALLOW_BAD_CHECKSUM;
	}
	if (optind != argc - 1) {
		ctl_err(cmd, "needs exactly one FILE, '-' or table signature (see --help)");
		return CTL_EXIT_USAGE;
	}
	*src = argv[optind];
	return 0;
}

int ctl_table_load(const char *cmd, int argc, char **argv, const char **src, uint32_t *flags,
		   void **buf, size_t *len)
{
	int rc = table_args(cmd, argc, argv, src, flags);

	if (rc)
		return rc;
	rc = ctl_read_table(*src, buf, len);
	if (rc) {
		ctl_err(cmd, "cannot read %s: %s", *src, strerror(-rc));
		return ctl_read_error_exit(rc);
	}
	return 0;
}

static int run_dmar(const struct ctl_opts *opts, int argc, char **argv)
{
	struct iopt_dmar *d = NULL;
	const char *src;
	uint32_t flags = 0;
	void *buf;
	size_t len;
	struct out o;
	bool sysfs;
	int rc;

	rc = ctl_table_load("dmar", argc, argv, &src, &flags, &buf, &len);
	if (rc)
		return rc;
	rc = iopt_dmar_parse(buf, len, flags, &d);
	if (rc) {
		ctl_err("dmar", "%s: not a valid DMAR: %s (%d)", src, strerror(-rc), rc);
		ctl_free_table(buf);
		return CTL_EXIT_FAIL;
	}
	sysfs = ctl_is_signature(src);
	out_init(&o, stdout, opts->json);
	out_obj_begin(&o, NULL);
	out_str(&o, "source", src);
	acpi_emit_header(&o, buf, len);
	out_u64(&o, "host_addr_width", d->host_addr_width);
	out_hex(&o, "flags", d->flags);
	out_bool(&o, "intr_remap", d->flags & IOPT_DMAR_F_INTR_REMAP);
	out_bool(&o, "x2apic_opt_out", d->flags & IOPT_DMAR_F_X2APIC_OPT_OUT);
	out_bool(&o, "dma_ctrl_platform_opt_in", d->flags & IOPT_DMAR_F_DMA_CTRL_PLATFORM_OPT_IN);
	emit_drhds(&o, d, sysfs);
	emit_others(&o, d, sysfs);
	out_obj_end(&o);
	out_finish(&o);
	iopt_dmar_free(d);
	ctl_free_table(buf);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_dmar = {
	.name = "dmar",
	.summary = "decode an ACPI DMAR table (VT-d remapping units, scopes, RMRR, ATSR, RHSA, ANDD, SATC)",
	.usage = "usage: iommuctl dmar [--allow-bad-checksum] FILE|-|SIG\n"
		 "  FILE  a binary table (as iasl -tc/acpidump -b produce); '-' reads stdin;\n"
		 "        a 4-character signature (DMAR) reads /sys/firmware/acpi/tables/DMAR\n"
		 "        (paths through bridges are then resolved through sysfs)\n"
		 "  --allow-bad-checksum  accept a table whose checksum is wrong (warning)\n",
	.run = run_dmar,
};
