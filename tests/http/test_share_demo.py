"""The deterministic demo city: `yizhan demo-data --csv` writes one CSV per registry with the
expected row counts, valid identifiers, unique keys and exactly the planted discrepancies (counted
here from the files), byte-identical for the same seed; the demo server's registries hold the
city of YIZHAN_DEMO_PERSONS=2000 persons with the demo accounts' fixed records; the command
refuses to write into registries that hold records, and refuses bad arguments."""
import csv
import hashlib
import os
import re
import shutil
import tempfile

from harness import check, eq, idcard_check, orgcode_check, private_server, shared, uscc_check

REGISTRIES = ["population", "enterprise", "housing", "vehicle", "deposit", "pfund"]
HEADERS = {
    "population": ["id_no", "name", "sex", "birth_date", "address", "phone", "household_no"],
    "enterprise": ["uscc", "name", "legal_rep_id", "legal_rep_name", "reg_capital", "est_date", "address",
                   "status"],
    "housing": ["cert_no", "owner_id", "address", "area", "usage", "reg_date"],
    "vehicle": ["plate_no", "owner_id", "vin", "brand", "reg_date"],
    "deposit": ["account_no", "owner_id", "bank", "open_date", "balance"],
    "pfund": ["account_no", "owner_id", "open_date", "balance", "status"],
}
KEYS = {"population": "id_no", "enterprise": "uscc", "housing": "cert_no", "vehicle": "plate_no",
        "deposit": "account_no", "pfund": "account_no"}
CHEN_ID = "440106199005171236"       # src/apps/portal/demo.c: 44010619900517123 + check
HUAXIN = "91440106MA5D7K3Q2X"        # src/apps/portal/demo.c demo_uscc


def valid_idcard(s):
    return len(s) == 18 and s[:17].isdigit() and idcard_check(s[:17]) == s[17]


def valid_uscc(s):
    return len(s) == 18 and orgcode_check(s[8:16]) == s[16] and uscc_check(s[:17]) == s[17]


def generate(srv, persons, seed):
    """Runs demo-data --csv into a new folder; returns (folder, stdout)."""
    d = tempfile.mkdtemp(prefix="yizhan-demo-csv-")
    rc, out, err = srv.cli("demo-data", "--persons", str(persons), "--seed", str(seed), "--csv", d, timeout=300)
    eq(rc, 0, "demo-data --csv exit status (stderr: %s)" % err[-500:])
    return d, out


def read(d, name):
    with open(os.path.join(d, name + ".csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    eq(rows[0], HEADERS[name], "%s.csv header" % name)
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def printed(out, name):
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return int(parts[1])
    raise AssertionError("no count for %s in %r" % (name, out))


def digest(d):
    h = hashlib.sha256()
    for name in REGISTRIES:
        with open(os.path.join(d, name + ".csv"), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def test_csv_counts_identifiers_and_planted():
    srv = shared()
    d, out = generate(srv, 3000, 11)
    try:
        data = {name: read(d, name) for name in REGISTRIES}
        eq(len(data["population"]), 3000, "population rows")
        eq(len(data["enterprise"]), 3000 // 12, "enterprise rows")
        for name in REGISTRIES:
            eq(len(data[name]), printed(out, name), "%s rows as printed" % name)
            keys = [r[KEYS[name]] for r in data[name]]
            eq(len(set(keys)), len(keys), "%s keys unique" % name)
        check(len(data["deposit"]) > len(data["vehicle"]) > 0 and len(data["housing"]) > 0
              and len(data["pfund"]) > 0, "every registry has records")
        people = {}
        for p in data["population"]:
            check(valid_idcard(p["id_no"]), "valid 身份证号 %s" % p["id_no"])
            eq(p["sex"], "男" if int(p["id_no"][16]) % 2 else "女", "sex of %s from its 17th digit" % p["id_no"])
            eq(p["birth_date"].replace("-", ""), p["id_no"][6:14], "birth date of %s" % p["id_no"])
            people[p["id_no"]] = p["name"]
        for name in ("housing", "vehicle", "deposit", "pfund"):
            for r in data[name]:
                check(r["owner_id"] in people, "%s owner %s is a person" % (name, r["owner_id"]))
        missing = differs = 0
        for e in data["enterprise"]:
            check(valid_uscc(e["uscc"]), "valid 统一社会信用代码 %s" % e["uscc"])
            check(valid_idcard(e["legal_rep_id"]), "valid legal_rep_id %s" % e["legal_rep_id"])
            if e["legal_rep_id"] not in people:
                missing += 1
            elif people[e["legal_rep_id"]] != e["legal_rep_name"]:
                differs += 1
        eq(missing, max(1, 3000 // 2000), "legal representatives missing from population")
        eq(differs, max(1, 3000 // 1000), "legal representatives' names that differ")
        m1 = re.search(r"not in population\s+(\d+)", out)
        m2 = re.search(r"legal_rep_name differs\s+(\d+)", out)
        check(m1 and m2 and (int(m1.group(1)), int(m2.group(1))) == (missing, differs),
              "planted counts printed: %r" % out)
        # The same seed gives the same bytes; another seed other bytes.
        d2, _ = generate(srv, 3000, 11)
        d3, _ = generate(srv, 3000, 12)
        try:
            eq(digest(d2), digest(d), "same persons and seed: identical files")
            check(digest(d3) != digest(d), "another seed: other files")
        finally:
            shutil.rmtree(d2, ignore_errors=True)
            shutil.rmtree(d3, ignore_errors=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_demo_server_city():
    srv = shared()
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_population")), 2000, "population of the demo city")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_enterprise")), 2000 // 12, "enterprises")
    eq(srv.sql_value("SELECT name FROM reg_population WHERE id_no = ?", (CHEN_ID,)), "陈小梅", "chen")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_housing WHERE owner_id = ?", (CHEN_ID,))), 1, "chen's housing")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_vehicle WHERE owner_id = ?", (CHEN_ID,))), 0, "chen's vehicles")
    # decimal(2) is stored as an integer count of cents
    eq(int(srv.sql_value("SELECT SUM(balance) FROM reg_deposit WHERE owner_id = ?", (CHEN_ID,))), 1200000,
       "chen's deposits: 12000.00")
    eq(int(srv.sql_value("SELECT SUM(balance) FROM reg_pfund WHERE owner_id = ?", (CHEN_ID,))), 850000,
       "chen's provident fund: 8500.00")
    rep = srv.sql("SELECT legal_rep_id, legal_rep_name FROM reg_enterprise WHERE uscc = ?", (HUAXIN,))
    eq(len(rep), 1, "huaxin in the enterprise registry")
    eq(srv.sql_value("SELECT name FROM reg_population WHERE id_no = ?", (rep[0][0],)), rep[0][1],
       "huaxin's legal representative as in population")
    eq(srv.sql_value("SELECT DISTINCT _created_src FROM reg_population"), "demo-data:2026", "source of the records")
    # Exactly the planted discrepancies for 2000 persons: 1 missing, 2 names.
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_enterprise e WHERE NOT EXISTS "
                         "(SELECT 1 FROM reg_population p WHERE p.id_no = e.legal_rep_id)")), 1,
       "legal representatives missing from population")
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_enterprise e JOIN reg_population p "
                         "ON p.id_no = e.legal_rep_id WHERE p.name <> e.legal_rep_name")), 2,
       "legal representatives' names that differ")
    check(int(srv.sql_value("SELECT COUNT(*) FROM audit_log WHERE action = 'registry.demo_data'")) >= 6,
          "the writes are audited")


def test_refuses_filled_registries_and_bad_arguments():
    srv = shared()
    before = int(srv.sql_value("SELECT COUNT(*) FROM reg_population"))
    rc, out, err = srv.cli("demo-data", "--persons", "100", "--seed", "1")
    eq(rc, 1, "demo-data into filled registries")
    check("already hold" in err, "the reason is given: %r" % err)
    eq(int(srv.sql_value("SELECT COUNT(*) FROM reg_population")), before, "nothing written")
    for args in (["--persons", "99"], ["--persons", "abc"], ["--persons", "10000001"], ["--seed", "-1"],
                 ["--bogus"], ["--persons"]):
        rc, out, err = srv.cli("demo-data", *args)
        eq(rc, 2, "demo-data %s" % " ".join(args))
        check("demo-data" in err, "a message for %s: %r" % (args, err))
    rc, out, err = srv.cli("demo-data", "--help")
    eq(rc, 0, "demo-data --help")
    check("--persons" in out and "--seed" in out and "--csv" in out, "usage: %r" % out)


def test_cli_into_store():
    """Into an empty store (no demo): refused while the owning departments are missing, then the
    definitions are applied and the records written, the same ones --csv writes for that seed."""
    with private_server(demo=False) as srv:
        rc, out, err = srv.cli("demo-data", "--persons", "500", "--seed", "3")
        eq(rc, 1, "demo-data without the departments")
        check("psb" in err, "the missing department is named: %r" % err)
        for code, name in (("psb", "公安局"), ("amr", "市场监督管理局"), ("nr", "自然资源和规划局"),
                           ("fin", "地方金融管理局"), ("hpf", "住房公积金管理中心")):
            rc, out, err = srv.cli("dept", "add", "--code", code, "--name", name, "--level", "city")
            eq(rc, 0, "dept add %s (%s)" % (code, err[-300:]))
        rc, out, err = srv.cli("demo-data", "--persons", "500", "--seed", "3")
        eq(rc, 0, "demo-data into the store (stderr: %s)" % err[-500:])
        d, csv_out = generate(srv, 500, 3)
        try:
            for name in REGISTRIES:
                n = int(srv.sql_value("SELECT COUNT(*) FROM reg_%s" % name))
                eq(n, printed(out, name), "%s records as printed" % name)
                eq(n, printed(csv_out, name), "%s records as in the CSV" % name)
            ids = sorted(r[0] for r in srv.sql("SELECT id_no FROM reg_population"))
            eq(ids, sorted(r["id_no"] for r in read(d, "population")), "the same persons")
            names = dict(srv.sql("SELECT uscc, legal_rep_name FROM reg_enterprise"))
            eq(names, {r["uscc"]: r["legal_rep_name"] for r in read(d, "enterprise")}, "the same enterprises")
        finally:
            shutil.rmtree(d, ignore_errors=True)
        rc, out, err = srv.cli("demo-data", "--persons", "500", "--seed", "3")
        eq(rc, 1, "a second run is refused")
