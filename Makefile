# Developer and CI entry points. CI runs .ci/run, which runs `make lint` and `make test`.
#
#   make build          cargo build --workspace --all-targets
#   make crds           regenerate crds/ from the API types, the chart's copy and the API reference
#                       (docs/reference/api.md) (commit the result)
#   make monitoring     copy the alerts and dashboard of manifests/monitoring into the chart and
#                       prometheusrule.yaml (commit the result)
#   make version VERSION=x.y.z
#                       write the version into the crates, Cargo.lock, the chart (version, appVersion:
#                       the image tag), every image reference and a CHANGELOG.md section
#                       (scripts/version.sh; tests/version.rs fails when they differ)
#   make tools          build helm, promtool, crane and cargo-cyclonedx from tools/ (cached in
#                       ~/.cache/outbound-operator)
#   make image          the container image as an archive, and its SBOM, in target/image/ (no
#                       container engine: docs/reference/image.md)
#   make envtest        build kube-apiserver and etcd for the local control plane (cached)
#   make upgrade-from   build the operator at the commit the upgrade test starts from
#                       (scripts/upgrade-from.env; cached per commit in ~/.cache/outbound-operator)
#   make test           plane up, every test suite, plane down (always), exit code of the suites
#   make lint           rustfmt check, clippy and rustdoc (doc links) with warnings as errors
#   make mutants        mutation testing of crates/core and the limiter, classification and fence
#                       (cargo-mutants; hours on 2 cores, not part of CI: docs/testing.md)
#   make demo / demo-down / bench
#   make envtest-up / envtest-down / clean-envtest

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

CARGO ?= cargo

# Suites `make test` runs after `cargo test --workspace --all-targets` (test-cargo), with the control plane up
# and KUBECONFIG exported. Each name is a make target of this file: add a new suite as a target
# and list it here. TEST_EXTRA adds suites from the command line, e.g.
#   make test TEST_EXTRA=test-e2e
# Every suite runs even when an earlier one fails; `make test` fails if any did.
TEST_SUITES := test-doc test-manifests test-chart test-chart-upgrade test-monitoring test-image
TEST_EXTRA ?=

.PHONY: build crds version monitoring tools image envtest upgrade-from test test-cargo test-doc test-manifests test-chart \
	test-chart-upgrade test-monitoring test-image lint mutants demo demo-down bench \
	envtest-up envtest-down clean-envtest clean-envtest-bin

build:
	$(CARGO) build --workspace --all-targets

# Written to a temporary file first, so a failing build never truncates crds/ or the reference.
crds:
	$(CARGO) run -q --bin outbound-operator -- crd > crds/outbound.dev_crds.yaml.tmp
	mv crds/outbound.dev_crds.yaml.tmp crds/outbound.dev_crds.yaml
	$(CARGO) run -q --bin outbound-operator -- crd --reference > docs/reference/api.md.tmp
	mv docs/reference/api.md.tmp docs/reference/api.md
	scripts/sync-monitoring.sh

version:
	@[ -n "$(VERSION)" ] || { echo "usage: make version VERSION=x.y.z (now: $$(scripts/version.sh get))" >&2; exit 2; }
	scripts/version.sh set "$(VERSION)"

monitoring:
	scripts/sync-monitoring.sh

tools:
	scripts/build-go-tool.sh helm >/dev/null
	scripts/build-go-tool.sh promtool >/dev/null
	scripts/build-go-tool.sh crane >/dev/null
	scripts/build-cargo-tool.sh cargo-cyclonedx >/dev/null

image:
	scripts/build-image.sh >/dev/null

envtest:
	scripts/build-envtest.sh >/dev/null

upgrade-from:
	scripts/build-upgrade-from.sh >/dev/null

test:
	@scripts/build-envtest.sh >/dev/null
	@unset OUTBOUND_SKIP_CLUSTER_TESTS; \
	export KSTATUS_BIN=$$(scripts/build-kstatus.sh); \
	upgrade_from=$$(scripts/build-upgrade-from.sh); export OUTBOUND_UPGRADE_FROM_BIN=$$upgrade_from; \
	env_line=$$(scripts/envtest.sh up); eval "$$env_line"; \
	trap 'scripts/envtest.sh down' EXIT; trap 'exit 130' INT TERM; \
	failed=""; \
	for suite in test-cargo $(TEST_SUITES) $(TEST_EXTRA); do \
	  echo "==> make $$suite (KUBECONFIG=$$KUBECONFIG)"; \
	  start=$$(date +%s); \
	  if $(MAKE) --no-print-directory $$suite; then \
	    echo "==> $$suite passed in $$(( $$(date +%s) - start ))s"; \
	  else \
	    echo "==> $$suite FAILED after $$(( $$(date +%s) - start ))s" >&2; failed="$$failed $$suite"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: failed suites:$$failed" >&2; exit 1; fi; \
	echo "make test: all suites passed"

# The suites (also runnable alone once KUBECONFIG points at a plane: eval "$(scripts/envtest.sh up)").
test-cargo:
	$(CARGO) test --workspace --all-targets --no-fail-fast

test-doc:
	$(CARGO) test --workspace --doc

test-manifests:
	scripts/test-manifests.sh

test-chart:
	scripts/test-chart.sh

# On a private plane of its own (started and stopped by the script): the CRDs change under it.
test-chart-upgrade:
	scripts/test-chart-upgrade.sh

test-monitoring:
	scripts/test-monitoring.sh

# Builds the image first (the release build: minutes), then runs it under chroot (needs root).
test-image:
	scripts/test-image.sh

# Every check runs; any failing fails the target.
lint:
	@rc=0; \
	$(CARGO) fmt --all --check || { echo "make lint: cargo fmt --check failed (run cargo fmt)" >&2; rc=1; }; \
	$(CARGO) clippy --workspace --all-targets -- -D warnings || { echo "make lint: clippy failed" >&2; rc=1; }; \
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps -q || { echo "make lint: cargo doc failed (a doc link or tag that no longer matches the code)" >&2; rc=1; }; \
	exit $$rc

# Summary in target/mutants/summary.txt; MUTANTS_ARGS adds cargo-mutants arguments, e.g.
#   make mutants MUTANTS_ARGS="core --file crates/core/src/queue.rs"
MUTANTS_ARGS ?=
mutants:
	scripts/mutants.sh $(MUTANTS_ARGS)

demo:
	scripts/demo.sh

demo-down:
	scripts/demo-down.sh

bench:
	scripts/bench.sh

envtest-up:
	@scripts/envtest.sh up

envtest-down:
	@scripts/envtest.sh down

# Stop the plane and remove its state dir (the built binaries stay cached).
clean-envtest:
	scripts/envtest.sh down
	rm -rf "$${ENVTEST_DIR:-.envtest}"

# Also remove the cached kube-apiserver/etcd binaries (the next `make test` rebuilds them: minutes).
clean-envtest-bin: clean-envtest
	source scripts/envtest-versions.sh && rm -rf "$${ENVTEST_BIN:-$$HOME/.cache/outbound-operator/envtest/$$K8S_VERSION}"
