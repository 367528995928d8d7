"""Reddit through praw: new submissions per subreddit, optional search, comment trees, revisits for new comments.

    [[sources]]
    name = "r-denmark"
    kind = "reddit"
    subreddits = ["Denmark"]
    search = "our product"          # optional: also search each subreddit (use subreddits = ["all"] for site-wide)

    >>> batch = fetch(config, cursor={}, ctx=FetchContext(run_id="r1", http=HttpClient()))
    >>> normalise(config, batch.records[0])["native_id"]
    't3_3hahrw'

Credentials come from REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET / REDDIT_USER_AGENT (plus REDDIT_USERNAME and
REDDIT_PASSWORD for a script app) or from a praw.ini section named by ``site``. ``oauth_url``/``reddit_url``
point the very same code at a proxy or the sandbox.

The cursor per subreddit is a watermark: the newest created time seen plus the ids seen in the last
LATE_WINDOW seconds before it, so a post that appears late in /new (held by a spam filter, say) is still
picked up once. Threads are remembered for ``revisit_days``; one /api/info request per 100 of them tells which
gained comments (or were deleted), and only those are fetched again. Every request counts against
``request_budget``; when it is used up the run stops, keeps what it has and the run is reported 'partial'.
Native ids are Reddit fullnames (t3_… submissions, t1_… comments), so parent ids need no translation.
"""

from __future__ import annotations

import functools
import logging
import os

from pipelines.http import BudgetExhausted, FetchError, HttpClient, RequestBudget, redact_url
from pipelines.sources.base import Batch, FetchContext, SourceError

log = logging.getLogger(__name__)

LATE_WINDOW = 6 * 3600  # seconds below the watermark still read for late-arriving posts
MAX_MORE_PER_THREAD = 8  # replace_more calls per thread (each is one request; huge threads answer 413)
MAX_TRACKED_THREADS = 2000
DEFAULT_REQUESTS_PER_MINUTE = 100  # Reddit's limit per OAuth client
DELETED_TEXT = {"[deleted]", "[removed]", "[deleted by user]", "[removed by reddit]"}
CREDENTIAL_ENV = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT")


# -- credentials and the praw client -------------------------------------------------------------------------
class PrawSession:
    """What praw is given as its requests.Session: every request goes through the shared HttpClient, within the run's
    RequestBudget.

        >>> session = PrawSession(ctx.http, source="r-denmark", budget=RequestBudget(limit=90, per_minute=100))
        >>> reddit = praw.Reddit(..., requestor_kwargs={"session": session})

    So Reddit gets the same timeouts, byte cap, slow-trickle deadline, per-host politeness and retries (5xx, 429
    with Retry-After) as every other source, instead of prawcore's bare session (16 s timeout, no byte cap, random
    retry sleeps). A request that fails for good raises FetchError and a used-up budget BudgetExhausted; prawcore
    wraps both in RequestException and retries neither. Other statuses (401, 403, 404) go back to prawcore, which
    turns them into its own exceptions.
    """

    def __init__(self, http: HttpClient, *, source: str, budget: RequestBudget, max_bytes: int | None = None):
        self.http, self.source, self.budget, self.max_bytes = http, source, budget, max_bytes
        self.headers: dict[str, str] = {}  # prawcore puts its User-Agent here

    def request(self, method, url, *, params=None, data=None, json=None, files=None, headers=None, auth=None,
                allow_redirects=True, timeout=None):
        """The call prawcore's Requestor makes (`timeout` is ignored: the client's own timeouts apply)."""
        if files:
            raise SourceError(f"{self.source}: uploading files to Reddit is not something a listener does")
        response = self.http.request(method, url, source=self.source, params=params, data=data, json=json,
                                     headers={**self.headers, **(headers or {})}, auth=auth, max_bytes=self.max_bytes,
                                     allow_redirects=allow_redirects, budget=self.budget)
        if method.upper() == "GET" and response.status == 200 and not response.body:
            raise FetchError(f"{self.source}: {redact_url(url)}: empty response body where JSON was expected; the next "
                             f"run will try again", status=200, url=url)
        return response

    def close(self) -> None:
        """Nothing to release: the HttpClient is shared by the run."""


def reddit_credentials(config) -> dict:
    """Keyword arguments for praw.Reddit from the environment or a praw.ini site; SourceError if incomplete."""
    if config.site:
        return {"site_name": config.site}
    missing = [name for name in CREDENTIAL_ENV if not os.environ.get(name)]
    if missing:
        raise SourceError(
            f"{config.name}: Reddit credentials missing: set {', '.join(missing)} in the environment (or "
            f"site = \"<section>\" for a praw.ini section). Create a 'script' app at https://www.reddit.com/prefs/apps")
    kwargs = {"client_id": os.environ["REDDIT_CLIENT_ID"], "client_secret": os.environ["REDDIT_CLIENT_SECRET"],
              "user_agent": os.environ["REDDIT_USER_AGENT"]}
    username, password = os.environ.get("REDDIT_USERNAME"), os.environ.get("REDDIT_PASSWORD")
    if bool(username) != bool(password):
        raise SourceError(f"{config.name}: set both REDDIT_USERNAME and REDDIT_PASSWORD, or neither (read-only)")
    if username:
        kwargs.update(username=username, password=password)
    return kwargs


def make_reddit(config, session: PrawSession):
    """A praw.Reddit that sends every request through `session` (and to oauth_url/reddit_url when set)."""
    import praw
    from praw.exceptions import MissingRequiredAttributeException

    kwargs = reddit_credentials(config)
    if config.oauth_url:
        kwargs["oauth_url"] = config.oauth_url.rstrip("/")
    if config.reddit_url:
        kwargs["reddit_url"] = config.reddit_url.rstrip("/")
    try:
        return praw.Reddit(**kwargs, requestor_kwargs={"session": session}, check_for_updates=False,
                           check_for_async=False)
    except MissingRequiredAttributeException as exc:
        raise SourceError(f"{config.name}: praw.ini site {config.site!r} is incomplete ({str(exc)[:120]}); it needs "
                          f"client_id, client_secret and user_agent") from None
    except Exception as exc:  # configparser errors, unknown site: never echo values, they may be secrets
        raise SourceError(f"{config.name}: cannot set up the Reddit client ({exc.__class__.__name__}); check "
                          f"the praw.ini site {config.site!r} or the REDDIT_* variables") from None


# -- raw records ---------------------------------------------------------------------------------------------
def _field(thing, name: str, default=None):
    """A field praw already holds; never getattr, which makes praw fetch the whole object for a missing one."""
    return vars(thing).get(name, default)


def _author(thing) -> str | None:
    author = _field(thing, "author")
    return getattr(author, "name", None) if author is not None else None


def submission_record(submission, via: str) -> dict:
    """A praw Submission -> a small raw record (deleted or removed posts keep no text and no author)."""
    get = functools.partial(_field, submission)
    selftext = get("selftext") or ""
    title = get("title") or ""
    deleted = bool(selftext.strip() in DELETED_TEXT or get("removed_by_category") or title.strip() in DELETED_TEXT)
    return {
        "kind": "t3", "name": submission.name, "subreddit": str(get("subreddit") or ""),
        "author": None if deleted else _author(submission), "created_utc": get("created_utc"),
        "title": None if deleted else title, "selftext": None if deleted else selftext,
        "permalink": get("permalink"), "url": get("url"), "is_self": get("is_self"),
        "score": get("score"), "num_comments": get("num_comments") or 0, "over_18": bool(get("over_18")),
        "flair": get("link_flair_text"), "is_deleted": deleted, "via": via,
    }


def comment_record(comment, subreddit: str) -> dict:
    """A praw Comment -> a small raw record; a deleted comment keeps its place in the tree but no text."""
    get = functools.partial(_field, comment)
    body = get("body") or ""
    deleted = body.strip() in DELETED_TEXT
    link_id = get("link_id") or ""
    permalink = get("permalink") or f"/r/{subreddit}/comments/{link_id[3:]}/_/{get('id')}/"
    return {
        "kind": "t1", "name": comment.name, "subreddit": subreddit,
        "author": None if deleted else _author(comment), "created_utc": get("created_utc"),
        "body": None if deleted else body, "permalink": permalink, "link_id": link_id,
        "parent_id": get("parent_id"), "score": get("score"), "is_deleted": deleted,
    }


# -- cursor --------------------------------------------------------------------------------------------------
def _seen_before(mark: dict, created: float, name: str) -> bool:
    """Whether a watermark (newest created time + ids seen within LATE_WINDOW of it) already covers a thing."""
    return bool(mark) and (created < mark.get("newest", 0.0) - LATE_WINDOW or name in (mark.get("ids") or {}))


def _advance(mark: dict, things: list[tuple[float, str]]) -> dict:
    """A new watermark after seeing `things` [(created, name)]: newest time + {name: created} within LATE_WINDOW."""
    newest = max([mark.get("newest", 0.0)] + [created for created, _ in things])
    ids = {**(mark.get("ids") or {}), **{name: created for created, name in things}}
    recent = sorted(((c, n) for n, c in ids.items() if c >= newest - LATE_WINDOW), reverse=True)[:1000]
    return {"newest": newest, "ids": {n: c for c, n in recent}}


class _Run:
    """One fetch: the praw client, the records gathered so far and the cursor being built."""

    def __init__(self, config, cursor: dict, ctx: FetchContext, reddit, session: PrawSession):
        self.config, self.ctx, self.reddit, self.session = config, ctx, reddit, session
        self.subs: dict = {k.lower(): v for k, v in (cursor.get("subs") or {}).items()}
        self.threads: dict = dict(cursor.get("threads") or {})
        self.search_seen: list[str] = list(cursor.get("search_seen") or [])
        self.records: list[dict] = []
        self.names: set[str] = set()
        self.warnings: list[str] = []

    def cursor(self) -> dict:
        horizon = self.ctx.now.timestamp() - self.config.revisit_days * 86400
        threads = {k: v for k, v in self.threads.items() if v.get("created", 0) >= horizon or v.get("visited") is None}
        if len(threads) > MAX_TRACKED_THREADS:  # keep the newest; the oldest would be dropped at the horizon anyway
            threads = dict(sorted(threads.items(), key=lambda kv: -kv[1].get("created", 0))[:MAX_TRACKED_THREADS])
        return {"subs": self.subs, "threads": threads, "search_seen": self.search_seen[-2000:]}

    def add(self, record: dict) -> None:
        if record["name"] not in self.names:
            self.names.add(record["name"])
            self.records.append(record)
            self.ctx.progress(len(self.records))

    def track(self, record: dict) -> None:
        if record["name"] not in self.threads and not record["is_deleted"]:
            self.threads[record["name"]] = {"sub": record["subreddit"], "created": record["created_utc"],
                                            "num_comments": record["num_comments"], "visited": None}

    def read_new(self, sub: str) -> None:
        """Submissions in r/<sub>/new above the watermark; the watermark moves only if the listing was read."""
        mark = self.subs.get(sub.lower(), {})
        seen: list[tuple[float, str]] = []
        reached_end = False
        count = 0
        for submission in self.reddit.subreddit(sub).new(limit=self.config.max_posts):
            count += 1
            created = float(submission.created_utc)
            if mark and created < mark.get("newest", 0.0) - LATE_WINDOW:
                reached_end = True
                break
            if _seen_before(mark, created, submission.name):
                continue
            record = submission_record(submission, "new")
            seen.append((created, record["name"]))
            self.add(record)
            self.track(record)
        if not reached_end and count >= self.config.max_posts and mark:
            self.warnings.append(f"{self.config.name}: r/{sub}: more than max_posts={self.config.max_posts} new "
                                 f"submissions since the last run; older ones were skipped (raise max_posts)")
        self.subs[sub.lower()] = _advance(mark, seen)

    def search(self, sub: str) -> None:
        seen = set(self.search_seen)
        for submission in self.reddit.subreddit(sub).search(self.config.search, sort="new", time_filter="week",
                                                             limit=self.config.max_posts):
            if submission.name in seen or (sub.lower() == "all" and _field(submission, "over_18")):
                continue
            record = submission_record(submission, "search")
            self.add(record)
            self.track(record)
            self.search_seen.append(record["name"])

    def refresh_threads(self) -> list[str]:
        """Threads to (re)read: never read, or /api/info says they gained comments or were deleted."""
        due = []
        known = [name for name, t in self.threads.items() if t.get("visited") is not None]
        for name, state in self.threads.items():
            if state.get("visited") is None:
                if state.get("num_comments", 0) > 0:
                    due.append(name)
                else:  # nothing to read yet: /api/info will say when comments arrive
                    state.update(visited=self.ctx.now.timestamp(), comments={})
        for start in range(0, len(known), 100):
            for submission in self.reddit.info(fullnames=known[start:start + 100]):
                state = self.threads[submission.name]
                record = submission_record(submission, "revisit")
                if record["is_deleted"]:
                    self.add(record)  # the loader then drops the stored text and author
                    self.threads.pop(submission.name, None)
                elif record["num_comments"] > state.get("num_comments", 0):
                    due.append(submission.name)
        return sorted(due, key=lambda name: -self.threads[name].get("created", 0))

    def read_comments(self, name: str) -> None:
        from prawcore.exceptions import TooLarge

        state = self.threads[name]
        submission = self.reddit.submission(id=name[3:])
        submission.comment_sort = "new"
        submission.comment_limit = min(self.config.max_comments_per_thread or 1, 500)
        budget_left = self.session.budget.limit - self.session.budget.used
        try:
            submission.comments.replace_more(limit=max(0, min(MAX_MORE_PER_THREAD, (budget_left - 2) // 2)))
        except TooLarge:
            self.warnings.append(f"{self.config.name}: thread {name} is too large for Reddit to expand (HTTP 413); "
                                 f"kept the comments already loaded")
        mark = state.get("comments") or {}
        fresh = [c for c in submission.comments.list()
                 if "body" in vars(c) and not _seen_before(mark, float(c.created_utc), c.name)]
        fresh.sort(key=lambda c: c.created_utc)
        fresh = fresh[-self.config.max_comments_per_thread:] if self.config.max_comments_per_thread else []
        for comment in fresh:
            self.add(comment_record(comment, state["sub"]))
        state.update(visited=self.ctx.now.timestamp(), num_comments=_field(submission, "num_comments", 0),
                     comments=_advance(mark, [(float(c.created_utc), c.name) for c in fresh]))


def _session_for(config, ctx: FetchContext) -> PrawSession:
    per_minute = getattr(config, "requests_per_minute", None) or DEFAULT_REQUESTS_PER_MINUTE
    return PrawSession(ctx.http, source=config.name, max_bytes=config.max_bytes,
                       budget=RequestBudget(limit=config.request_budget, per_minute=per_minute))


def _explain(config, exc: Exception) -> str:
    """A prawcore/praw failure -> a message naming the source, the cause and a next step (never a secret)."""
    from prawcore import exceptions as pe

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, pe.OAuthException) or (status == 401):
        hint = getattr(getattr(exc, "response", None), "headers", {}).get("www-authenticate", "")
        return (f"{config.name}: Reddit rejected the credentials (HTTP 401{', ' + hint if hint else ''}); check "
                f"REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET (and username/password for a script app)")
    if isinstance(exc, pe.BadJSON):
        return f"{config.name}: Reddit answered with a body that is not JSON (truncated or corrupted); the next run will try again"
    if status == 403:
        return f"{config.name}: HTTP 403 from Reddit: a subreddit is private, quarantined or banned (check {config.subreddits})"
    if status == 404:
        return f"{config.name}: HTTP 404 from Reddit: check the subreddit names {config.subreddits}"
    if status is not None:
        return f"{config.name}: Reddit answered HTTP {status}; the next run will try again"
    return f"{config.name}: Reddit request failed ({exc.__class__.__name__}: {str(exc)[:160]})"


def fetch(config, cursor: dict, ctx: FetchContext) -> Batch:
    """New submissions (+ search hits), then comments of new and changed threads, within the request budget."""
    from prawcore import exceptions as pe

    session = _session_for(config, ctx)
    run = _Run(config, dict(cursor or {}), ctx, make_reddit(config, session), session)
    stopped = None
    try:
        for sub in config.subreddits:
            run.read_new(sub)
            if config.search:
                run.search(sub)
        if config.comments and config.max_comments_per_thread:
            for name in run.refresh_threads():
                run.read_comments(name)
    except pe.RequestException as exc:
        original = exc.original_exception
        if isinstance(original, BudgetExhausted):
            stopped = str(original)
        elif isinstance(original, (FetchError, SourceError)):
            raise SourceError(str(original)) from None
        else:
            raise SourceError(_explain(config, original)) from None
    except pe.PrawcoreException as exc:
        raise SourceError(_explain(config, exc)) from None
    finally:
        session.close()
    budget = session.budget
    log.info("%s: %d Reddit requests, %.1f per minute", config.name, budget.used, budget.requests_per_minute())
    warnings = list(run.warnings)
    if stopped:
        warnings.append(f"{config.name}: {stopped} after {budget.used} requests; the next run continues")
    return Batch(records=run.records, cursor=run.cursor(), warnings=warnings,
                 stopped_early=f"{stopped}; raise request_budget or run more often" if stopped else None)


def normalise(config, raw: dict) -> dict | None:
    is_post = raw.get("kind") == "t3"
    permalink = raw.get("permalink") or ""
    extra = {"score": raw.get("score"), "subreddit": raw.get("subreddit")}
    if is_post:
        extra.update(num_comments=raw.get("num_comments"), flair=raw.get("flair"), via=raw.get("via"))
        if not raw.get("is_self") and raw.get("url"):
            extra["link"] = raw["url"]
    return {
        "native_id": raw["name"],
        "kind": "post" if is_post else "comment",
        "community": f"r/{raw.get('subreddit')}",
        "thread_id": raw["name"] if is_post else raw.get("link_id"),
        "parent_id": None if is_post else raw.get("parent_id"),
        "url": ("https://www.reddit.com" + permalink) if permalink.startswith("/") else permalink or None,
        "author": raw.get("author"),
        "created_at": raw.get("created_utc"),
        "title": raw.get("title") if is_post else None,
        # a title-only or link post says what it says in its title: that is its text
        "body": (raw.get("selftext") or raw.get("title") if is_post else raw.get("body")) or None,
        "rating": None,
        "lang_hint": None,
        "is_deleted": bool(raw.get("is_deleted")),
        "extra": extra,
    }
