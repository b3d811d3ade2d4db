/*
 * The share application's registration: every file's route table, jobs and
 * desk providers.
 */
#include "apps/share/share.h"
#include "apps/share/share_int.h"

void share_register(void)
{
	http_add_routes(share_catalogue_routes);
	http_add_routes(share_registry_routes);
	http_add_routes(share_transfer_routes);
	http_add_routes(share_grant_routes);
	http_add_routes(share_token_routes);
	http_add_routes(share_api_routes);
	http_add_routes(share_consent_routes);
	http_add_routes(share_verify_routes);
	http_add_routes(share_compare_routes);
	share_transfer_register();
	share_grant_register();
	share_compare_register();
	share_consent_register();
}
