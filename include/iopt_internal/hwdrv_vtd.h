/*
 * The Intel VT-d polled-mode driver (lib/hwdrv/vtd) as the object model and
 * the sim backends see it: one ops table behind the seam
 * (iopt_internal/hw_ops.h). The platform's env must carry a DMAR table
 * (iopt_env_fw_table) whose DRHD register bases iopt_env_mmio_map() can map;
 * plat->variant "legacy" forces legacy mode, "scalable" requires scalable
 * mode, anything else (or NULL) lets the driver choose (scalable when the
 * unit has it).
 */
#ifndef IOPT_INTERNAL_HWDRV_VTD_H
#define IOPT_INTERNAL_HWDRV_VTD_H

#include "iopt_internal/hw_ops.h"

extern const struct iopt_hw_ops vtd_hw_ops;

#endif
