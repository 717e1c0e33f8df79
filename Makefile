# The two commands of the README: `make run` and `make test`. Both install what they need.
.PHONY: deps run test bench proto docs

deps:
	bash scripts/install-deps.sh

run: deps
	postwave serve

test: deps
	bash scripts/test.sh

bench: deps
	python3 benchmarks/e2e.py

proto:
	bash scripts/gen-proto.sh

docs:
	postwave config-docs > docs/configuration.md
