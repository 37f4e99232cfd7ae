.PHONY: run test install bench
install:
	scripts/bootstrap.sh
run:
	scripts/run-dev.sh
test:
	scripts/test.sh
