/*
 * The calling screen (叫号屏) of a hall, /hall/queue/screen?dept=ID:
 * polls the screen API every 2 seconds and updates the numbers in place
 * (no full reload); a window whose number changed or was called again
 * flashes.  Without JavaScript the page refreshes itself every 10 seconds
 * (a meta refresh inside <noscript>).  Progressive enhancement only.
 */
(function () {
	"use strict";
	var root = document.querySelector("[data-screen-api]");
	if (!root || !window.fetch) return;
	var api = root.getAttribute("data-screen-api");
	var live = root.querySelector("[data-live]");
	var failures = 0;

	function flash(el) {
		el.classList.remove("queue-flash");
		void el.offsetWidth;   /* restart the animation */
		el.classList.add("queue-flash");
	}

	function update(s) {
		var body = root.querySelector("[data-queue-windows]");
		(s.windows || []).forEach(function (w) {
			var row = body.querySelector('[data-window="' + String(Number(w.id)) + '"]');
			if (!row) {
				row = document.createElement("tr");
				row.setAttribute("data-window", String(Number(w.id)));
				var th = document.createElement("th");
				th.scope = "row";
				var code = document.createElement("span");
				code.className = "queue-win-code";
				code.textContent = w.code;
				var name = document.createElement("span");
				name.className = "queue-win-name";
				name.textContent = w.name;
				th.appendChild(code);
				th.appendChild(document.createTextNode(" "));
				th.appendChild(name);
				var td = document.createElement("td");
				td.className = "queue-number";
				td.setAttribute("data-number", "");
				row.appendChild(th);
				row.appendChild(td);
				body.appendChild(row);
			}
			var cell = row.querySelector("[data-number]");
			var number = w.number || "—";
			var at = String(w.called_at || 0), calls = String(w.calls || 0);
			var changed = cell.textContent !== number || row.getAttribute("data-called-at") !== at ||
				row.getAttribute("data-calls") !== calls;
			cell.textContent = number;
			row.setAttribute("data-called-at", at);
			row.setAttribute("data-calls", calls);
			if (changed && w.number) {
				flash(row);
				if (live) live.textContent = "请 " + w.number + " 号到 " + w.code + " 窗口";
			}
		});
		var list = root.querySelector("[data-waiting]");
		while (list.firstChild) list.removeChild(list.firstChild);
		(s.waiting || []).forEach(function (n) {
			var li = document.createElement("li");
			li.textContent = n;
			list.appendChild(li);
		});
		var count = root.querySelector("[data-waiting-count]");
		if (count) count.textContent = String(s.waiting_count || 0);
	}

	function poll() {
		if (document.hidden) { setTimeout(poll, 2000); return; }
		fetch(api, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
			.then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
			.then(function (s) { failures = 0; update(s); })
			.catch(function () {
				/* after a minute without answers, fall back to a full reload */
				if (++failures >= 30) window.location.reload();
			})
			.then(function () { setTimeout(poll, 2000); });
	}
	setTimeout(poll, 2000);
}());
