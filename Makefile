# Two front doors for a fresh Debian machine: `make run` (set up, then run the app) and `make test`
# (set up, then run the whole test suite). Both install what they need and skip what is already there.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := espeak-ng libportaudio2 ffmpeg pulseaudio pulseaudio-utils sox chromium chromium-driver
PYTEST := $(BIN)/python -m pytest
PIPECAT_VERSION := 1.14.0
TURN_MODEL := .tools/models/smart-turn-v3.2-cpu.onnx
CHITCHAT_VERSION := 0.9.0
TEXT_MODEL := .tools/models/text-turn-v1.npz

.PHONY: setup system venv run test test-fast lint check bench clean turn-model text-turn-model

setup: system venv

system:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  command -v npm >/dev/null 2>&1 || echo npm); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages. Run this, then try again:"; \
	    echo "  sudo apt-get install -y $$missing"; exit 1; \
	  fi; \
	fi

venv: $(VENV)/.stamp

$(VENV)/.stamp: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

run: setup .tools/.stamp-livekit-client $(TURN_MODEL) $(TEXT_MODEL)
	$(BIN)/python launch.py

check: setup
	$(BIN)/python launch.py check

# Smart Turn v3.2 (BSD-2, 8.7 MB ONNX), the end-of-turn audio model. It ships only inside the pipecat-ai wheel,
# whose dependencies (numba, openai, ...) the app does not need: fetch the wheel alone and keep just the model.
turn-model: $(TURN_MODEL)
$(TURN_MODEL): | venv
	mkdir -p .tools/models .tools/wheels
	$(BIN)/pip download -q --no-deps pipecat-ai==$(PIPECAT_VERSION) -d .tools/wheels
	$(BIN)/python -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  open(sys.argv[2], 'wb').write(z.read('pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx'))" \
	  .tools/wheels/pipecat_ai-$(PIPECAT_VERSION)-py3-none-any.whl $@

# The words' end-of-turn model (realtime/text_turn.py, 1 MB): trained here, in about a minute, on the chat
# messages of the chitchat-dataset wheel (MIT, 8 MB, data only), so no weights are kept in git or fetched from
# a model hub; the same wheel gives the same file.
text-turn-model: $(TEXT_MODEL)
$(TEXT_MODEL): app/train_text_turn.py realtime/text_turn.py | venv
	mkdir -p .tools/models .tools/wheels
	$(BIN)/pip download -q --no-deps chitchat-dataset==$(CHITCHAT_VERSION) -d .tools/wheels
	$(BIN)/python -m app.train_text_turn .tools/wheels/chitchat_dataset-$(CHITCHAT_VERSION)-py3-none-any.whl $@

# The MCP Inspector (npm), used by a test to check the MCP server from the outside.
INSPECTOR_VERSION := 0.15.0
.tools/.stamp-inspector:
	npm install --silent --no-audit --no-fund --prefix .tools @modelcontextprotocol/inspector@$(INSPECTOR_VERSION)
	touch $@

# livekit-client (npm) for the page's LiveKit mode, served by the app from .tools/ (no CDN).
LIVEKIT_CLIENT_VERSION := 2.23.0
.tools/.stamp-livekit-client:
	npm install --silent --no-audit --no-fund --prefix .tools livekit-client@$(LIVEKIT_CLIENT_VERSION)
	touch $@

# The whole suite, slow tests included (real models, sound server, browser), after the linters: what CI runs.
test: setup .tools/.stamp-inspector .tools/.stamp-livekit-client $(TURN_MODEL) $(TEXT_MODEL)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/mypy tests
	$(PYTEST) -q -m "" -p no:cacheprovider

# The quick loop while developing: everything not marked slow.
test-fast: setup
	$(PYTEST) -q -m "not slow" -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup $(TURN_MODEL) $(TEXT_MODEL)
	$(BIN)/python launch.py bench

# Regenerate the lock after changing dependencies in pyproject.toml.
lock:
	$(BIN)/pip install -q pip-tools
	$(BIN)/pip-compile -q --no-emit-index-url --no-emit-find-links --extra=dev -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
