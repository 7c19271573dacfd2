/*
 * The backend table of iopt_ctx_create() (lib/iopt/main.c), read-only, for
 * iopt's own apps: one list of backend names, and the sim machine each sim
 * backend builds, so that a tool that builds its own sim platform (iommuctl)
 * builds the one the library would.
 */
#ifndef IOPT_INTERNAL_BACKENDS_H
#define IOPT_INTERNAL_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>

#include "iopt_internal/sim_machine.h"

/* Name of backend i in the library's order (sim ones first); NULL past the end. */
const char *backend_name(size_t i);

/* Is name a backend iopt_ctx_create() accepts (its driver may still be absent)? */
bool backend_known(const char *name);

/*
 * The variant the backend passes to its driver (iopt_hw_platform.variant;
 * for VT-d "legacy" and "scalable" force that mode), or NULL (unknown name).
 */
const char *backend_variant(const char *name);

/**
 * The machine sim backend name builds: *out as iopt_ctx_create passes it to
 * sim_machine_create (nr_devs and bus_master filled in).
 * @return 0; -ENOENT (unknown or NULL name, not a sim backend, or out NULL).
 */
int backend_sim_machine(const char *name, struct sim_machine_opts *out);

#endif
