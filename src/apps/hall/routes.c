/* The service hall's route tables (filled in as its pages land). */
#include "apps/hall/hall.h"

const struct route hall_routes[] = {
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

const struct route hall_api_routes[] = {
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

void hall_register(void)
{
}
