/*
 * iommuctl iort: decode an ACPI IORT table (Arm DEN0049) through lib/env's
 * parser (iopt_iort_parse): every node, its type-specific fields and its ID
 * mappings with the output reference resolved to the node it names; and,
 * for every root complex, where each RID range ends up (SMMUv3 and StreamID
 * base) through iopt_iort_rid_to_streamid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommuctl.h"

static const char *node_type_str(unsigned int t)
{
	switch (t) {
	case IOPT_IORT_NODE_ITS_GROUP: return "its-group";
	case IOPT_IORT_NODE_NAMED_COMPONENT: return "named-component";
	case IOPT_IORT_NODE_ROOT_COMPLEX: return "root-complex";
	case IOPT_IORT_NODE_SMMU: return "smmu-v1v2";
	case IOPT_IORT_NODE_SMMUV3: return "smmu-v3";
	case IOPT_IORT_NODE_PMCG: return "pmcg";
	case IOPT_IORT_NODE_RMR: return "rmr";
	default: return "unknown";
	}
}

static void emit_mem(struct out *o, const struct iopt_iort_mem_access *m)
{
	out_obj_begin(o, "memory_access");
	out_u64(o, "cache_coherent", m->cache_coherent);
	out_hex(o, "hints", m->hints);
	out_hex(o, "flags", m->flags);
	out_bool(o, "cpm", m->flags & 1);
	out_bool(o, "dacs", m->flags & 2);
	out_obj_end(o);
}

static void emit_smmuv3(struct out *o, const struct iopt_iort_smmuv3 *s)
{
	out_obj_begin(o, "smmuv3");
	out_hex(o, "base", s->base);
	out_hex(o, "flags", s->flags);
	out_bool(o, "coherent", s->coherent);
	out_u64(o, "httu_override", s->httu_override);
	out_bool(o, "deviceid_valid", s->flags & IOPT_IORT_SMMUV3_F_DEVICEID_VALID);
	out_hex(o, "vatos_base", s->vatos_base);
	out_u64(o, "model", s->model);
	out_u64(o, "event_gsiv", s->event_gsiv);
	out_u64(o, "pri_gsiv", s->pri_gsiv);
	out_u64(o, "gerr_gsiv", s->gerr_gsiv);
	out_u64(o, "sync_gsiv", s->sync_gsiv);
	if (s->has_proximity)
		out_u64(o, "proximity_domain", s->proximity_domain);
	else
		out_null(o, "proximity_domain");
	if (s->id_mapping_index_valid)
		out_u64(o, "id_mapping_index", s->id_mapping_index);
	else
		out_null(o, "id_mapping_index");
	out_obj_end(o);
}

static void emit_specific(struct out *o, const struct iopt_iort_node *n)
{
	switch (n->type) {
	case IOPT_IORT_NODE_ITS_GROUP:
		out_arr_begin(o, "its_ids");
		for (uint32_t i = 0; i < n->u.its.n_its; i++)
			out_u64(o, NULL, n->u.its.its_ids[i]);
		out_arr_end(o);
		break;
	case IOPT_IORT_NODE_NAMED_COMPONENT:
		out_obj_begin(o, "named_component");
		out_hex(o, "node_flags", n->u.named.node_flags);
		emit_mem(o, &n->u.named.mem);
		out_u64(o, "mem_addr_size_limit", n->u.named.mem_addr_size_limit);
		out_str(o, "name", n->u.named.name);
		out_obj_end(o);
		break;
	case IOPT_IORT_NODE_ROOT_COMPLEX:
		out_obj_begin(o, "root_complex");
		emit_mem(o, &n->u.rc.mem);
		out_hex(o, "ats_attribute", n->u.rc.ats_attribute);
		out_bool(o, "ats", n->u.rc.ats_attribute & 1);
		out_u64(o, "segment", n->u.rc.segment);
		out_u64(o, "mem_addr_size_limit", n->u.rc.mem_addr_size_limit);
		out_obj_end(o);
		break;
	case IOPT_IORT_NODE_SMMUV3:
		emit_smmuv3(o, &n->u.smmuv3);
		break;
	default:
		break;
	}
}

static void emit_mappings(struct out *o, const struct iopt_iort_node *n)
{
	out_arr_begin(o, "mappings");
	for (uint32_t i = 0; i < n->n_mappings; i++) {
		const struct iopt_iort_id_mapping *m = &n->mappings[i];

		out_obj_begin(o, NULL);
		out_hex(o, "input_base", m->input_base);
		out_hex(o, "count", m->count);
		out_hex(o, "input_last", m->input_base + m->count - 1);
		out_hex(o, "output_base", m->output_base);
		out_hex(o, "output_ref", m->output_ref);
		out_str(o, "output_type", node_type_str(m->output->type));
		out_u64(o, "output_identifier", m->output->identifier);
		if (m->output->type == IOPT_IORT_NODE_SMMUV3)
			out_hex(o, "output_smmuv3_base", m->output->u.smmuv3.base);
		out_hex(o, "flags", m->flags);
		out_bool(o, "single", m->single);
		out_u64(o, "table_offset", m->table_offset);
		out_obj_end(o);
	}
	out_arr_end(o);
}

/* One RID through the table: SMMUv3 and StreamID, or why not. */
static void emit_rid(struct out *o, const struct iopt_iort *t, uint32_t seg, uint32_t rid)
{
	const struct iopt_iort_node *smmu;
	uint32_t sid;
	int rc = iopt_iort_rid_to_streamid(t, seg, rid, &smmu, &sid);

	out_obj_begin(o, NULL);
	out_u64(o, "segment", seg);
	out_hex(o, "rid", rid);
	out_strf(o, "bdf", "%04x:%02x:%02x.%x", seg, rid >> 8, (rid >> 3) & 31, rid & 7);
	if (rc == 0) {
		out_hex(o, "smmuv3_base", smmu->u.smmuv3.base);
		out_u64(o, "smmuv3_offset", smmu->table_offset);
		out_hex(o, "streamid", sid);
	} else {
		out_null(o, "streamid");
		out_str(o, "error", rc == -ENODEV ? "maps straight to an ITS group (no SMMU)" :
			rc == -ENOENT ? "no mapping covers this RID" :
			rc == -EOPNOTSUPP ? "maps to an SMMUv1/v2 or an unknown node" : strerror(-rc));
	}
	out_obj_end(o);
}

/* Pull "--rid X" and "--segment N" out of argv (the rest goes to ctl_table_load). */
static int take_rid_opts(int *argc, char **argv, uint64_t *rid, uint64_t *seg, bool *have_rid)
{
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		bool is_rid = strcmp(argv[i], "--rid") == 0;

		if (is_rid || strcmp(argv[i], "--segment") == 0) {
			uint64_t v;

			if (i + 1 >= *argc || ctl_parse_u64(argv[i + 1], &v) ||
			    v > (is_rid ? 0xffffu : 0xffffffffu)) {
				ctl_err("iort", "%s needs a number%s", argv[i],
					is_rid ? " 0..0xffff" : "");
				return CTL_EXIT_USAGE;
			}
			*(is_rid ? rid : seg) = v;
			*have_rid |= is_rid;
			i++;
			continue;
		}
		argv[n++] = argv[i];
	}
	*argc = n;
	argv[n] = NULL;
	return 0;
}

static int run_iort(const struct ctl_opts *opts, int argc, char **argv)
{
	struct iopt_iort *t = NULL;
	uint64_t rid = 0, seg = 0;
	bool have_rid = false;
	const char *src;
	uint32_t flags = 0;
	void *buf;
	size_t len;
	struct out o;
	int rc;

	rc = take_rid_opts(&argc, argv, &rid, &seg, &have_rid);
	if (rc == 0)
		rc = ctl_table_load("iort", argc, argv, &src, &flags, &buf, &len);
	if (rc)
		return rc;
	rc = iopt_iort_parse(buf, len, flags, &t);
	if (rc) {
		ctl_err("iort", "%s: not a valid IORT: %s (%d)", src, strerror(-rc), rc);
		ctl_free_table(buf);
		return CTL_EXIT_FAIL;
	}
	out_init(&o, stdout, opts->json);
	out_obj_begin(&o, NULL);
	out_str(&o, "source", src);
	acpi_emit_header(&o, buf, len);
	out_arr_begin(&o, "nodes");
	for (uint32_t i = 0; i < t->n_nodes; i++) {
		const struct iopt_iort_node *n = &t->nodes[i];

		out_obj_begin(&o, NULL);
		out_str(&o, "type", node_type_str(n->type));
		out_u64(&o, "type_code", n->type);
		out_u64(&o, "revision", n->revision);
		out_u64(&o, "identifier", n->identifier);
		out_hex(&o, "table_offset", n->table_offset);
		emit_specific(&o, n);
		emit_mappings(&o, n);
		out_obj_end(&o);
	}
	out_arr_end(&o);
	/* Where the first and last RID of every root complex mapping go. */
	out_arr_begin(&o, "rid_map");
	for (uint32_t i = 0; i < t->n_nodes; i++) {
		const struct iopt_iort_node *n = &t->nodes[i];

		if (n->type != IOPT_IORT_NODE_ROOT_COMPLEX)
			continue;
		for (uint32_t j = 0; j < n->n_mappings; j++) {
			const struct iopt_iort_id_mapping *m = &n->mappings[j];
			uint64_t last = m->input_base + m->count - 1;

			if (m->single || m->input_base > 0xffff)
				continue;
			emit_rid(&o, t, n->u.rc.segment, m->input_base);
			emit_rid(&o, t, n->u.rc.segment, (uint32_t)(last > 0xffff ? 0xffff : last));
		}
	}
	out_arr_end(&o);
	if (have_rid) {
		out_arr_begin(&o, "lookup");
		emit_rid(&o, t, (uint32_t)seg, (uint32_t)rid);
		out_arr_end(&o);
	}
	out_obj_end(&o);
	out_finish(&o);
	iopt_iort_free(t);
	ctl_free_table(buf);
	return CTL_EXIT_OK;
}

const struct ctl_cmd ctl_cmd_iort = {
	.name = "iort",
	.summary = "decode an ACPI IORT table (Arm SMMUv3, root complexes, ID mappings)",
	.usage = "usage: iommuctl iort [--allow-bad-checksum] [--rid RID [--segment N]] FILE|-|SIG\n"
		 "  FILE  a binary table; '-' reads stdin; a signature (IORT) reads\n"
		 "        /sys/firmware/acpi/tables/IORT\n"
		 "  --rid RID      also translate one PCI requester ID (bus << 8 | devfn)\n"
		 "                 to its SMMUv3 and StreamID ('lookup')\n"
		 "  --segment N    PCI segment of --rid (default 0)\n"
		 "Output 'rid_map' shows, for the first and last RID of each root complex\n"
		 "mapping, the SMMUv3 and StreamID it reaches.\n",
	.run = run_iort,
};
