/* libFuzzer target: iopt_dmar_parse() and the scope lookups on its result. */
#include <errno.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every bridge has the next bus as secondary and a few buses below it. */
static int buses(void *arg, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, uint8_t *sec,
		 uint8_t *sub)
{
	if (bus >= 0xf0 || (dev & 1))
		return -ENODEV;
	*sec = (uint8_t)(bus + 1);
	*sub = (uint8_t)(bus + 1 + (fn & 7));
	return 0;
}

static void walk(const struct iopt_dmar *d)
{
	const struct iopt_dmar_drhd *unit;
	volatile size_t sink = 0;

	for (uint32_t i = 0; i < d->n_drhd; i++) {
		for (uint32_t j = 0; j < d->drhd[i].n_scopes; j++) {
			const struct iopt_dmar_scope *s = &d->drhd[i].scopes[j];
			uint16_t bdf;
			int sec, sub;

			for (uint32_t k = 0; k < s->path_len; k++)
				sink += s->path[k].dev + s->path[k].fn;
			(void)iopt_dmar_scope_resolve(s, d->drhd[i].segment, buses, NULL, &bdf,
						      &sec, &sub);
		}
		for (uint32_t bdf = 0; bdf < 0x10000; bdf += 0x0f01)
			(void)iopt_dmar_find_drhd(d, d->drhd[i].segment, (uint16_t)bdf, buses, NULL,
						  &unit);
	}
	for (uint32_t i = 0; i < d->n_rmrr; i++)
		sink += d->rmrr[i].n_scopes ? d->rmrr[i].scopes[d->rmrr[i].n_scopes - 1].path_len : 0;
	for (uint32_t i = 0; i < d->n_atsr; i++)
		sink += d->atsr[i].n_scopes ? d->atsr[i].scopes[0].start_bus : 0;
	for (uint32_t i = 0; i < d->n_satc; i++)
		sink += d->satc[i].n_scopes ? d->satc[i].scopes[0].start_bus : 0;
	for (uint32_t i = 0; i < d->n_rhsa; i++)
		sink += d->rhsa[i].drhd->segment;
	for (uint32_t i = 0; i < d->n_andd; i++)
		sink += strlen(d->andd[i].name);
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iopt_dmar *d = NULL;
	int rc;

	g_errors = 0;
	rc = iopt_dmar_parse(data, size, IOPT_FW_F_ALLOW_BAD_CHECKSUM, &d);
	check_one_line(rc);
	if (rc == 0) {
		walk(d);
		iopt_dmar_free(d);
	}
	rc = iopt_dmar_parse(data, size, 0, &d);
	check_one_line(rc);
	if (rc == 0)
		iopt_dmar_free(d);
	return 0;
}
