"""Rebuild the WordPress fixtures: a blog feed plus one comment feed per article, in WordPress's RSS 2.0 format.

    python pipelines/sandbox/data/feeds/wordpress/build_wordpress.py ../shared/data

The markup follows what WordPress 6 emits for /feed/ and /<article>/feed/ (wfw:commentRss, slash:comments,
"Comments on: <title>" channels, "By: <name>" items, guid ?p=N#comment-M). The texts are real (VADER Amazon
snippets, MIT); names, dates and ids are generated. No licensed real WordPress comment feed was found.
"""

import csv
import datetime as dt
import email.utils
import hashlib
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
SITE = "https://blog.example.org/"
POSTS = [("new-sync-engine", 5), ("offline-mode-beta", 3), ("release-notes-3-4", 0)]


def rfc822(when: dt.datetime) -> str:
    return email.utils.format_datetime(when)


def main(shared: Path) -> None:
    rows = list(csv.DictReader(open(shared / "en_vader_amazonReviewSnippets" / "en_vader_amazonReviewSnippets.shared.csv",
                                    encoding="utf-8")))
    texts = [r["text"] for r in rows if len(r["text"].split()) >= 10][:40]
    start = dt.datetime(2024, 5, 20, 9, 0, tzinfo=dt.timezone.utc)
    items, used = [], 0
    for n, (slug, comments) in enumerate(POSTS):
        post_id = 100 + n
        when = start + dt.timedelta(days=3 * n)
        link = f"{SITE}2024/05/{slug}/"
        body = " ".join(texts[used:used + 3])
        used += 3
        title = slug.replace("-", " ").capitalize()
        items.append(f"""	<item>
		<title>{escape(title)}</title>
		<link>{link}</link>
		<comments>{link}#comments</comments>
		<dc:creator><![CDATA[editor]]></dc:creator>
		<pubDate>{rfc822(when)}</pubDate>
		<category><![CDATA[Product]]></category>
		<guid isPermaLink="false">{SITE}?p={post_id}</guid>
		<description><![CDATA[{texts[used - 3][:120]} [&#8230;]]]></description>
		<content:encoded><![CDATA[<p>{escape(body)}</p>]]></content:encoded>
		<wfw:commentRss>{link}feed/</wfw:commentRss>
		<slash:comments>{comments}</slash:comments>
	</item>""")
        citems = []
        for c in range(comments):
            cid = post_id * 10 + c
            name = f"reader{int(hashlib.sha1(f'{slug}{c}'.encode()).hexdigest(), 16) % 50:02d}"
            ctext = texts[used]
            used += 1
            cwhen = when + dt.timedelta(hours=2 + 5 * c)
            citems.append(f"""	<item>
		<title>By: {name}</title>
		<link>{link}#comment-{cid}</link>
		<dc:creator><![CDATA[{name}]]></dc:creator>
		<pubDate>{rfc822(cwhen)}</pubDate>
		<guid isPermaLink="false">{SITE}?p={post_id}#comment-{cid}</guid>
		<description><![CDATA[{ctext}]]></description>
		<content:encoded><![CDATA[<p>{escape(ctext)}</p>
]]></content:encoded>
	</item>""")
        (HERE / "2024" / "05" / slug / "feed").mkdir(parents=True, exist_ok=True)
        (HERE / "2024" / "05" / slug / "feed" / "index.rss").write_text(channel(
            f"Comments on: {title}", f"{link}feed/", link, "\n".join(citems), comments=False), encoding="utf-8")
    (HERE / "feed" ).mkdir(exist_ok=True)
    (HERE / "feed" / "index.rss").write_text(channel("Example Product Blog", f"{SITE}feed/", SITE, "\n".join(reversed(items)),
                                                     comments=True), encoding="utf-8")


def channel(title: str, self_url: str, link: str, items: str, comments: bool) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{escape(title)}</title>
	<atom:link href="{self_url}" rel="self" type="application/rss+xml" />
	<link>{link}</link>
	<description>Notes from the product team</description>
	<lastBuildDate>Thu, 30 May 2024 10:00:00 +0000</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.5.3</generator>
{items}
</channel>
</rss>
"""


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
