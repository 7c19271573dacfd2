#include "iommuctl.h"
static int nyi(const struct ctl_opts *o, int argc, char **argv) { (void)o; (void)argc; (void)argv; return 4; }
const struct ctl_cmd ctl_cmd_walk = { "walk", "x", "x", nyi };
int sim_setup_demo(struct ctl_plat *p, struct sim_setup **out) { (void)p; (void)out; return -1; }
void sim_setup_free(struct ctl_plat *p, struct sim_setup *s) { (void)p; (void)s; }
