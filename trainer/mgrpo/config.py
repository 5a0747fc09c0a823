"""The run config: plain data (a dict), resolved and validated against ``schemas/config.schema.json``.

Resolution order, later wins: the schema's defaults, the preset (``--preset`` or the file's "preset"), the
config file, then command-line overrides. Every problem is a ``ConfigError`` that names the key, the value,
what is allowed, and where the value came from; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import copy
import difflib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from . import prompts
from .task import chain_eval_capacity

SCHEMA_FILE = "config.schema.json"
PACKAGE_ROOT = Path(__file__).resolve().parent
# The shipped demo model lives next to the package (trainer/models/...), in the repo and in the .vsix alike.
DEMO_MODEL_DIR = PACKAGE_ROOT.parent / "models" / "mgrpo-demo-tiny"

# The embedded default: sized so a step takes seconds on a 2-core CPU and learning shows within tens of
# steps (measured on an SFT candidate of the demo model: sampled Acc@t1 0.44 -> 0.53 and greedy Acc@t2
# 0.64 -> 0.76 after 20 steps at lr 2e-4, beta 0.02, KL staying below 0.03; lr 5e-4 on a weaker candidate
# drifted, KL 0.26 by step 30). Values not named here come from the schema defaults.
DEMO_PRESET: dict[str, Any] = {
    "model_name_or_path": str(DEMO_MODEL_DIR),
    "task": "chain",
    "questions_per_step": 4,
    "num_generations": 4,
    "layer2_num_generations": 4,
    "max_completion_length": 64,
    # The demo model's context is 256 positions: prompt + completion must fit in it (checked at start-up).
    "max_prompt_length": 192,
    "temperature": 1.0,
    "learning_rate": 2e-4,
    "lr_scheduler_type": "constant",
    "warmup_steps": 5,
    "beta": 0.02,
    "max_steps": 200,
    "save_steps": 10,
    "save_total_limit": 5,
    "eval_steps": 50,
    "eval_size": 100,
    # Greedy accuracy of the demo model moves in coarse steps; sampled accuracy shows learning sooner.
    "eval_num_samples": 4,
    "micro_batch_size": 32,
}
PRESETS = {"demo": DEMO_PRESET}

# Keys holding file system paths: relative values are resolved against the config file's folder.
PATH_KEYS = ("model_name_or_path", "dataset_path", "eval_dataset_path")


class ConfigError(ValueError):
    """A config value that is not allowed. ``str()`` is the message a user sees."""

    def __init__(self, key: str | None, value: Any, allowed: str, source: str | None = None):
        self.key = key
        self.value = value
        self.allowed = allowed
        self.source = source
        where = f" (in {source})" if source else ""
        if key is None:
            message = f"config{where}: {allowed}"
        else:
            message = f"config key {key!r}{where}: got {_show(value)}; {allowed}"
        super().__init__(message)


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def load_schema() -> dict:
    with resources.files("mgrpo.schemas").joinpath(SCHEMA_FILE).open("r", encoding="utf-8") as handle:
        return json.load(handle)


def config_keys(schema: dict | None = None) -> list[str]:
    """The settable keys, in schema order ("$schema" is for editors only)."""
    schema = schema or load_schema()
    return [key for key in schema["properties"] if key != "$schema"]


def schema_defaults(schema: dict | None = None) -> dict[str, Any]:
    schema = schema or load_schema()
    return {key: copy.deepcopy(schema["properties"][key]["default"]) for key in config_keys(schema)}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a JSON config file; errors name the file (and the line for bad JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(None, None, f"config file not found: {path}") from None
    except OSError as error:
        raise ConfigError(None, None, f"cannot read config file {path}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            None, None, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}", str(path)
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(None, data, "the config must be a JSON object of key: value pairs", str(path))
    return data


def _allowed_text(subschema: dict) -> str:
    """What a key accepts, in words, from its schema."""
    if "enum" in subschema:
        return "allowed: " + ", ".join(json.dumps(option) for option in subschema["enum"])
    types = subschema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    words = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
             "array": "a list", "null": "null", "object": "an object"}
    parts = [" or ".join(words.get(name, name) for name in types)] if types else []
    if "minimum" in subschema:
        parts.append(f">= {subschema['minimum']}")
    if "exclusiveMinimum" in subschema:
        parts.append(f"> {subschema['exclusiveMinimum']}")
    if "maximum" in subschema:
        parts.append(f"<= {subschema['maximum']}")
    if "minItems" in subschema:
        parts.append(f"with at least {subschema['minItems']} item(s)")
    if "minLength" in subschema:
        parts.append("non-empty")
    return "expected " + ", ".join(part for part in parts if part)


def check_keys(data: dict[str, Any], source: str | None, schema: dict | None = None) -> None:
    """Unknown keys are errors, with the closest known key suggested."""
    schema = schema or load_schema()
    known = config_keys(schema)
    for key in data:
        if key == "$schema" or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "see `python -m mgrpo --help` for the keys"
        raise ConfigError(key, data[key], f"unknown key; {hint}", source)


def validate_config(config: dict[str, Any], sources: dict[str, str] | None = None, schema: dict | None = None) -> None:
    """Check a resolved config against the schema and the rules a schema cannot say. ``sources`` maps a key to
    where its value came from (a file, "--flag", "preset demo") for the message."""
    schema = schema or load_schema()
    sources = sources or {}

    def where(key: str) -> str | None:
        # A key left at its default is still part of the config being validated: name that.
        return sources.get(key) or (f"{sources['__file__']}, default value" if sources.get("__file__") else None)

    check_keys(config, sources.get("__file__"), schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda error: list(error.path))
    for error in errors:
        if error.validator == "additionalProperties":  # pragma: no cover - check_keys reports these first
            continue
        key = str(error.absolute_path[0]) if error.absolute_path else None
        if key is None:
            raise ConfigError(None, None, error.message, sources.get("__file__"))
        subschema = schema["properties"][key]
        value = config[key]
        allowed = _allowed_text(subschema)
        if len(error.absolute_path) > 1:
            allowed = f"item {list(error.absolute_path)[1]} is invalid ({error.message}); {allowed} of strings"
        raise ConfigError(key, value, allowed, where(key))

    def fail(key: str, allowed: str) -> None:
        raise ConfigError(key, config[key], allowed, where(key))

    if config["chain_max_ops"] < config["chain_min_ops"]:
        fail("chain_max_ops", f"must be >= chain_min_ops ({config['chain_min_ops']})")
    if config["epsilon_high"] is not None and config["epsilon_high"] < config["epsilon"]:
        fail("epsilon_high", f"must be >= epsilon ({config['epsilon']}) or null")
    if config["task"] == "chain" and config["eval_size"] > 0:
        capacity = chain_eval_capacity(config["chain_min_ops"], config["chain_max_ops"])
        if config["eval_size"] > capacity:
            fail("eval_size", f"the chain task with chain_min_ops={config['chain_min_ops']} and chain_max_ops="
                              f"{config['chain_max_ops']} has only {capacity} held-out problems; lower eval_size "
                              f"or raise chain_max_ops")
    if config["task"] == "jsonl" and not config["dataset_path"]:
        fail("dataset_path", 'task "jsonl" needs a JSON-lines file path')
    if not config["model_name_or_path"]:
        fail("model_name_or_path", 'required: a local model folder (or use --preset demo for the shipped one)')
    for key, placeholders, required in (
        ("layer1_template", prompts.LAYER1_PLACEHOLDERS, frozenset({"question"})),
        ("layer2_template", prompts.LAYER2_PLACEHOLDERS, frozenset({"layer1_completion", "guiding_phrase"})),
    ):
        try:
            prompts.validate_template(config[key], placeholders, required, key.split("_")[0])
        except ValueError as error:
            fail(key, str(error))


def parse_override(key: str, text: str, schema: dict | None = None) -> Any:
    """Turn a command-line string into the JSON value a key expects ("--max-steps 5" -> 5)."""
    schema = schema or load_schema()
    subschema = schema["properties"][key]
    source = f"--{key.replace('_', '-')}"
    types = subschema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if "enum" in subschema:
        if text == "null" and None in subschema["enum"]:
            return None
        flag = text.lower() == "true"
        if text.lower() in ("true", "false") and any(option is flag for option in subschema["enum"]):
            return flag  # e.g. --chat-template true
        return text  # validated against the enum later, with the allowed values in the message
    if text == "null" and "null" in types:
        return None
    if "boolean" in types:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ConfigError(key, text, "expected true or false", source)
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(key, text, _allowed_text(subschema), source) from None
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(key, text, _allowed_text(subschema), source) from None
    if "array" in types:
        # A JSON list, or a single value (e.g. one guiding phrase).
        if text.lstrip().startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                raise ConfigError(key, text, f"not a valid JSON list ({error.msg})", source) from None
        return [text]
    # Strings: the shell cannot easily pass a newline, so "\n" in a template flag means one.
    if key.endswith("_template"):
        return text.replace("\\n", "\n")
    return text


def _resolve_path(value: str | None, base: Path | None) -> str | None:
    """A relative path from a config file is relative to that file's folder when something exists there."""
    if value is None or base is None or Path(value).is_absolute():
        return value
    candidate = base / value
    return str(candidate.resolve()) if candidate.exists() else value


def resolve_config(
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    preset: str | None = None,
    base: dict[str, Any] | None = None,
    base_source: str | None = None,
) -> dict[str, Any]:
    """The fully resolved, validated config: defaults <- preset <- file <- overrides. ``base`` stands in for a
    file with already parsed data (a resumed run's config from run.json, named by ``base_source``)."""
    schema = load_schema()
    overrides = dict(overrides or {})
    file_data: dict[str, Any] = {}
    file_source = None
    if base is not None:
        file_data, file_source = dict(base), base_source or "run.json"
        check_keys(file_data, file_source, schema)
    elif config_file is not None:
        file_source = str(config_file)
        file_data = read_config_file(config_file)
        check_keys(file_data, file_source, schema)
        file_data.pop("$schema", None)
        base = Path(config_file).resolve().parent
        for key in PATH_KEYS:
            if isinstance(file_data.get(key), str):
                file_data[key] = _resolve_path(file_data[key], base)
    check_keys(overrides, "command line", schema)

    chosen_preset = overrides.get("preset", preset if preset is not None else file_data.get("preset"))
    config = schema_defaults(schema)
    sources: dict[str, str] = {"__file__": file_source or "command line"}
    if chosen_preset is not None:
        if chosen_preset not in PRESETS:
            where = "--preset" if preset is not None else file_source
            raise ConfigError("preset", chosen_preset, "allowed: " + ", ".join(json.dumps(p) for p in PRESETS), where)
        for key, value in PRESETS[chosen_preset].items():
            config[key] = copy.deepcopy(value)
            sources[key] = f"preset {chosen_preset}"
    for key, value in file_data.items():
        config[key] = value
        sources[key] = file_source or "config"
    for key, value in overrides.items():
        config[key] = value
        sources[key] = f"--{key.replace('_', '-')}"
    config["preset"] = chosen_preset
    validate_config(config, sources, schema)
    return config
