-- wrk script of bench/hall.sh: POST one application of 失业保险金申领 (hrss-syj)
-- per request, each with an Idempotency-Key of its own.
--   wrk ... -H "Cookie: yz_sid=…" -H "X-CSRF-Token: …" -s bench/submit.lua URL -- FILE_ID RUN
-- FILE_ID is the material uploaded once (POST /api/v1/files) and named by every
-- application; RUN makes the keys of this run differ from any other run's.
-- Counts the answers by status: done() prints a "status N COUNT" line per status.
local threads = {}
local counter = 1

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	file_id = args[1] or "0"
	run = args[2] or tostring(os.time())
	n = 0
	statuses = {}
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	-- the same applicant each time; a valid 身份证号 (GB 11643 check digit)
	wrk.body = '{"name":"陈小梅","id_number":"440106199001010013","last_employer":"示范市某某公司",' ..
		'"separation_date":"2026-01-15","bank_account":"6217000000000000","phone":"13800138000",' ..
		'"action":"submit","files":{"m1":' .. file_id .. '}}'
end

function request()
	n = n + 1
	wrk.headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, tid, n)
	return wrk.format()
end

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
	local total = {}
	for _, t in ipairs(threads) do
		local s = t:get("statuses")
		if s then
			for code, cnt in pairs(s) do
				total[code] = (total[code] or 0) + cnt
			end
		end
	end
	for code, cnt in pairs(total) do
		io.write(string.format("status %d %d\n", code, cnt))
	end
end
