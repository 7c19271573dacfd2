/* libFuzzer target: iopt_fdt_smmuv3_find() and RID -> StreamID lookups. */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iopt_fdt_smmu_info *info = NULL;
	const struct iopt_fdt_smmuv3 *smmu;
	volatile size_t sink = 0;
	uint32_t sid;
	int rc;

	g_errors = 0;
	rc = iopt_fdt_smmuv3_find(data, size, &info);
	check_one_line(rc);
	if (rc != 0)
		return 0;
	for (uint32_t i = 0; i < info->n_smmus; i++)
		sink += strlen(info->smmus[i].path) + info->smmus[i].base;
	for (uint32_t i = 0; i < info->n_hosts; i++) {
		const struct iopt_fdt_pci_host *h = &info->hosts[i];

		sink += strlen(h->path);
		for (uint32_t j = 0; j < h->n_maps; j++)
			sink += h->maps[j].smmu ? h->maps[j].smmu->base : 0;
		for (uint32_t rid = 0; rid < 0x10000; rid += 0x0fff)
			(void)iopt_fdt_rid_to_streamid(info, h->domain, rid, &smmu, &sid);
	}
	(void)sink;
	iopt_fdt_smmu_info_free(info);
	return 0;
}
