# cwstream. The two commands a newcomer needs: `make run` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
LAMBDA    := build/lambda
DEMOAPP   := build/demoapp/demoapp
ADOTCHECK := build/adotcheck
PROM_PORT ?= 9090
PROM_URL  := http://127.0.0.1:$(PROM_PORT)
FUZZTIME  ?= 10s
# make fuzz: the long runs (make fuzz FUZZTIME=1h overrides it).
LONG_FUZZTIME := $(if $(filter command line environment,$(origin FUZZTIME)),$(FUZZTIME),10m)
ENV       ?= dev
# The CDK app's packages are tested apart, without the race detector: their
# work happens in the jsii node process, and instrumenting the generated CDK
# bindings costs minutes. (go.mod ignores node_modules, so ./... also works.)
GOPKGS    := ./cmd/... ./internal/... ./lambda/...
INFRAPKGS := ./infra/...
# Sample payloads `make run` sends through the real Lambda handler.
RUN_PAYLOADS := testdata/payloads/event.json testdata/payloads/processing-failed.jsonl \
	testdata/payloads/ecs.bin testdata/payloads/rds.bin testdata/payloads/alb.bin testdata/payloads/multi.bin

export CDK_DISABLE_CLI_TELEMETRY := true
export NPM_CONFIG_UPDATE_NOTIFIER := false
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build the cwstream CLI into bin/
	@# The first build compiles the AWS SDK, Prometheus and OpenTelemetry
	@# packages: minutes on a cold machine, with no output of its own.
	@if [ -x $(BIN)/cwstream ]; then echo "building $(BIN)/cwstream ($$($(GO) env GOVERSION))"; \
	  else echo "building $(BIN)/cwstream ($$($(GO) env GOVERSION)); the first build compiles the AWS SDK, Prometheus and OpenTelemetry packages and can take a few minutes"; fi
	@# -buildvcs=auto: stamp the commit for `cwstream version` where there is a checkout, even if GOFLAGS turns it off.
	$(GO) build -trimpath -buildvcs=auto -o $(BIN)/cwstream ./cmd/cwstream
	@echo "built $$($(BIN)/cwstream version)"

.PHONY: lambda
lambda: ## build the Lambda bootstraps (provided.al2023, arm64) into build/lambda/, and the ECS demo app
	for fn in ingest grafana; do \
	  [ -d lambda/$$fn ] || continue; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
	    -o $(LAMBDA)/$$fn/bootstrap ./lambda/$$fn; \
	  echo "built $(LAMBDA)/$$fn/bootstrap ($$(du -h $(LAMBDA)/$$fn/bootstrap | cut -f1))"; \
	done
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(DEMOAPP) ./cmd/demoapp
	@echo "built $(DEMOAPP) ($$(du -h $(DEMOAPP) | cut -f1))"

.PHONY: adotcheck
adotcheck: ## vet and build the collector that validates and runs the ADOT sidecar configuration (tools/adotcheck), only when its inputs changed
	GO=$(GO) scripts/adotcheck.sh

.PHONY: run
run: build ## the main job, locally: sample payloads through the real Lambda handler into a local Prometheus
	@echo "starting Prometheus on $(PROM_URL), then replaying $(words $(RUN_PAYLOADS)) sample payloads into it"
	scripts/prometheus.sh start
	$(BIN)/cwstream replay --to $(PROM_URL)/api/v1/write \
	  --query 'sum by (dimension_LoadBalancer) (aws_applicationelb_request_count_sum)' $(RUN_PAYLOADS)
	@echo
	@echo "Prometheus UI: $(PROM_URL)/graph?g0.expr=aws_rds_cpuutilization_average&g0.tab=1&g0.moment_input=2024-03-12%2010%3A17%3A00"
	@echo "(the sample payloads hold 2024-03-12 10:16-10:17 UTC; 'make stop' stops Prometheus)"

.PHONY: stop
stop: ## stop the local Prometheus that `make run` started
	scripts/prometheus.sh stop

.PHONY: dryrun
dryrun: build ## print the cardinality summary of the sample payloads
	$(BIN)/cwstream dryrun --summary $(RUN_PAYLOADS)

.PHONY: test
# Each step of `make test` prints its wall and CPU time (scripts/timed.sh).
TIMED := scripts/timed.sh

test: ## every test: unit, golden, real Prometheus, the ADOT collector, fuzz (briefly), CDK synth + cfn-lint + cfn-guard (Control Tower)
	$(TIMED) "gofmt and go vet" $(MAKE) --no-print-directory lint
	$(TIMED) "lambda binaries" $(MAKE) --no-print-directory lambda
	$(TIMED) "adotcheck (built when its inputs changed)" $(MAKE) --no-print-directory adotcheck
	$(TIMED) "go test -race (cmd, internal, lambda)" $(GO) test -race -count=1 $(GOPKGS)
	$(TIMED) "go test (infra)" $(GO) test -count=1 $(INFRAPKGS)
	$(TIMED) "go test (tools/otlp07gen)" bash -c 'cd tools/otlp07gen && $(GO) test -count=1 ./...'
	$(TIMED) "fuzz ($(FUZZTIME) a target)" env FUZZTIME=$(FUZZTIME) scripts/fuzz.sh
	$(TIMED) "synth check (cdk synth, cfn-lint, cfn-guard)" bash infra/check-synth.sh

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOPKGS) $(INFRAPKGS)
	cd tools/otlp07gen && $(GO) vet ./...
	@echo "(tools/adotcheck is vetted when it is built: make adotcheck)"

.PHONY: fuzz
fuzz: ## fuzz every target for long (FUZZTIME, default 10m each); new corpus entries kept under testdata/fuzz
	FUZZTIME=$(LONG_FUZZTIME) FUZZMINIMIZETIME=10s FUZZKEEP=1 scripts/fuzz.sh

.PHONY: bench
bench: ## benchmarks of the hot paths (decode, name, relabel, encode, handler)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./internal/...

# make bench-e2e BENCH_E2E='-updates 200000 -runs 3 -cpuprofile /tmp/prof' passes flags.
BENCH_E2E ?=
.PHONY: bench-e2e
bench-e2e: build ## replay generated 200,000- and 700,000-update objects with bin/cwstream against a loopback sink: CPU beside the floor, ratio, peak RSS
	$(GO) run ./cmd/benche2e -bin $(BIN)/cwstream $(BENCH_E2E)

.PHONY: fixtures
fixtures: ## regenerate testdata/payloads with the official OTel 0.7 types
	cd tools/otlp07gen && $(GO) run . -out ../../testdata/payloads

.PHONY: golden
golden: ## rewrite every golden file (samples, dashboards, rules, envelope) after a reviewed change
	$(GO) test -count=1 $$(grep -rl --include='*_test.go' 'testutil.Golden(' cmd internal | xargs -n1 dirname | sort -u | sed 's|^|./|') -update

.PHONY: synth
synth: lambda ## synthesize the CDK app for ENV (default dev) into cdk.out
	npx cdk synth -c env=$(ENV)

.PHONY: synth-check
synth-check: lambda ## synthesize dev and prod offline; cfn-lint and cfn-guard (Control Tower rules) every template
	bash infra/check-synth.sh

.PHONY: deploy
deploy: lambda ## deploy ENV (cdk deploy --all -c env=ENV)
	npx cdk deploy --all -c env=$(ENV)

.PHONY: clean
clean: ## remove build output (not the local Prometheus data: see make stop)
	rm -rf $(BIN) build cdk.out
