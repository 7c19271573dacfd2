/* iopt_guest_api_vfio: api.c on the vfio-noiommu backend (see there). */
#define API_VFIO 1
#include "../api/api.c"
