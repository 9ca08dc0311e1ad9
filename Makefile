# kvcore's everyday commands. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
# A fresh Debian/Ubuntu marks its Python as externally managed (PEP 668): let pip
# install there too (no effect elsewhere).
export PIP_BREAK_SYSTEM_PACKAGES := 1

.PHONY: serve test test-long test-engines test-grpc test-frontend lint bench protos

serve:  ## install kvcore and start a node on the embedded default config
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[fast]'
	kvcore serve --config configs/single.yaml

test:  ## install what the tests need (pip extras, Debian's etcd) and run them
	./scripts/install-test-deps.sh
	ruff check .
	$(PYTHON) -m pytest -q -m "not slow"

test-long:  ## the soak runs: many more raft simulation seeds, long fault tests
	KVCORE_RAFT_SEEDS=100000 $(PYTHON) -m pytest -q -m "slow or not slow" tests/raft

test-engines:  ## the whole-node suites once per engine (memory, lmdb, rocksdb)
	for engine in memory lmdb rocksdb; do \
		KVCORE_TEST_ENGINE=$$engine $(PYTHON) -m pytest -q tests/integration tests/differential tests/cluster || exit 1; \
	done

test-grpc:  ## the client-facing suites with clients served by grpc.aio (the grpc transport)
	KVCORE_TEST_CLIENT_TRANSPORT=grpc $(PYTHON) -m pytest -q tests/integration \
		tests/differential tests/auth tests/watch tests/lease tests/maintenance tests/recipes \
		tests/http tests/cluster

test-frontend:  ## the client-facing suites with gRPC served by 2 worker processes
	KVCORE_TEST_CLIENT_TRANSPORT=grpc KVCORE_TEST_FRONTEND=2 $(PYTHON) -m pytest -q tests/integration tests/differential \
		tests/auth tests/watch tests/lease tests/maintenance tests/recipes

lint:
	ruff check .

bench:  ## kvcore beside real etcd and a bare gRPC echo server (see bench/README.md)
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[bench]'
	$(PYTHON) -m bench.run

protos:  ## regenerate kvcore/api from its .proto files
	$(PYTHON) tools/gen_protos.py
