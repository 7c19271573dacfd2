/* libFuzzer target: iopt_iort_parse() and RID -> StreamID lookups. */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct iopt_iort *r)
{
	const struct iopt_iort_node *smmu;
	volatile size_t sink = 0;
	uint32_t sid;

	for (uint32_t i = 0; i < r->n_nodes; i++) {
		const struct iopt_iort_node *n = &r->nodes[i];

		for (uint32_t j = 0; j < n->n_mappings; j++)
			sink += n->mappings[j].output->type;
		if (n->type == IOPT_IORT_NODE_NAMED_COMPONENT)
			sink += strlen(n->u.named.name);
		if (n->type == IOPT_IORT_NODE_ITS_GROUP && n->u.its.n_its)
			sink += n->u.its.its_ids[n->u.its.n_its - 1];
		if (n->type == IOPT_IORT_NODE_ROOT_COMPLEX) {
			for (uint32_t rid = 0; rid < 0x10000; rid += 0x0fff)
				(void)iopt_iort_rid_to_streamid(r, n->u.rc.segment, rid, &smmu, &sid);
		}
	}
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iopt_iort *r = NULL;
	int rc;

	g_errors = 0;
	rc = iopt_iort_parse(data, size, IOPT_FW_F_ALLOW_BAD_CHECKSUM, &r);
	check_one_line(rc);
	if (rc == 0) {
		walk(r);
		iopt_iort_free(r);
	}
	rc = iopt_iort_parse(data, size, 0, &r);
	check_one_line(rc);
	if (rc == 0)
		iopt_iort_free(r);
	return 0;
}
