#include "iopt/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*
 * The level is read on every log call without the lock (a torn read of an
 * int cannot happen; a stale one only delays a level change). The handler
 * and its argument change together under the lock.
 */
static volatile enum iopt_log_level g_level = IOPT_LOG_WARN;
static pthread_mutex_t g_handler_lock = PTHREAD_MUTEX_INITIALIZER;
static iopt_log_fn g_handler;
static void *g_handler_arg;

static const char *const g_level_names[] = {
	[IOPT_LOG_ERROR] = "error", [IOPT_LOG_WARN] = "warn", [IOPT_LOG_NOTICE] = "notice",
	[IOPT_LOG_INFO] = "info",   [IOPT_LOG_DEBUG] = "debug",
};

void iopt_log_set_level(enum iopt_log_level level)
{
	g_level = level > IOPT_LOG_DEBUG ? IOPT_LOG_DEBUG : level;
}

enum iopt_log_level iopt_log_get_level(void)
{
	return g_level;
}

void iopt_log_set_handler(iopt_log_fn fn, void *arg)
{
	pthread_mutex_lock(&g_handler_lock);
	g_handler = fn;
	g_handler_arg = arg;
	pthread_mutex_unlock(&g_handler_lock);
}

int iopt_log_level_parse(const char *name)
{
	for (int i = IOPT_LOG_ERROR; i <= IOPT_LOG_DEBUG; i++)
		if (name != NULL && strcmp(name, g_level_names[i]) == 0)
			return i;
	return -EINVAL;
}

void iopt_vlog(enum iopt_log_level level, const char *module, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (level > g_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';

	pthread_mutex_lock(&g_handler_lock);
	if (g_handler != NULL)
		g_handler(level, module, msg, g_handler_arg);
	else
		fprintf(stderr, "iopt %s %s: %s\n", g_level_names[level], module, msg);
	pthread_mutex_unlock(&g_handler_lock);
}

void iopt_log(enum iopt_log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	iopt_vlog(level, module, fmt, ap);
	va_end(ap);
}
