/*
 * Logging shorthands for library code. A source file defines LOG_MODULE
 * before including this header:
 *
 *   #define LOG_MODULE "pgtbl"
 *   #include "iopt_internal/log.h"
 *   ...
 *   IOPT_ERRLOG("iova 0x%" PRIx64 " is not aligned to 0x%zx", iova, pgsize);
 */
#ifndef IOPT_INTERNAL_LOG_H
#define IOPT_INTERNAL_LOG_H

#include "iopt/log.h"

#ifndef LOG_MODULE
#error "define LOG_MODULE before including iopt_internal/log.h"
#endif

#define IOPT_ERRLOG(...) iopt_log(IOPT_LOG_ERROR, LOG_MODULE, __VA_ARGS__)
#define IOPT_WARNLOG(...) iopt_log(IOPT_LOG_WARN, LOG_MODULE, __VA_ARGS__)
#define IOPT_NOTICELOG(...) iopt_log(IOPT_LOG_NOTICE, LOG_MODULE, __VA_ARGS__)
#define IOPT_INFOLOG(...) iopt_log(IOPT_LOG_INFO, LOG_MODULE, __VA_ARGS__)
#define IOPT_DEBUGLOG(...)                                             \
	do {                                                           \
		if (iopt_log_get_level() >= IOPT_LOG_DEBUG)            \
			iopt_log(IOPT_LOG_DEBUG, LOG_MODULE, __VA_ARGS__); \
	} while (0)

#endif
