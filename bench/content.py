"""The benchmark's sources: RSS feeds built from a recorded DOJ feed, and HTML news-listing pages.

Everything is deterministic (same numbers in, same bytes out), so the server and the runner agree on
what exists without talking to each other, and two runs of the benchmark see the same bytes.

- Feed `i` (`/feeds/NNNN.xml`) is the recorded DOJ "Justice News" feed (bench/data, provenance in
  bench/README.md) cut to 20 items, rotated by `i`, with per-feed links and titles, so that no two
  feeds share an item (the core's cross-source fusion would otherwise kick in).
- Page `i` (`/pages/NNNN.html`) is a county/agency newsroom listing of about 30-40 KB: head with
  stylesheets, analytics and JSON-LD, a mega-menu, breadcrumb, filters, 20 teasers, pager, sidebar
  and a footer full of links, as such pages really are.
- In the `changed` phase every tenth source (`i % 10 == 0` in each kind: 10% of all sources) has one
  new item on top and its oldest item rolled off the bottom, as a feed's window or a listing's first
  page does when something is published.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

FIXTURE = Path(__file__).resolve().parent / "data" / "justice_news_rss_2026-10-02.xml"
ITEMS_PER_SOURCE = 20
CHANGED_EVERY = 10  # in the `changed` phase, sources with index % CHANGED_EVERY == 0 gain an item
PHASES = ("base", "changed")
BASE_DATE = datetime(2026, 10, 2, 12, 0, tzinfo=UTC)

PAGE_ITEM = "div.view-content article.news-teaser"
PAGE_FIELDS = {
    "title": "h3.news-teaser__title a",
    "link": "h3.news-teaser__title a @href",
    "date": "time @datetime",
    "summary": "p.news-teaser__summary",
    "type": "span.news-teaser__type",
}


@dataclass(frozen=True, slots=True)
class Story:
    title: str
    link: str
    description: str  # text as the feed carries it (it may itself hold escaped HTML: `&nbsp;`)


@lru_cache(maxsize=4)
def load_stories(path: Path = FIXTURE) -> tuple[Story, ...]:
    root = ET.parse(path).getroot()
    out = []
    for item in root.iter("item"):
        out.append(
            Story(
                title=(item.findtext("title") or "").strip(),
                link=(item.findtext("link") or "").strip(),
                description=item.findtext("description") or "",
            )
        )
    if len(out) < ITEMS_PER_SOURCE:
        raise ValueError(f"{path}: {len(out)} items, need at least {ITEMS_PER_SOURCE}")
    return tuple(out)


def feed_path(index: int) -> str:
    return f"/feeds/{index:04d}.xml"


def page_path(index: int) -> str:
    return f"/pages/{index:04d}.html"


def split(total: int) -> tuple[int, int]:
    """(feeds, pages) for `total` sources: half and half, feeds get the odd one."""
    pages = total // 2
    return total - pages, pages


def changed(index: int) -> bool:
    return index % CHANGED_EVERY == 0


def new_feed_title(index: int) -> str:
    """The title of the item feed `index` gains in the `changed` phase."""
    return f"Sanctuary-jurisdiction suit: new filing noticed by feed {index:04d}"


def new_page_title(index: int) -> str:
    """The title of the teaser page `index` gains in the `changed` phase."""
    return f"{_PLACES[index % len(_PLACES)]} joins amended complaint in San Francisco v. Trump (3:25-cv-01350)"


# ------------------------------------------------------------------------------------------- feeds

_DISTRICTS = [
    "Northern District",
    "Southern District",
    "Eastern District",
    "Western District",
    "Central District",
    "District of Columbia",
    "Middle District",
    "District of Arizona",
    "District of Oregon",
    "District of Kansas",
    "District of Montana",
    "District of New Mexico",
    "District of Wyoming",
]


def _feed_items(index: int, phase: str) -> list[tuple[str, str, str, datetime]]:
    """(title, link, description, date) newest first, for feed `index` in `phase`."""
    stories = load_stories()
    district = _DISTRICTS[index % len(_DISTRICTS)]
    rows = []
    for n in range(ITEMS_PER_SOURCE):
        story = stories[(index + n) % len(stories)]
        base, _, slug = story.link.rpartition("/")
        link = f"{base}/{slug}-f{index:04d}-{n:02d}"
        title = f"{story.title} ({district}, release {index:04d}-{n:02d})"
        date = BASE_DATE - timedelta(days=n, minutes=index)
        rows.append((title, link, story.description, date))
    if phase == "changed" and changed(index):
        new_title = new_feed_title(index)
        new_link = f"https://www.justice.gov/opa/pr/sanctuary-jurisdiction-update-f{index:04d}"
        new_desc = (
            "&amp;nbsp;WASHINGTON — The Justice Department today filed a notice in United States v. Illinois, "
            "1:25-cv-01285, and in City and County of San Francisco v. Trump, 3:25-cv-01350."
        )
        new_desc = html.unescape(new_desc)
        rows = [(new_title, new_link, new_desc, BASE_DATE + timedelta(hours=1)), *rows[:-1]]
    return rows


def build_feed(index: int, phase: str = "base") -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0" xml:base="https://www.justice.gov/">\n'
        "  <channel>\n"
        f"    <title>Justice News — component {index:04d}</title>\n"
        "    <link>https://www.justice.gov/</link>\n"
        "    <description/>\n"
        "    <language>en</language>\n"
        "    \n"
    ]
    for title, link, description, date in _feed_items(index, phase):
        parts.append(
            "<item>\n"
            f"  <title>{escape(title)}  </title>\n"
            f"  <link>{escape(link)}</link>\n"
            f"  <description>{escape(description)}</description>\n"
            f"  <pubDate>{format_datetime(date)}</pubDate>\n"
            "    <dc:creator/>\n"
            f'    <guid isPermaLink="true">{escape(link)}</guid>\n'
            "    </item>\n"
        )
    parts.append("\n  </channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


# ------------------------------------------------------------------------------------------- pages

_AGENCIES = [
    "Office of the County Counsel",
    "Office of the City Attorney",
    "Department of Justice Press Office",
    "Office of the Attorney General",
    "County Board of Supervisors",
    "Office of the Mayor",
    "Office of Public Affairs",
    "Sheriff's Office",
    "District Attorney's Office",
]
_PLACES = [
    "Santa Clara County",
    "San Francisco",
    "King County",
    "Portland",
    "New Haven",
    "Cook County",
    "Chicago",
    "Illinois",
    "Alameda County",
    "Multnomah County",
    "Minneapolis",
    "Seattle",
]
_TOPICS = [
    "Immigration",
    "Sanctuary Policy",
    "Litigation",
    "Public Safety",
    "Federal Funding",
    "Civil Rights",
    "Budget",
    "Health",
    "Housing",
    "Transportation",
    "Elections",
    "Consumer Protection",
    "Environment",
    "Labor",
    "Education",
]
_TYPES = ["Press Release", "Statement", "News", "Media Advisory"]
_MENU = {
    "Residents": [
        "Pay a Bill",
        "Permits & Licenses",
        "Report a Problem",
        "Public Records",
        "Jobs",
        "Voting",
        "Parks & Recreation",
        "Libraries",
        "Animal Services",
    ],
    "Business": ["Start a Business", "Contracting Opportunities", "Business Tax", "Inspections", "Small Business"],
    "Government": [
        "Board of Supervisors",
        "Departments",
        "Boards & Commissions",
        "Budget",
        "Meetings & Agendas",
        "Ordinances",
        "Elected Officials",
        "Audits",
    ],
    "Legal": [
        "Litigation",
        "Opinions",
        "Claims Against the County",
        "Public Integrity",
        "Consumer Protection",
        "Affirmative Litigation",
        "Amicus Briefs",
    ],
    "Services": [
        "Health",
        "Housing",
        "Social Services",
        "Transportation",
        "Emergency Management",
        "Immigrant Services",
        "Veterans",
    ],
    "News": ["News Releases", "Statements", "Media Advisories", "Photo Gallery", "Video", "Newsletters"],
    "About": ["Mission", "Leadership", "Divisions", "Careers", "Internships", "Contact Us", "Locations"],
}
_SVG = (
    '<svg class="icon icon--{name}" aria-hidden="true" focusable="false" width="24" height="24" '
    'viewBox="0 0 24 24"><path d="M12 2C6.477 2 2 6.477 2 12c0 4.991 3.657 9.128 8.438 9.878v-6.987'
    "h-2.54V12h2.54V9.797c0-2.506 1.492-3.89 3.777-3.89 1.094 0 2.238.195 2.238.195v2.46h-1.26c-1.243 "
    "0-1.63.771-1.63 1.562V12h2.773l-.443 2.89h-2.33v6.988C18.343 21.128 22 16.991 22 12c0-5.523-4.477-"
    '10-10-10z"/></svg>'
)


def _slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(filter(None, out.split("-")))[:60]


def _page_items(index: int, phase: str) -> list[dict[str, Any]]:
    stories = load_stories()
    place = _PLACES[index % len(_PLACES)]
    rows: list[dict[str, Any]] = []
    for n in range(ITEMS_PER_SOURCE):
        story = stories[(index * 7 + n) % len(stories)]
        date = BASE_DATE - timedelta(days=n * 2, hours=index % 24)
        title = f"{place}: {story.title}"
        summary = html.unescape(story.description).replace("\xa0", " ").strip() or title
        if len(summary) > 150:  # listings show a teaser, cut at a word
            summary = summary[:150].rsplit(" ", 1)[0] + "…"
        rows.append(
            {
                "title": title,
                "href": f"/agency-{index:04d}/news/{date:%Y/%m/%d}/{_slug(story.title)}-{n:02d}",
                "date": date,
                "summary": summary,
                "type": _TYPES[(index + n) % len(_TYPES)],
                "topics": [_TOPICS[(index + n + k) % len(_TOPICS)] for k in range(1 + (n % 2))],
                "nid": str(100000 + index * 50 + n),
            }
        )
    if phase == "changed" and changed(index):
        date = BASE_DATE + timedelta(hours=1)
        new = {
            "title": new_page_title(index),
            "href": f"/agency-{index:04d}/news/{date:%Y/%m/%d}/joins-amended-complaint-sanctuary-suit",
            "date": date,
            "summary": (
                f"{place} today joined the coalition of cities and counties challenging the executive "
                "orders that threaten sanctuary jurisdictions' federal funding."
            ),
            "type": "Press Release",
            "topics": ["Sanctuary Policy", "Litigation"],
            "nid": str(100000 + index * 50 + 49),
        }
        return [new, *rows[:-1]]
    return rows


def build_page(index: int, phase: str = "base") -> bytes:
    e = html.escape
    agency = _AGENCIES[index % len(_AGENCIES)]
    place = _PLACES[index % len(_PLACES)]
    site = f"{agency}, {place}"
    out: list[str] = []
    w = out.append
    w('<!DOCTYPE html>\n<html lang="en" dir="ltr" prefix="og: https://ogp.me/ns#">\n<head>\n<meta charset="utf-8">\n')
    w(f"<title>News Releases | {e(site)}</title>\n")
    w('<meta name="viewport" content="width=device-width, initial-scale=1.0">\n')
    w(
        '<meta name="description" content="The latest news releases, statements and media advisories from the '
        f'{e(site)}.">\n'
    )
    w(f'<link rel="canonical" href="https://www.agency{index:04d}.example.gov/news">\n')
    w('<meta property="og:type" content="website">\n<meta property="og:title" content="News Releases">\n')
    for sheet in ("base", "layout", "components", "menu", "teaser", "pager", "footer", "print"):
        w(f'<link rel="stylesheet" media="all" href="/themes/custom/agency/css/{sheet}.css?t{index:04d}">\n')
    w(
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"GovernmentOrganization",'
        f'"name":"{e(site)}","url":"https://www.agency{index:04d}.example.gov/","logo":"https://www.agency{index:04d}'
        '.example.gov/themes/custom/agency/logo.svg","sameAs":["https://x.com/agency","https://www.facebook.com/agency",'
        '"https://www.youtube.com/agency","https://www.linkedin.com/company/agency"]}</script>\n'
    )
    w(
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
        "gtag('js',new Date());"
        "gtag('config','G-XXXXXXX',{'anonymize_ip':true,'cookie_flags':'SameSite=None;Secure'});"
        "(function(d){var s=d.createElement('script');s.async=true;s.src='/core/misc/announce.js';"
        "d.head.appendChild(s);})(document);</script>\n"
    )
    w(
        '<script type="application/json" data-drupal-selector="drupal-settings-json">{"path":{"baseUrl":"\\/",'
        '"pathPrefix":"","currentPath":"node\\/1200","currentPathIsAdmin":false,"isFront":false,"currentLanguage":"en"},'
        '"pluralDelimiter":"\\u0003","suppressDeprecationErrors":true,"ajaxPageState":{"libraries":"agency\\/global,'
        'agency\\/teaser,core\\/drupal.ajax,core\\/once,views\\/views.ajax,views\\/views.module","theme":"agency",'
        '"theme_token":null},"ajaxTrustedUrl":{"\\/news":true},"views":{"ajax_path":"\\/views\\/ajax","ajaxViews":'
        '{"views_dom_id:3f0c":{"view_name":"news","view_display_id":"page_1","view_args":"","view_path":"\\/news",'
        '"view_base_path":"news","view_dom_id":"3f0c","pager_element":0}}},"user":{"uid":0,"permissionsHash":'
        '"c0ffee"}}</script>\n</head>\n'
    )
    w(
        '<body class="path-news page-view-news layout-sidebar-second">\n'
        '<a href="#main-content" class="visually-hidden focusable skip-link">Skip to main content</a>\n'
        '<div class="alert-banner" role="region" aria-label="Alert"><div class="container">'
        "<p><strong>Office closure:</strong> "
        "County offices will be closed on Monday, October 12 for Indigenous Peoples' Day. "
        '<a href="/holidays">See the holiday schedule</a>.</p><button class="alert-banner__close" type="button">'
        "Dismiss</button></div></div>\n"
    )
    w(
        '<header role="banner" class="site-header"><div class="container">'
        f'<a href="/" rel="home" class="site-logo"><img src="/themes/custom/agency/logo.svg" alt="{e(site)} home" '
        'width="220" height="64"></a><div class="site-header__utility"><ul class="utility-nav">'
        '<li><a href="/translate">Translate</a></li><li><a href="/accessibility">Accessibility</a></li>'
        '<li><a href="/contact">Contact</a></li><li><a href="/subscribe">Subscribe</a></li></ul>'
        '<form class="search-form" action="/search" method="get" role="search"><label for="edit-keys" '
        'class="visually-hidden">Search</label><input type="search" id="edit-keys" name="keys" size="15" '
        'maxlength="128" placeholder="Search this site"><button type="submit" class="search-form__submit">'
        + _SVG.format(name="search")
        + '<span class="visually-hidden">Search</span></button></form></div></div></header>\n'
    )
    w('<nav class="main-nav" aria-label="Main"><div class="container"><ul class="menu menu--level-1">\n')
    for top, links in _MENU.items():
        w(
            f'<li class="menu__item menu__item--expanded"><a href="/{_slug(top)}" class="menu__link" '
            f'aria-expanded="false">{e(top)}</a><ul class="menu menu--level-2">'
        )
        for link in links[:6]:
            w(f'<li class="menu__item"><a href="/{_slug(top)}/{_slug(link)}" class="menu__link">{e(link)}</a></li>')
        w("</ul></li>\n")
    w("</ul></div></nav>\n")
    w(
        '<nav class="breadcrumb" aria-labelledby="system-breadcrumb">'
        '<h2 id="system-breadcrumb" class="visually-hidden">'
        'Breadcrumb</h2><ol><li><a href="/">Home</a></li><li><a href="/news-media">News &amp; Media</a></li>'
        "<li>News Releases</li></ol></nav>\n"
    )
    w(
        '<main id="main-content" role="main" class="layout-content"><div class="container">\n'
        '<h1 class="page-title">News Releases</h1>\n'
        f'<p class="lede">Announcements, statements and advisories from the {e(site)}. For press inquiries, '
        'call the press office or write to <a href="mailto:press@example.gov">press@example.gov</a>.</p>\n'
    )
    w(
        '<div class="view view-news view-id-news view-display-id-page_1 js-view-dom-id-3f0c">\n'
        '<div class="view-filters"><form class="views-exposed-form" action="/news" method="get" '
        'id="views-exposed-form-news-page-1" accept-charset="UTF-8"><div class="form-item">'
        '<label for="edit-topic">Topic</label><select id="edit-topic" name="topic" class="form-select">'
        '<option value="All" selected="selected">- Any -</option>'
    )
    for k, topic in enumerate(_TOPICS):
        w(f'<option value="{300 + k}">{e(topic)}</option>')
    w(
        '</select></div><div class="form-item"><label for="edit-type">Type</label><select id="edit-type" name="type" '
        'class="form-select"><option value="All" selected="selected">- Any -</option>'
    )
    for kind in _TYPES:
        w(f'<option value="{_slug(kind)}">{e(kind)}</option>')
    w(
        '</select></div><div class="form-item"><label for="edit-year">Year</label><select id="edit-year" name="year" '
        'class="form-select"><option value="All">- Any -</option>'
    )
    for year in range(2026, 2009, -1):
        w(f'<option value="{year}">{year}</option>')
    w(
        '</select></div><div class="form-actions"><input type="submit" id="edit-submit-news" value="Apply" '
        'class="button js-form-submit form-submit"></div></form></div>\n<div class="view-content">\n'
    )
    images = index % 2 == 0  # some newsrooms show a thumbnail per teaser: pages of 30-40 KB
    for row in _page_items(index, phase):
        date: datetime = row["date"]
        w(f'<article class="news-teaser node--type-news-release" data-history-node-id="{row["nid"]}" role="article">\n')
        if images:
            w(
                f'  <div class="news-teaser__image"><img src="/files/{date:%Y-%m}/news-{row["nid"]}.jpg" alt="" '
                'loading="lazy" width="320" height="180"></div>\n'
            )
        w(
            '  <div class="news-teaser__body">\n'
            f'    <span class="news-teaser__type">{e(row["type"])}</span>\n'
            f'    <h3 class="news-teaser__title"><a href="{e(row["href"])}" hreflang="en">{e(row["title"])}</a></h3>\n'
            f'    <time class="news-teaser__date" datetime="{date:%Y-%m-%dT%H:%M:%SZ}">'
            f"{date:%B} {date.day}, {date:%Y}</time>\n"
            f'    <p class="news-teaser__summary">{e(row["summary"])}</p>\n'
            '    <ul class="news-teaser__tags">'
        )
        for topic in row["topics"]:
            w(f'<li><a href="/news?topic={_TOPICS.index(topic) + 300}" hreflang="en">{e(topic)}</a></li>')
        w("</ul>\n  </div>\n</article>\n")
    w(
        '</div>\n<nav class="pager" role="navigation" aria-labelledby="pagination-heading"><h4 id="pagination-heading" '
        'class="visually-hidden">Pagination</h4><ul class="pager__items js-pager__items">'
        '<li class="pager__item is-active"><a href="?page=0" title="Current page" aria-current="page">1</a></li>'
    )
    for page in range(1, 10):
        w(f'<li class="pager__item"><a href="?page={page}" title="Go to page {page + 1}">{page + 1}</a></li>')
    w(
        '<li class="pager__item pager__item--next"><a href="?page=1" title="Go to next page" rel="next">Next ›</a></li>'
        '<li class="pager__item pager__item--last"><a href="?page=48" title="Go to last page">Last »</a></li>'
        "</ul></nav>\n"
        "</div>\n</div></main>\n"
    )
    w(
        '<aside class="layout-sidebar-second" role="complementary"><section class="block block--contact">'
        "<h2>Press office</h2><p>Media inquiries only. Members of the public, please call 311.</p>"
        '<p><a href="tel:+15555550100">(555) 555-0100</a><br>'
        '<a href="mailto:press@example.gov">press@example.gov</a></p>'
        '</section><section class="block block--related"><h2>Related</h2><ul>'
        '<li><a href="/litigation/sanctuary">Sanctuary jurisdiction litigation</a></li>'
        '<li><a href="/litigation/federal-funding">Federal funding cases</a></li>'
        '<li><a href="/news/statements">Statements</a></li><li><a href="/news/advisories">Media advisories</a></li>'
        '<li><a href="/news/archive">News archive</a></li></ul></section>'
        '<section class="block block--subscribe"><h2>Get news by email</h2><form action="/subscribe" method="post">'
        '<label for="sub-email">Email address</label><input id="sub-email" type="email" name="email" required>'
        '<button type="submit">Subscribe</button></form></section></aside>\n'
    )
    w('<footer role="contentinfo" class="site-footer"><div class="container"><div class="site-footer__columns">')
    for top, links in list(_MENU.items())[:3]:
        w(f'<div class="site-footer__column"><h2 class="site-footer__heading">{e(top)}</h2><ul>')
        for link in links:
            w(f'<li><a href="/{_slug(top)}/{_slug(link)}">{e(link)}</a></li>')
        w("</ul></div>")
    w('</div><div class="site-footer__social"><ul>')
    for net in ("facebook", "x", "instagram", "youtube"):
        w(f'<li><a href="https://www.{net}.com/agency{index:04d}" aria-label="{net}">{_SVG.format(name=net)}</a></li>')
    w(
        f"</ul></div><address>{e(site)}<br>1 Civic Center Plaza, Room {200 + index % 100}<br>"
        f'{e(place)}</address><p class="site-footer__legal">© 2026 {e(site)}. '
        '<a href="/privacy">Privacy policy</a> · <a href="/terms">Terms of use</a> · '
        '<a href="/accessibility">Accessibility</a> · <a href="/language-access">Language access</a></p>'
        "</div></footer>\n"
    )
    for js in ("once", "drupal", "drupalSettingsLoader", "ajax", "views", "agency-menu", "agency-alert"):
        w(f'<script src="/core/assets/vendor/{js}.js?v=10.3.6"></script>\n')
    w("</body>\n</html>\n")
    return "".join(out).encode("utf-8")


# ------------------------------------------------------------------------------------------- all


def routes(total: int, phase: str) -> dict[str, tuple[bytes, str]]:
    """path -> (body, content type) for `total` sources in `phase`."""
    feeds, pages = split(total)
    out: dict[str, tuple[bytes, str]] = {}
    for i in range(feeds):
        out[feed_path(i)] = (build_feed(i, phase), "application/rss+xml; charset=utf-8")
    for i in range(pages):
        out[page_path(i)] = (build_page(i, phase), "text/html; charset=utf-8")
    return out


def watches(total: int, base_url: str) -> list[dict]:
    """The watch list for the monitor's configuration, in the order the routes are served."""
    feeds, pages = split(total)
    out: list[dict] = []
    for i in range(feeds):
        out.append({"id": f"feed-{i:04d}", "type": "feed", "url": base_url + feed_path(i)})
    for i in range(pages):
        out.append(
            {
                "id": f"page-{i:04d}",
                "type": "html",
                "url": base_url + page_path(i),
                "item": PAGE_ITEM,
                "fields": dict(PAGE_FIELDS),
            }
        )
    return out


def expected_changed(total: int) -> int:
    return len(expected_new_titles(total))


def expected_new_titles(total: int) -> dict[str, str]:
    """Watch id -> the title of the one item it gains in the `changed` phase (10% of the watches)."""
    feeds, pages = split(total)
    out = {f"feed-{i:04d}": new_feed_title(i) for i in range(feeds) if changed(i)}
    out.update({f"page-{i:04d}": new_page_title(i) for i in range(pages) if changed(i)})
    return out
