/*
 * The share commands of the CLI (see share.h): dispatch to the file that
 * owns each.
 */
#include "apps/share/share.h"
#include "apps/share/share_int.h"

#include <string.h>

const char share_cli_usage[] =
	"  registry       registries: apply FILE, list, show CODE\n"
	"  import         import CSV or XLSX into a registry (per-row report)\n"
	"  export         export a registry as CSV, JSON or XLSX\n"
	"  compare        compare two registries on a key (数据比对)\n"
	"  demo-data      generate the deterministic demo registries (--persons N --seed S)\n";

int share_cli(const char *cmd, struct store *st, const struct keys *k, const struct conf *c,
	      int argc, char **argv)
{
	if (strcmp(cmd, "registry") == 0)
		return share_cli_registry(st, k, argc, argv);
	if (strcmp(cmd, "import") == 0)
		return share_cli_import(st, k, argc, argv);
	if (strcmp(cmd, "export") == 0)
		return share_cli_export(st, k, argc, argv);
	if (strcmp(cmd, "compare") == 0)
		return share_cli_compare(st, k, argc, argv);
	if (strcmp(cmd, "demo-data") == 0)
		return share_cli_demo_data(st, k, c, argc, argv);
	return -1;
}
