# The two commands of the README: `make run` and `make test`. Both install what they need.
.PHONY: deps run test bench bench-native proto docs up down

deps:
	bash scripts/install-deps.sh

run: deps
	postwave serve

test: deps
	bash scripts/test.sh

# The end-to-end suite (rates, scaling, Postfix + OpenDKIM); results in benchmarks/results/.
bench: deps
	python3 benchmarks/run_all.py --full

# Compiled hot path vs its twins and the alternatives; prints the ratio table of issue 3.
bench-native: deps
	python3 -m pytest benchmarks/bench_native.py -p no:cacheprovider -q --benchmark-columns=min,median,rounds

proto:
	bash scripts/gen-proto.sh

docs:
	postwave config-docs > docs/configuration.md

# A local distributed cluster (NATS, Cassandra, one process per role; logs in var/dev/).
up: deps
	bash scripts/dev-cluster up

down:
	bash scripts/dev-cluster down
