/*
 * MMIO handles: mappings of /dev/mem, of files (sysfs BARs, UIO), of file
 * descriptors (VFIO regions), and simulated register blocks.
 */
#define LOG_MODULE "mmio"
#include "iopt_internal/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "iopt/env.h"
#include "iopt_internal/bits.h"
#include "iopt_internal/sim.h"

enum mmio_kind {
	MMIO_KIND_SIM = 1,
	MMIO_KIND_MAPPED = 2,
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Map len bytes at offset of fd; offset is page-aligned. */
static int map_fd(int fd, uint64_t offset, size_t len, struct iopt_mmio **out)
{
	struct iopt_mmio *m;
	void *addr;

	if (len == 0 || !IS_ALIGNED(offset, page_size()) || out == NULL) {
		IOPT_ERRLOG("mmio map: bad range 0x%" PRIx64 "+0x%zx", offset, len);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	size_t map_len = ALIGN_UP(len, page_size());

	addr = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
	if (addr == MAP_FAILED) {
		int err = errno;

		IOPT_ERRLOG("mmio map: mmap of 0x%zx bytes at 0x%" PRIx64 " failed: errno %d", len,
			    offset, err);
		free(m);
		return -err;
	}
	m->base = addr;
	m->len = len;
	m->map_addr = addr;
	m->map_len = map_len;
	m->fd = -1;
	m->kind = MMIO_KIND_MAPPED;
	*out = m;
	return 0;
}

static int map_path(const char *path, uint64_t offset, size_t len, struct iopt_mmio **out)
{
	int fd, rc;

	if (len == 0 || !IS_ALIGNED(offset, page_size())) {
		IOPT_ERRLOG("mmio map: bad range %s 0x%" PRIx64 "+0x%zx", path, offset, len);
		return -EINVAL;
	}
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		IOPT_ERRLOG("mmio map: cannot open %s: errno %d", path, -rc);
		return rc;
	}
	rc = map_fd(fd, offset, len, out);
	close(fd);
	return rc;
}

int iopt_mmio_map_phys(uint64_t pa, size_t len, struct iopt_mmio **out)
{
	if (!IS_ALIGNED(pa, page_size())) {
		IOPT_ERRLOG("mmio map: physical address 0x%" PRIx64 " is not page-aligned", pa);
		return -EINVAL;
	}
	return map_path("/dev/mem", pa, len, out);
}

int iopt_mmio_map_file(const char *path, uint64_t offset, size_t len, struct iopt_mmio **out)
{
	if (path == NULL)
		return -EINVAL;
	return map_path(path, offset, len, out);
}

int iopt_mmio_map_fd(int fd, uint64_t offset, size_t len, struct iopt_mmio **out)
{
	if (fd < 0)
		return -EINVAL;
	return map_fd(fd, offset, len, out);
}

/* A sim handle is the first member of its struct sim_mmio: free(m) frees both. */
void iopt_mmio_unmap(struct iopt_mmio *m)
{
	if (m == NULL)
		return;
	if (m->kind == MMIO_KIND_MAPPED)
		munmap(m->map_addr, m->map_len);
	free(m);
}

/*
 * Sim register blocks: the handle's sim ops point at a bounds-checking
 * shim, which calls the model's ops. An access beyond the block or not
 * naturally aligned is what a bus would drop: reads return all ones.
 */
struct sim_mmio {
	struct iopt_mmio handle;
	const struct iopt_mmio_sim_ops *model;
	void *model_arg;
	uint64_t base_off; /* the handle's offset 0 within the model's block */
};

static bool sim_access_ok(const struct sim_mmio *s, uint64_t off, unsigned int size)
{
	return (size == 4 || size == 8) && IS_ALIGNED(off, size) && off + size <= s->handle.len;
}

static uint64_t sim_read(void *arg, uint64_t off, unsigned int size)
{
	struct sim_mmio *s = arg;

	if (!sim_access_ok(s, off, size)) {
		IOPT_ERRLOG("sim mmio: bad %u-byte read at 0x%" PRIx64, size, off);
		return size == 4 ? 0xffffffffULL : ~0ULL;
	}
	return s->model->read(s->model_arg, s->base_off + off, size);
}

static void sim_write(void *arg, uint64_t off, uint64_t val, unsigned int size)
{
	struct sim_mmio *s = arg;

	if (!sim_access_ok(s, off, size)) {
		IOPT_ERRLOG("sim mmio: bad %u-byte write at 0x%" PRIx64 " dropped", size, off);
		return;
	}
	s->model->write(s->model_arg, s->base_off + off, val, size);
}

static const struct iopt_mmio_sim_ops g_sim_shim = { .read = sim_read, .write = sim_write };

int sim_mmio_create(const struct iopt_mmio_sim_ops *ops, void *arg, size_t len,
		    struct iopt_mmio **out)
{
	return sim_mmio_create_at(ops, arg, 0, len, out);
}

int sim_mmio_create_at(const struct iopt_mmio_sim_ops *ops, void *arg, uint64_t base_off,
		       size_t len, struct iopt_mmio **out)
{
	struct sim_mmio *s;

	if (ops == NULL || ops->read == NULL || ops->write == NULL || len == 0 || out == NULL)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->model = ops;
	s->model_arg = arg;
	s->base_off = base_off;
	s->handle.len = len;
	s->handle.sim = &g_sim_shim;
	s->handle.sim_arg = s;
	s->handle.fd = -1;
	s->handle.kind = MMIO_KIND_SIM;
	*out = &s->handle;
	return 0;
}
