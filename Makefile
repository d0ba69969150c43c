# Two entry points for newcomers: `make run` starts the bot, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench install install-dev messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# -qq: a first install prints nothing unless it fails (setuptools otherwise explains editable
# installs at length); errors still show.
install: $(BIN)/python
	$(BIN)/python -m pip install -qq -e .

install-dev: $(BIN)/python
	$(BIN)/python -m pip install -qq -e ".[dev]"

run: install
	$(BIN)/python -m bot

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
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
