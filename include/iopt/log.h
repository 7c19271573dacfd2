/**
 * @file
 * iopt's log facility.
 *
 * The library never prints on its own: every message goes through this
 * facility. By default, messages at IOPT_LOG_WARN and more severe are written
 * to stderr; an application may raise or lower the level or install its own
 * handler (to route messages into its own logging, or to capture them in
 * tests). The level and handler are process-wide and may be changed at any
 * time from any thread.
 */
#ifndef IOPT_LOG_H
#define IOPT_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Severity of a log message; lower is more severe. */
enum iopt_log_level {
	IOPT_LOG_ERROR = 0,
	IOPT_LOG_WARN = 1,
	IOPT_LOG_NOTICE = 2,
	IOPT_LOG_INFO = 3,
	IOPT_LOG_DEBUG = 4,
};

/**
 * A log handler: receives every message at or above the current level.
 * @param level   the message's severity
 * @param module  short name of the component that logged ("pgtbl", "env", ...)
 * @param msg     the formatted message, without a trailing newline
 * @param arg     the pointer given to iopt_log_set_handler()
 */
typedef void (*iopt_log_fn)(enum iopt_log_level level, const char *module,
			    const char *msg, void *arg);

/**
 * Set the most verbose level that is delivered.
 * @param level  IOPT_LOG_ERROR ... IOPT_LOG_DEBUG; larger values are clamped
 *               to IOPT_LOG_DEBUG.
 */
void iopt_log_set_level(enum iopt_log_level level);

/** @return the current level. */
enum iopt_log_level iopt_log_get_level(void);

/**
 * Install a handler; NULL restores the default (stderr).
 * @param fn   the handler, or NULL
 * @param arg  passed to every call of fn
 */
void iopt_log_set_handler(iopt_log_fn fn, void *arg);

/**
 * Parse a level name ("error", "warn", "notice", "info", "debug").
 * @return the level, or -EINVAL for an unknown name.
 */
int iopt_log_level_parse(const char *name);

/**
 * Log a message. Used by the library itself; applications may use it too.
 * Messages longer than 1,023 bytes are truncated.
 */
void iopt_log(enum iopt_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** va_list form of iopt_log(). */
void iopt_vlog(enum iopt_log_level level, const char *module, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif

#endif
