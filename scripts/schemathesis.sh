#!/usr/bin/env bash
# Checks the manager's API against openapi.yaml with schemathesis: a manager on loopback with a
# fresh run directory, a fixed seed and a time budget. Fails on any server error (5xx, a crash)
# and any status code, content type or body the document does not allow.
#
#   scripts/schemathesis.sh [max-seconds]      (default 180; needs `pip install schemathesis`
#                                               and a built .build/debug/dialer-manager)
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-180}"
manager=.build/debug/dialer-manager
run=$(mktemp -d /tmp/dialer-schemathesis.XXXXXX)
cat > "$run/cluster.toml" <<TOML
[cluster]
secret = "schemathesis"
run_directory = "$run"
[manager]
http_address = "127.0.0.1:0"
cluster_address = "127.0.0.1:0"
password_iterations = 1000
[[queue]]
id = "q1"
[[queue]]
id = "q2"
[[queue]]
id = "support"
kind = "inbound"
TOML
"$manager" --config "$run/cluster.toml" --ready-file "$run/ready.json" >"$run/manager.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  [ -s "$run/ready.json" ] && [ -s "$run/admin.token" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$run/manager.log" >&2; echo "the manager exited" >&2; exit 1; }
  sleep 0.1
done
address=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["httpAddress"])' "$run/ready.json")
token=$(cat "$run/admin.token")
api="http://$address/v1"
call() { # method path body: the response body; fails on an error status
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
    ${3:+--data "$3"} "$api/$2"
}
# Data for the operations on one thing, so that they reach more than a 404.
call POST lists '{"id": "l1", "name": "Leads"}' >/dev/null
call POST campaigns '{"id": "c1", "name": "Spring", "list": "l1", "queue": "q1"}' >/dev/null
call POST campaigns/c1/dispositions '{"name": "sale", "kind": "final"}' >/dev/null
contact=$(call POST lists/l1/contacts '{"phone": "+12125550100"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
call POST teams '{"id": "t1", "name": "Blue", "queue_ranking": [{"queue": "q1", "rank": 1}]}' >/dev/null
call POST agents '{"id": "a1", "login": "ann", "name": "Ann", "team": "t1", "password": "correct horse"}' >/dev/null
call POST dnc '{"phone": "+12125550199"}' >/dev/null
webhook=$(call POST webhooks '{"url": "http://127.0.0.1:9/hook", "events": ["disposition"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sS --fail-with-body -H "Authorization: Bearer $token" -H "Content-Type: text/csv" \
  --data-binary $'phone\n+12125550101\n' "$api/lists/l1/imports?wait=true" >/dev/null
cat > "$run/schemathesis.toml" <<TOML
[[operations]]
include-path-regex = "^/v1/(lists|campaigns)/"
parameters = { "path.id" = "l1" }
[[operations]]
include-path-regex = "^/v1/campaigns/"
parameters = { "path.id" = "c1", "path.name" = "sale", "path.phone" = "+12125550199" }
[[operations]]
include-path-regex = "^/v1/agents/"
parameters = { "path.id" = "a1" }
[[operations]]
include-path-regex = "^/v1/teams/"
parameters = { "path.id" = "t1" }
[[operations]]
include-path-regex = "^/v1/contacts/[{]"
parameters = { "path.id" = "$contact" }
[[operations]]
include-path-regex = "^/v1/imports/"
parameters = { "path.job" = 1 }
[[operations]]
include-path-regex = "^/v1/dnc/[{]"
parameters = { "path.phone" = "+12125550199" }
[[operations]]
include-path-regex = "^/v1/webhooks/"
parameters = { "path.id" = "$webhook" }

# The live panel's event stream never ends on its own: the Swift tests cover it.
[[operations]]
include-path-regex = "^/v1/live/events"
enabled = false
# Never the token the run uses.
[[operations]]
include-path-regex = "^/v1/tokens/"
parameters = { "path.id" = 999999 }
TOML
# `st` is where pip put it, on PATH or in this Python's scripts folder.
st=$(command -v st || echo "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/st")
status=0
"$st" --config-file "$run/schemathesis.toml" run openapi.yaml --url "http://$address" --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --seed 20261206 --max-time "$budget" --workers 1 --generation-with-security-parameters false \
  --generation-database none \
  --report junit --report-dir "$run/report" --no-color || status=$?
if ! kill -0 "$pid" 2>/dev/null; then
  echo "the manager died during the run:" >&2
  tail -50 "$run/manager.log" >&2
  status=1
fi
echo "schemathesis: exit $status (files in $run)"
exit "$status"
