#!/usr/bin/env bash
# validate-deploy.sh checks the deployment files of deploy/ as far as this machine can,
# without a Docker engine or a Kubernetes cluster. `make lint` runs it.
#
#   1. every YAML file parses (python3 with PyYAML: Debian's python3-yaml);
#   2. compose.yaml hangs together: depends_on, secrets, configs and volumes exist, every
#      ${VAR} is in .env.example, every ledger container is read-only without capabilities;
#   3. the Kubernetes manifests hang together: kustomization lists every manifest,
#      selectors match pod labels, Secret and ConfigMap keys exist, every container is
#      non-root, read-only, without capabilities, with requests and limits
#      (and `kubectl kustomize` builds when kubectl is installed);
#   4. every NATS configuration passes `nats-server -t`, the compose file and the one
#      inside the Kubernetes ConfigMap;
#   5. the Dockerfile's Go version is go.mod's, the binaries build the Dockerfile's way
#      (CGO_ENABLED=0, -trimpath) and are static;
#   6. the systemd units pass `systemd-analyze verify` and score at most
#      $SYSTEMD_EXPOSURE_MAX (out of 100) in `systemd-analyze security`;
#   7. every LEDGER_* variable that the deploy files and docs/deploy.md name, and every
#      flag of a ledger command line in them, is one that the built `ledger` accepts.
#
# A missing tool is an error that says what to install, except kubectl (item 3's
# kustomize build is a convenience; the structural checks run without it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
GO=${GO:-go}
# systemd-analyze security's threshold: 20 is an exposure of 2.0, "OK" in its own terms.
SYSTEMD_EXPOSURE_MAX=${SYSTEMD_EXPOSURE_MAX:-20}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok:   $*"; }
need() {
	command -v "$1" >/dev/null 2>&1 || { echo "validate-deploy: $1 not found; install $2" >&2; exit 1; }
}
need python3 "python3"
python3 -c 'import yaml' 2>/dev/null || { echo "validate-deploy: PyYAML missing; apt-get install python3-yaml" >&2; exit 1; }
need nats-server "nats-server (apt-get install nats-server)"
need systemd-analyze "systemd (systemd-analyze)"

# --- 5 (first: later checks use the binary) -------------------------------------------
go_mod_version=$(awk '$1 == "go" { split($2, v, "."); print v[1] "." v[2]; exit }' go.mod)
docker_go_version=$(sed -n 's/^ARG GO_VERSION=\(.*\)$/\1/p' deploy/Dockerfile)
if [[ "$docker_go_version" == "$go_mod_version" ]]; then
	ok "Dockerfile GO_VERSION $docker_go_version matches go.mod"
else
	fail "deploy/Dockerfile ARG GO_VERSION=$docker_go_version, go.mod says go $go_mod_version"
fi
grep -q '^FROM golang:\${GO_VERSION} AS build' deploy/Dockerfile || fail "Dockerfile: the builder must be FROM golang:\${GO_VERSION}"
grep -q '^USER 65532:65532' deploy/Dockerfile || fail "Dockerfile: the final stage must run as USER 65532:65532 (nonroot)"
grep -q '^ENTRYPOINT \["/ledger"\]' deploy/Dockerfile || fail 'Dockerfile: ENTRYPOINT ["/ledger"] expected'
[[ -f deploy/Dockerfile.dockerignore ]] || fail "deploy/Dockerfile.dockerignore missing"
for pkg in ./cmd/ledger ./deploy/probe; do
	bin=$tmp/$(basename "$pkg")
	if CGO_ENABLED=0 "$GO" build -trimpath -ldflags='-s -w -buildid=' -o "$bin" "$pkg"; then
		if "$GO" version -m "$bin" | grep -q 'CGO_ENABLED=0'; then
			ok "$pkg builds static (CGO_ENABLED=0, -trimpath)"
		else
			fail "$pkg: the binary is not a CGO_ENABLED=0 build"
		fi
	else
		fail "$pkg does not build the Dockerfile's way"
	fi
done
ledger=$tmp/ledger

# --- 7 ----------------------------------------------------------------------------------
# The variables and flags the binary knows, from its own help.
known=$tmp/known
{ "$ledger" serve --help 2>&1 || true; "$ledger" migrate --help 2>&1 || true; } >"$known"
deploy_text=$(find deploy -type f ! -path 'deploy/secrets/*' ! -name '*.go' -print0 | xargs -0 cat; cat docs/deploy.md)
for v in $(grep -oE 'LEDGER_[A-Z0-9_]+' <<<"$deploy_text" | sort -u); do
	base=${v%_FILE} # every variable has a _FILE twin that reads its value from a file (cmd/ledger/secure.go)
	if grep -q "\[$v\]" "$known" || grep -q "\[$base\]" "$known" || grep -q "\"$v\"" cmd/ledger/*.go; then :; else
		fail "$v is named in deploy/ or docs/deploy.md but ledger serve/migrate has no such variable"
	fi
done
ok "LEDGER_* variables of deploy/ and docs/deploy.md exist in cmd/ledger"

# --- 1, 2, 3 ------------------------------------------------------------------------------
# The NATS configuration inside the Kubernetes ConfigMap is written out for step 4.
if python3 - "$tmp/nats-k8s.conf" "$known" <<'PY'; then ok "YAML, compose and Kubernetes structure"; else fail "YAML, compose or Kubernetes structure (above)"; fi
import glob, os, re, sys, yaml

errors = []
def err(msg):
    errors.append(msg)
    print("FAIL: " + msg, file=sys.stderr)

docs = {}
for path in sorted(glob.glob("deploy/**/*.y*ml", recursive=True) + glob.glob("deploy/**/.*.y*ml", recursive=True)):
    try:
        with open(path) as f:
            docs[path] = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        err(f"{path}: {e}")

# --- compose
compose = docs.get("deploy/compose.yaml", [None])[0]
if compose is None:
    err("deploy/compose.yaml missing or empty")
else:
    env_example = open("deploy/.env.example").read()
    defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", env_example, re.M))
    for var in set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", open("deploy/compose.yaml").read())):
        if var not in defined:
            err(f"compose.yaml uses ${{{var}}}, which deploy/.env.example does not define")
    services = compose.get("services", {})
    for name, s in services.items():
        deps = s.get("depends_on", {})
        for d, cond in (deps.items() if isinstance(deps, dict) else [(d, None) for d in deps]):
            if d not in services:
                err(f"compose service {name} depends on unknown service {d}")
            elif cond and cond.get("condition") == "service_healthy":
                hc = services[d].get("healthcheck", {})
                if not hc or hc.get("disable"):
                    err(f"compose service {name} waits for {d} to be healthy, but {d} has no healthcheck")
        for kind in ("secrets", "configs"):
            for ref in s.get(kind, []):
                src = ref if isinstance(ref, str) else ref["source"]
                if src not in compose.get(kind, {}):
                    err(f"compose service {name} uses undefined {kind[:-1]} {src}")
        for v in s.get("volumes", []):
            src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
            if src.startswith("."):
                if not os.path.exists(os.path.join("deploy", src)):
                    err(f"compose service {name} mounts missing file {src}")
            elif src and src not in (compose.get("volumes") or {}):
                err(f"compose service {name} uses undefined volume {src}")
        if s.get("image") == "ledger:dev":
            if not s.get("read_only") or s.get("cap_drop") != ["ALL"]:
                err(f"compose service {name}: ledger containers are read_only with cap_drop [ALL]")
            if s.get("restart") != "no" and not s.get("healthcheck"):
                err(f"compose service {name}: a long-running ledger container needs a healthcheck")
    for kind in ("secrets", "configs"):
        for name, d in (compose.get(kind) or {}).items():
            f = d.get("file", "")
            # Secrets are made by the operator (deploy/secrets/ is git-ignored).
            if kind == "configs" and not os.path.exists(os.path.join("deploy", f)):
                err(f"compose {kind[:-1]} {name}: file {f} missing")

# --- Kubernetes
k8s = {p: d for p, d in docs.items() if p.startswith("deploy/k8s/")}
kust = docs.get("deploy/k8s/kustomization.yaml", [{}])[0]
listed = set(kust.get("resources", []))
for p in k8s:
    base = os.path.basename(p)
    if base in ("kustomization.yaml", "secret.example.yaml"):
        continue
    if base not in listed:
        err(f"{p} is not listed in deploy/k8s/kustomization.yaml")
for r in listed:
    if not os.path.exists(os.path.join("deploy/k8s", r)):
        err(f"kustomization.yaml lists missing {r}")

objects = [(p, o) for p, ds in k8s.items() if not p.endswith("kustomization.yaml") for o in ds]
secret_keys, config_keys, pod_labels = {}, {}, []
for p, o in objects:
    for field in ("apiVersion", "kind", "metadata"):
        if field not in o:
            err(f"{p}: an object without {field}")
    kind, name = o.get("kind"), o.get("metadata", {}).get("name")
    if kind == "Secret":
        secret_keys[name] = set(o.get("stringData", {})) | set(o.get("data", {}))
    if kind == "ConfigMap":
        config_keys[name] = set(o.get("data", {}))
        if name == "nats-config":
            open(sys.argv[1], "w").write(o["data"]["nats.conf"])

def pod_spec(o):
    spec = o.get("spec", {})
    if o.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return spec.get("template")

for p, o in objects:
    tpl = pod_spec(o)
    if tpl is None:
        continue
    kind, name = o["kind"], o["metadata"]["name"]
    where = f"{p}: {kind} {name}"
    labels = tpl.get("metadata", {}).get("labels", {})
    pod_labels.append(labels)
    sel = o["spec"].get("selector", {}).get("matchLabels")
    if sel is not None and any(labels.get(k) != v for k, v in sel.items()):
        err(f"{where}: selector {sel} does not match the pod labels {labels}")
    ps = tpl["spec"]
    psc = ps.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        err(f"{where}: pod securityContext needs runAsNonRoot: true and seccompProfile RuntimeDefault")
    volumes = {v["name"] for v in ps.get("volumes", [])}
    volumes |= {c["metadata"]["name"] for c in o["spec"].get("volumeClaimTemplates", [])}
    for c in ps.get("initContainers", []) + ps["containers"]:
        cw = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False \
                or sc.get("capabilities", {}).get("drop") != ["ALL"]:
            err(f"{cw}: needs readOnlyRootFilesystem, no privilege escalation, capabilities drop [ALL]")
        res = c.get("resources", {})
        if not res.get("requests") or not res.get("limits", {}).get("memory"):
            err(f"{cw}: needs resource requests and a memory limit")
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                err(f"{cw}: mounts undefined volume {m['name']}")
        ports = {pt.get("name") for pt in c.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = c.get(probe, {}).get("httpGet", {}).get("port")
            if isinstance(port, str) and port not in ports:
                err(f"{cw}: {probe} uses undefined port {port}")
        refs = [e.get("valueFrom", {}) for e in c.get("env", [])]
        for r in refs:
            if "secretKeyRef" in r:
                s = r["secretKeyRef"]
                if s["key"] not in secret_keys.get(s["name"], set()):
                    err(f"{cw}: Secret {s['name']} has no key {s['key']} (see secret.example.yaml)")
            if "configMapKeyRef" in r:
                s = r["configMapKeyRef"]
                if s["key"] not in config_keys.get(s["name"], set()):
                    err(f"{cw}: ConfigMap {s['name']} has no key {s['key']}")
        for e in c.get("envFrom", []):
            ref = e.get("configMapRef") or e.get("secretRef")
            if ref["name"] not in config_keys and ref["name"] not in secret_keys:
                err(f"{cw}: envFrom unknown {ref['name']}")
    for v in ps.get("volumes", []):
        if "secret" in v and v["secret"]["secretName"] not in secret_keys:
            err(f"{where}: volume {v['name']} uses unknown Secret {v['secret']['secretName']}")
        if "configMap" in v and v["configMap"]["name"] not in config_keys:
            err(f"{where}: volume {v['name']} uses unknown ConfigMap {v['configMap']['name']}")

for p, o in objects:
    if o.get("kind") in ("Service", "PodDisruptionBudget"):
        sel = o["spec"].get("selector", {})
        sel = sel.get("matchLabels", sel) if o["kind"] == "PodDisruptionBudget" else sel
        if sel and not any(all(l.get(k) == v for k, v in sel.items()) for l in pod_labels):
            err(f"{p}: {o['kind']} {o['metadata']['name']} selects no pod template ({sel})")
# --- flags of the ledger commands: compose commands, Kubernetes args, systemd ExecStart
help_text = open(sys.argv[2]).read()
known_flags = set(re.findall(r"^ +-([a-z][a-z-]*)", help_text, re.M))
def check_flags(where, args):
    for a in args:
        m = re.match(r"--?([a-z][a-z-]*)", str(a))
        if m and m.group(1) not in known_flags:
            err(f"{where}: {a} is not a flag of ledger serve or migrate")
if compose:
    for name, s in compose.get("services", {}).items():
        if s.get("image") == "ledger:dev":
            check_flags(f"compose service {name}", s.get("command", []))
for p, o in objects:
    tpl = pod_spec(o)
    for c in (tpl or {}).get("spec", {}).get("containers", []):
        if c.get("image") == "ledger":
            check_flags(f"{p}: container {c['name']}", c.get("command", []) + c.get("args", []))
for unit in glob.glob("deploy/systemd/*.service"):
    for line in open(unit):
        if line.startswith("ExecStart="):
            check_flags(unit, line.split("=", 1)[1].split()[2:])
sys.exit(1 if errors else 0)
PY
if command -v kubectl >/dev/null 2>&1; then
	if kubectl kustomize deploy/k8s >"$tmp/k8s.yaml"; then
		ok "kubectl kustomize deploy/k8s ($(grep -c '^kind:' "$tmp/k8s.yaml") objects)"
	else
		fail "kubectl kustomize deploy/k8s"
	fi
else
	echo "note: kubectl not installed; kustomize build not checked (structure was)"
fi

# --- 4 ------------------------------------------------------------------------------------
# The configurations read $SERVER_NAME / $POD_NAME and $NATS_PASSWORD from the environment.
for conf in deploy/nats/*.conf "$tmp/nats-k8s.conf"; do
	[[ -s "$conf" ]] || { fail "NATS configuration $conf missing"; continue; }
	if out=$(SERVER_NAME=nats-1 POD_NAME=nats-0 NATS_PASSWORD=validate nats-server -t -c "$conf" 2>&1); then
		ok "nats-server -t ${conf/#$tmp\/nats-k8s.conf/deploy\/k8s\/nats.yaml (ConfigMap nats-config)}"
	else
		fail "nats-server -t -c $conf: $out"
	fi
done

# --- 6 ------------------------------------------------------------------------------------
# verify checks that ExecStart exists: point it at the binary built above. A template is
# checked through an instance of it.
mkdir "$tmp/units"
for unit in deploy/systemd/*.service; do
	name=$(basename "$unit")
	[[ "$name" == *@.service ]] && name=${name/@.service/@validate.service}
	sed "s|/usr/local/bin/ledger|$ledger|" "$unit" >"$tmp/units/$name"
	if out=$(cd "$tmp/units" && systemd-analyze verify "./$name" 2>&1) && [[ -z "$out" ]]; then
		ok "systemd-analyze verify $unit"
	else
		fail "systemd-analyze verify $unit: $out"
	fi
	if out=$(cd "$tmp/units" && systemd-analyze security --offline=true --threshold="$SYSTEMD_EXPOSURE_MAX" "./$name" 2>&1); then
		ok "systemd-analyze security $unit: $(grep -o 'exposure level.*' <<<"$out")"
	else
		fail "systemd-analyze security $unit above $SYSTEMD_EXPOSURE_MAX: $(tail -1 <<<"$out")"
	fi
done

if ((failures > 0)); then
	echo "validate-deploy: $failures check(s) failed" >&2
	exit 1
fi
echo "validate-deploy: all checks passed"
