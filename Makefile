# Entry points for newcomers: `make setup` writes .env, `make run` starts the bot, `make test`
# runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run setup test lint services bench install install-dev messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The installs are stamp files in the virtualenv: they run once, and again only when
# pyproject.toml changes (an editable install sees code changes without reinstalling).
# -qq: a first install prints nothing unless it fails (setuptools otherwise explains editable
# installs at length); errors still show.
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq -e .
	touch $@

# The dev install includes the plain one, so it stamps both.
$(INSTALLED_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq -e ".[dev]"
	touch $@ $(INSTALLED)

install: $(INSTALLED)

install-dev: $(INSTALLED_DEV)

run: $(INSTALLED)
	$(BIN)/python -m bot

# Asks for the bot token and one provider key, checks both, writes .env (mode 0600).
setup: $(INSTALLED)
	$(BIN)/python -m bot setup

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The tests start their own PostgreSQL and redis-server on 127.0.0.1; this installs Debian's
# packages when they are missing (as root), or says what to install.
services:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing postgresql and redis-server for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; \
		else \
			echo "the tests need PostgreSQL and redis-server: sudo apt-get install -y postgresql redis-server" >&2; \
			exit 1; \
		fi; \
	fi

test: lint services
	$(BIN)/pytest -q

# The bot as a process against the Bot API emulator with Telegram's flood limits (about 5
# minutes); BENCH_ARGS="--chats 200 --only burst" runs a part.
bench: install-dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# After changing a text in bot/: refresh the template and the catalogues (translate what
# bot/i18n/locales/*/LC_MESSAGES/bot.po leaves empty or marks fuzzy), then compile them to .mo.
messages: install-dev
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project=imagine-bot \
		--copyright-holder="imagine-bot contributors" --msgid-bugs-address="" -o bot/i18n/locales/bot.pot .
	$(BIN)/pybabel update -D bot -i bot/i18n/locales/bot.pot -d bot/i18n/locales --width 100 --ignore-obsolete
	$(BIN)/pybabel compile -D bot -d bot/i18n/locales --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
