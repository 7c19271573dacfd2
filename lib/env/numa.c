/* NUMA topology through libnuma, when the build has it. */
#include "iopt/env.h"

#ifdef IOPT_HAVE_NUMA
#include <numa.h>
#endif

int iopt_env_numa_nodes(void)
{
#ifdef IOPT_HAVE_NUMA
	if (numa_available() >= 0)
		return numa_max_node() + 1;
#endif
	return 1;
}
