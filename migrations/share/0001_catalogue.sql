-- The resource catalogue (政务信息资源目录, GB/T 21063): one row per shared
-- information resource (src/apps/share/catalogue.c).
--
-- code is the resource's 信息资源代码 as used in addresses and the API:
-- "<provider department code>-<5-digit sequence>" ("psb-00001") unless the
-- editor gives another ([a-z0-9-], 3..40).  class_code is the GB/T 21063.4
-- front code (类 1 digit: 1 基础 / 2 主题 / 3 部门, 项 2 digits, 目 3 digits,
-- optional 细目 3 digits); the standard's "front/back" form is shown as
-- class_code || '/' || the row id in 6 digits.
--
-- A resource backed by a registry (registry_code) takes its provider,
-- sharing class, conditions, open flag and information items from the
-- registry definition; the copies here (items, items_text, share, share_cond,
-- open, provider_dept_id) are refreshed whenever reg_version falls behind
-- registries.version, so lists, search and export need not load definitions.
CREATE TABLE share_catalogue (
	id {{pk}},
	code TEXT NOT NULL UNIQUE,
	registry_code TEXT UNIQUE,
	reg_version BIGINT NOT NULL DEFAULT 0,
	class TEXT NOT NULL CHECK (class IN ('basic', 'theme', 'dept')),
	class_code TEXT NOT NULL,
	name TEXT NOT NULL,
	provider_dept_id BIGINT NOT NULL REFERENCES departments (id),
	abstract TEXT NOT NULL,
	format TEXT NOT NULL,
	items TEXT NOT NULL DEFAULT '[]',
	items_text TEXT NOT NULL DEFAULT '',
	share TEXT NOT NULL CHECK (share IN ('unconditional', 'conditional', 'none')),
	share_cond TEXT,
	via_api INTEGER NOT NULL DEFAULT 0,
	via_db INTEGER NOT NULL DEFAULT 0,
	via_file INTEGER NOT NULL DEFAULT 0,
	open INTEGER NOT NULL DEFAULT 0,
	open_cond TEXT,
	update_cycle TEXT NOT NULL,
	released_on TEXT,
	related TEXT NOT NULL DEFAULT '',
	version BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL
);
CREATE INDEX share_catalogue_class ON share_catalogue (class, id);
CREATE INDEX share_catalogue_provider ON share_catalogue (provider_dept_id, id);
CREATE INDEX share_catalogue_share ON share_catalogue (share, id);
