#!/usr/bin/env python3
"""Where PostgreSQL's time per POST /token goes (issue 17, docs/PERFORMANCE.md).

Creates a fresh database, migrates it with the server binary (`hasura-auth migrate`),
adds N anonymous users with one session each, then runs variants of the refresh
statement of src/db/refresh_tokens.rs (`refresh`) as a prepared statement, each on its
own tokens, in one backend, and prints the backend's CPU per execution (from
/proc/<pid>/stat, 10 ms ticks: hence many executions) and the WAL it wrote. Commits use
`synchronous_commit = off` here, to measure CPU rather than the disk's flush (the
server keeps PostgreSQL's default, `on`).

    bench/token_sql_cost.py [--server target/release/hasura-auth] [--executions 2000] [--rounds 3]
"""
import argparse, os, re, statistics, subprocess, sys, tempfile, time

PG = os.environ.get("PG_BASE", "postgres://postgres@127.0.0.1:5432")

USER_COLUMNS = """u.id, u.created_at, u.display_name, u.avatar_url, u.locale::text,
 u.email::text, u.phone_number, u.password_hash, u.email_verified, u.phone_number_verified,
 u.default_role, u.is_anonymous, u.disabled, u.active_mfa_type, u.metadata, u.new_email::text,
 u.totp_secret"""


def statement(lock=True, last_seen=True, history=True):
    ctes = [
        "t AS (SELECT r.id, r.user_id FROM auth.refresh_tokens r WHERE r.refresh_token_hash = $1"
        " AND r.type = 'regular' AND r.expires_at > now() LIMIT 1" + (" FOR UPDATE" if lock else "") + ")",
        f"u AS (SELECT {USER_COLUMNS}, ARRAY(SELECT ur.role FROM auth.user_roles ur WHERE ur.user_id = u.id) AS roles,"
        " (NOT u.disabled AND (u.email_verified OR u.is_anonymous OR u.email IS NULL OR NOT true)) AS allowed"
        " FROM auth.users u JOIN t ON t.user_id = u.id)",
        "rot AS (UPDATE auth.refresh_tokens r SET refresh_token_hash = $2,"
        " expires_at = now() + make_interval(secs => 2592000) FROM t, u WHERE r.id = t.id AND u.allowed RETURNING r.id)",
    ]
    if last_seen:
        ctes.append("seen AS (UPDATE auth.users x SET last_seen = now() FROM rot, t WHERE x.id = t.user_id)")
    if history:
        ctes.append("hist AS (INSERT INTO hasura_auth.refresh_token_rotations (previous_hash, refresh_token_id)"
                    " SELECT $1, rot.id FROM rot ON CONFLICT (previous_hash) DO NOTHING)")
    return "WITH " + ", ".join(ctes) + " SELECT t.id, u.*, (SELECT count(*) FROM rot) FROM t JOIN u ON true"


VARIANTS = [
    ("as served (reuse detection on)", statement()),
    ("without the rotation record (reuse detection off)", statement(history=False)),
    ("without last_seen", statement(last_seen=False)),
    ("without FOR UPDATE", statement(lock=False)),
    ("rotation only (no lock, last_seen, record)", statement(False, False, False)),
]


def psql(db, *args, input=None):
    return subprocess.run(["psql", "-X", "-qAt", "-v", "ON_ERROR_STOP=1", f"{PG}/{db}", *args],
                          input=input, capture_output=True, text=True, check=True).stdout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", default="target/release/hasura-auth")
    p.add_argument("--executions", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    db = f"token_sql_cost_{os.getpid()}"
    psql("postgres", "-c", f"CREATE DATABASE {db}")
    try:
        env = dict(os.environ, POSTGRES_CONNECTION=f"{PG}/{db}?sslmode=disable",
                   HASURA_GRAPHQL_JWT_SECRET='{"type":"HS256","key":"token-sql-cost-0123456789abcdef0123456789"}',
                   RUST_LOG="warn")
        subprocess.run([a.server, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        n = a.executions * len(VARIANTS)
        psql(db, input=f"""
            INSERT INTO auth.users (is_anonymous, default_role, locale)
              SELECT true, 'anonymous', 'en' FROM generate_series(1, {n});
            INSERT INTO auth.user_roles (user_id, role) SELECT id, 'anonymous' FROM auth.users;
            INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at)
              SELECT id, encode(sha256(id::text::bytea), 'hex'), now() + interval '30 days' FROM auth.users;
            VACUUM ANALYZE;""")
        results = {name: [] for name, _ in VARIANTS}
        for _ in range(a.rounds):
            tokens = psql(db, "-c", "SELECT refresh_token_hash FROM auth.refresh_tokens ORDER BY id").split()
            for i, (name, sql) in enumerate(VARIANTS):
                mine = tokens[i * a.executions:(i + 1) * a.executions]
                warm, measured = mine[:100], mine[100:]
                with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
                    f.write("SET synchronous_commit = off;\n")
                    f.write(f"PREPARE s(text, text) AS {sql};\n")
                    f.write("SELECT pg_backend_pid() AS pid \\gset\n\\setenv BPID :pid\n")
                    for t in warm:
                        f.write(f"EXECUTE s('{t}', md5(random()::text));\n")
                    f.write("SELECT pg_current_wal_lsn() AS lsn0 \\gset\n")
                    f.write("\\! awk '{print $14+$15}' /proc/$BPID/stat > " + f.name + ".cpu0\n")
                    for t in measured:
                        f.write(f"EXECUTE s('{t}', md5(random()::text));\n")
                    f.write("\\! awk '{print $14+$15}' /proc/$BPID/stat > " + f.name + ".cpu1\n")
                    f.write("SELECT pg_current_wal_lsn() - :'lsn0'::pg_lsn;\n")
                wal = psql(db, "-f", f.name).strip().splitlines()[-1]
                ticks = int(open(f.name + ".cpu1").read()) - int(open(f.name + ".cpu0").read())
                hz = os.sysconf("SC_CLK_TCK")
                results[name].append((ticks / hz * 1e6 / len(measured), float(wal) / len(measured)))
                for suffix in ("", ".cpu0", ".cpu1"):
                    os.unlink(f.name + suffix)
            # Fresh hashes for the next round: every token back to its initial value.
            psql(db, input="""UPDATE auth.refresh_tokens SET refresh_token_hash = encode(sha256(user_id::text::bytea), 'hex');
                              TRUNCATE hasura_auth.refresh_token_rotations; VACUUM ANALYZE;""")
        print(f"| statement variant | PostgreSQL backend CPU µs per execution (median of {a.rounds}) | WAL bytes per execution |")
        print("|---|---:|---:|")
        for name, _ in VARIANTS:
            cpu = statistics.median(r[0] for r in results[name])
            wal = statistics.median(r[1] for r in results[name])
            print(f"| {name} | {cpu:.0f} | {wal:.0f} |")
    finally:
        psql("postgres", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
