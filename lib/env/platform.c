/*
 * Where drivers find their hardware: register blocks by physical address
 * and firmware tables by signature. On real backends these are /dev/mem
 * and /sys/firmware/acpi/tables; on sim, what the models registered here
 * (sim_platform_add_*), so that a driver's discovery path is one path.
 *
 * The registrations are lists under env->lock (few entries: one per unit,
 * one per table).
 */
#define LOG_MODULE "env-platform"
#include "iopt_internal/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "env_internal.h"
#include "iopt/firmware.h"
#include "iopt_internal/bits.h"

#define ACPI_HEADER_LEN 36

struct env_sim_block {
	struct env_sim_block *next;
	uint64_t pa;
	size_t len;
	const struct iopt_mmio_sim_ops *ops;
	void *arg;
};

struct env_fw_table {
	struct env_fw_table *next;
	char sig[5];
	size_t len;
	uint8_t *bytes;
};

int sim_platform_add_mmio(struct iopt_env *env, uint64_t pa, size_t len,
			  const struct iopt_mmio_sim_ops *ops, void *arg)
{
	struct env_sim_block *b;

	if (env == NULL || env->kind != IOPT_ENV_MEM_SIM || ops == NULL || len == 0 ||
	    !IS_ALIGNED(pa, 4096) || pa + len < pa)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	b->pa = pa;
	b->len = len;
	b->ops = ops;
	b->arg = arg;
	pthread_rwlock_wrlock(&env->lock);
	for (struct env_sim_block *o = env->blocks; o != NULL; o = o->next) {
		if (pa < o->pa + o->len && o->pa < pa + len) {
			pthread_rwlock_unlock(&env->lock);
			IOPT_ERRLOG("register block 0x%" PRIx64 "+0x%zx overlaps 0x%" PRIx64, pa, len,
				    o->pa);
			free(b);
			return -EEXIST;
		}
	}
	b->next = env->blocks;
	env->blocks = b;
	pthread_rwlock_unlock(&env->lock);
	return 0;
}

int sim_platform_remove_mmio(struct iopt_env *env, uint64_t pa)
{
	struct env_sim_block **link, *b = NULL;

	if (env == NULL)
		return -EINVAL;
	pthread_rwlock_wrlock(&env->lock);
	for (link = &env->blocks; *link != NULL; link = &(*link)->next) {
		if ((*link)->pa == pa) {
			b = *link;
			*link = b->next;
			break;
		}
	}
	pthread_rwlock_unlock(&env->lock);
	free(b);
	return b != NULL ? 0 : -ENOENT;
}

static bool sig_ok(const char *sig)
{
	return sig != NULL && strlen(sig) == 4;
}

int sim_platform_add_fw_table(struct iopt_env *env, const char *sig, const void *table,
			      size_t len)
{
	struct env_fw_table *t, **link;

	if (env == NULL || env->kind != IOPT_ENV_MEM_SIM || !sig_ok(sig) || table == NULL ||
	    len < ACPI_HEADER_LEN) {
		IOPT_ERRLOG("add fw table: not a sim environment, or a bad signature or table"
			    " (%zu bytes)", len);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->bytes = malloc(len);
	if (t->bytes == NULL) {
		free(t);
		return -ENOMEM;
	}
	memcpy(t->bytes, table, len);
	memcpy(t->sig, sig, 5);
	t->len = len;
	pthread_rwlock_wrlock(&env->lock);
	for (link = &env->fw_tables; *link != NULL; link = &(*link)->next) {
		if (memcmp((*link)->sig, sig, 4) == 0) {
			struct env_fw_table *old = *link;

			t->next = old->next;
			*link = t;
			pthread_rwlock_unlock(&env->lock);
			free(old->bytes);
			free(old);
			return 0;
		}
	}
	t->next = env->fw_tables;
	env->fw_tables = t;
	pthread_rwlock_unlock(&env->lock);
	return 0;
}

void env_platform_fini(struct iopt_env *env)
{
	while (env->blocks != NULL) {
		struct env_sim_block *b = env->blocks;

		env->blocks = b->next;
		free(b);
	}
	while (env->fw_tables != NULL) {
		struct env_fw_table *t = env->fw_tables;

		env->fw_tables = t->next;
		free(t->bytes);
		free(t);
	}
}

int iopt_env_mmio_map(struct iopt_env *env, uint64_t pa, size_t len, struct iopt_mmio **out)
{
	int rc = -ENODEV;

	if (env == NULL || out == NULL || len == 0 || !IS_ALIGNED(pa, 4096) || pa + len < pa) {
		IOPT_ERRLOG("mmio map: bad range 0x%" PRIx64 "+0x%zx", pa, len);
		return -EINVAL;
	}
	if (env->kind != IOPT_ENV_MEM_SIM)
		return iopt_mmio_map_phys(pa, len, out);
	pthread_rwlock_rdlock(&env->lock);
	for (struct env_sim_block *b = env->blocks; b != NULL; b = b->next) {
		if (pa >= b->pa && pa + len <= b->pa + b->len) {
			rc = sim_mmio_create_at(b->ops, b->arg, pa - b->pa, len, out);
			break;
		}
	}
	pthread_rwlock_unlock(&env->lock);
	if (rc == -ENODEV)
		IOPT_ERRLOG("mmio map: no simulated registers at 0x%" PRIx64 "+0x%zx", pa, len);
	return rc;
}

int iopt_env_fw_table(struct iopt_env *env, const char *sig, void **buf, size_t *len)
{
	int rc = -ENOENT;

	if (env == NULL || !sig_ok(sig) || buf == NULL || len == NULL) {
		IOPT_ERRLOG("fw table: NULL argument or a signature that is not 4 characters");
		return -EINVAL;
	}
	if (env->kind != IOPT_ENV_MEM_SIM)
		return iopt_acpi_table_read(sig, buf, len);
	pthread_rwlock_rdlock(&env->lock);
	for (struct env_fw_table *t = env->fw_tables; t != NULL; t = t->next) {
		if (memcmp(t->sig, sig, 4) != 0)
			continue;
		*buf = malloc(t->len);
		rc = -ENOMEM;
		if (*buf != NULL) {
			memcpy(*buf, t->bytes, t->len);
			*len = t->len;
			rc = 0;
		}
		break;
	}
	pthread_rwlock_unlock(&env->lock);
	if (rc == -ENOENT)
		IOPT_INFOLOG("no %s table on this sim platform", sig);
	return rc;
}

void iopt_env_fw_table_free(void *buf)
{
	free(buf);
}
