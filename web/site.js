/*
 * yizhan — progressive enhancement only.  Every page works without this file.
 *   - registration: show only the fields for the chosen account type
 *   - job page: poll /api/v1/jobs/ID every second and update the progress bar
 *   - error summary: move focus to it so screen readers announce it
 *   - data-confirm buttons: ask before a destructive action
 *   - data-group: group a long secret in blocks of N characters for reading
 */
(function () {
	"use strict";

	function each(sel, fn, root) {
		Array.prototype.forEach.call((root || document).querySelectorAll(sel), fn);
	}

	/* Registration: hide (and disable, so nothing hidden is submitted) the other kind's fields. */
	function initRegister(form) {
		var radios = form.querySelectorAll('input[name="kind"]');
		if (!radios.length)
			return;
		function update() {
			var kind = "citizen";
			Array.prototype.forEach.call(radios, function (r) {
				if (r.checked)
					kind = r.value;
			});
			each(".kind-group[data-kind]", function (g) {
				var on = g.getAttribute("data-kind") === kind;
				g.hidden = !on;
				g.disabled = !on;
			}, form);
		}
		Array.prototype.forEach.call(radios, function (r) {
			r.addEventListener("change", update);
		});
		/* Until the server says which kind was chosen (chosen.kind), infer it
		 * from what was typed, so a re-shown enterprise form keeps its fields. */
		if (!form.hasAttribute("data-kind-known")) {
			var v = function (n) {
				var el = form.elements[n];
				return el && el.value ? el.value : "";
			};
			var ent = form.querySelector('input[name="kind"][value="enterprise"]');
			if (ent && (v("uscc") || v("contact_name")) && !v("id_number"))
				ent.checked = true;
		}
		update();
	}

	/* Job page: poll until finished, then reload to show the result. */
	function initJob(box) {
		var url = box.getAttribute("data-job-poll");
		var bar = box.querySelector("[data-job-progress]");
		var pct = box.querySelector("[data-job-percent]");
		var state = box.querySelector("[data-job-state]");
		var count = box.querySelector("[data-job-count]");
		var failures = 0;
		function tick() {
			fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
				.then(function (res) {
					if (!res.ok)
						throw new Error("HTTP " + res.status);
					return res.json();
				})
				.then(function (j) {
					failures = 0;
					var p = Math.max(0, Math.min(100, j.percent | 0));
					if (bar) {
						bar.value = p;
						bar.textContent = p + "%";
					}
					if (pct)
						pct.textContent = p + "%";
					if (state && j.state_label)
						state.textContent = j.state_label;
					if (count && j.total > 0)
						count.textContent = "已处理 " + j.done + " / " + j.total;
					if (j.finished) {
						window.location.reload();
						return;
					}
					window.setTimeout(tick, 1000);
				})
				.catch(function () {
					/* Keep trying, more slowly; the 刷新 link still works. */
					failures++;
					if (failures < 30)
						window.setTimeout(tick, 3000);
				});
		}
		if (window.fetch)
			window.setTimeout(tick, 1000);
	}

	/* Buttons that change an account: ask first. */
	function initConfirm(btn) {
		var form = btn.form;
		if (!form)
			return;
		form.addEventListener("submit", function (e) {
			if (!window.confirm(btn.getAttribute("data-confirm")))
				e.preventDefault();
		});
	}

	/* "ABCDEFGHIJKL" -> "ABCD EFGH IJKL" (display only; spaces do not matter to apps). */
	function initGroup(el) {
		var n = parseInt(el.getAttribute("data-group"), 10) || 4;
		var s = el.textContent.replace(/\s+/g, "");
		var out = [];
		for (var i = 0; i < s.length; i += n)
			out.push(s.slice(i, i + n));
		el.textContent = out.join(" ");
	}

	function init() {
		each("form[data-register]", initRegister);
		each("[data-job-poll]", initJob);
		each("button[data-confirm]", initConfirm);
		each("[data-group]", initGroup);
		var summary = document.querySelector("[data-error-summary]");
		if (summary)
			summary.focus();
	}

	if (document.readyState === "loading")
		document.addEventListener("DOMContentLoaded", init);
	else
		init();
})();
