"""The report page: one HTML file per language with the figures inline (base64 PNG), the styles
in the page and no external fonts, scripts or links, so it opens from disk offline. Headline
figures carry ``data-*`` attributes with their table row and value (tests compare them with the
tables)."""

from __future__ import annotations


import jinja2
import pandas as pd
from markupsafe import Markup, escape

from sinks import __version__
from sinks.plan import zone_levels
from sinks.report.build import FLAG_KINDS, SINK_METHODS, Headline, ReportData, basis_flags, scope_flags
from sinks.report.figures import Figure
from sinks.report.i18n import tr
from sinks.run import created_time

MT = 1e6


def fmt(x) -> str:
    """A number for reading: 3-4 significant figures, thousands separated."""
    if x is None or pd.isna(x):
        return "–"
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.1f}"
    if a >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def badges(flags, lang: str) -> Markup:
    """The badges of a figure, each a link to its explanation."""
    return Markup("".join(
        f'<a class="badge b-{k.lower()}" href="#flag-{k}" title="{escape(tr(lang, "flag", k))}">'
        f'{escape(tr(lang, "flag_name", k))}</a>' for k in FLAG_KINDS if k in flags))


def _years(y0, y1) -> str:
    return f"{int(y0)}" if int(y0) == int(y1) else f"{int(y0)}–{int(y1)}"


def zone_table(data: ReportData, level: str, lang: str) -> dict:
    """A level's table: per zone, the carbon stock of every epoch (Mt C) and each method's net
    sink of every period (Mt CO2/yr), each with its 95 % interval."""
    df = data.tables["zonal_summary"]
    rows = df[(df.zone_level == level) & (df.ecosystem == "all")]
    stock = rows[(rows.quantity == "carbon_stock") & (rows.method == "stock_difference")]
    sink = rows[(rows.quantity == "net_sink")]
    cols = [("carbon_stock", "stock_difference", y0, y1) for y0, y1 in
            stock[["year_start", "year_end"]].drop_duplicates().itertuples(index=False)]
    order = {m: i for i, m in enumerate(SINK_METHODS)}
    keys = sink[["method", "year_start", "year_end"]].drop_duplicates()
    keys = sorted(keys.itertuples(index=False), key=lambda k: (order.get(k[0], 9), k[1]))
    cols += [("net_sink", m, y0, y1) for m, y0, y1 in keys]
    head = [f"{tr(lang, 'quantity', q)} · {tr(lang, 'method', m)} {_years(y0, y1)}" for q, m, y0, y1 in cols]
    units = [tr(lang, "text", "stock_unit" if q == "carbon_stock" else "sink_unit") for q, *_ in cols]
    index = rows.set_index(["zone_id", "quantity", "method", "year_start", "year_end"]).sort_index()
    body = []
    for zid in rows.zone_id.unique():
        cells = []
        for q, m, y0, y1 in cols:
            key = (zid, q, m, y0, y1)
            if key not in index.index:
                cells.append(("–", ""))
                continue
            r = index.loc[key].iloc[0] if isinstance(index.loc[key], pd.DataFrame) else index.loc[key]
            ci = f"[{fmt(r.ci_low / MT)}, {fmt(r.ci_high / MT)}]" if pd.notna(r.ci_low) else ""
            cells.append((fmt(r.value / MT), ci))
        body.append((zid, data.names.get((level, zid), (zid, zid))[lang == "en"], cells))
    flags = set().union(*[basis_flags(b) for b in rows.basis.unique()]) | scope_flags(data.flags, level)
    return {"level": level, "title": tr(lang, "level", level), "head": head, "units": units,
            "body": body, "flags": frozenset(flags)}


def ecosystem_table(data: ReportData, lang: str) -> dict | None:
    """The headline zone's area (kha) and carbon stock (Mt C) of every ecosystem and epoch."""
    df = data.tables["zonal_summary"]
    lv, zid = data.head
    rows = df[(df.zone_level == lv) & (df.zone_id == zid) & (df.method == "stock_difference")
              & df.quantity.isin(["area", "carbon_stock"])]
    if rows.empty:
        return None
    years = sorted(rows.year_start.unique())
    wide = rows.pivot_table(index="ecosystem", columns=["quantity", "year_start"], values="value", aggfunc="sum")
    body = [(tr(lang, "ecosystem", eco), [fmt(wide.get(("area", y), {}).get(eco, float("nan")) / 1e3) for y in years]
             + [fmt(wide.get(("carbon_stock", y), {}).get(eco, float("nan")) / MT) for y in years])
            for eco in wide.index]
    head = ([f"{tr(lang, 'quantity', 'area')} {y} (kha)" for y in years]
            + [f"{tr(lang, 'quantity', 'carbon_stock')} {y} ({tr(lang, 'text', 'stock_unit')})" for y in years])
    flags = set().union(*[basis_flags(b) for b in rows.basis.unique()]) | scope_flags(data.flags, lv)
    return {"head": head, "body": body, "flags": frozenset(flags)}


def inventory_rows(data: ReportData, lang: str) -> list[dict]:
    inv = data.tables.get("inventory_comparison")
    if inv is None:
        return []
    out = []
    for r in inv.itertuples():
        flags = basis_flags(r.basis) | ({"UNCONFIRMED"} if str(r.status).upper() == "UNCONFIRMED" else set())
        ref = fmt(r.reference_value)
        if pd.notna(r.reference_low) and pd.notna(r.reference_high):
            ref += f" ({fmt(r.reference_low)}–{fmt(r.reference_high)})"
        out.append({"figure": r.figure, "quantity": tr(lang, "quantity", r.quantity),
                    "method": tr(lang, "method", r.method) if pd.notna(r.method) else "–",
                    "run": fmt(r.run_value), "ref": ref, "unit": r.unit, "verdict": r.verdict,
                    "status": r.status, "flags": frozenset(flags)})
    return out


def _headline_view(h: Headline, lang: str) -> dict:
    scale = 1.0 if h.source != "zonal_summary.csv" else MT
    unit = h.unit if scale == 1.0 else tr(lang, "text", "stock_unit" if h.quantity == "carbon_stock" else "sink_unit")
    label = (f"{tr(lang, 'quantity', h.quantity)} · {tr(lang, 'method', h.method)} "
             f"{_years(h.year_start, h.year_end)}")
    ci = (f"[{fmt(h.low / scale)}, {fmt(h.high / scale)}]" if h.low is not None and h.high is not None else "")
    return {"h": h, "label": label, "shown": fmt(h.value / scale), "ci": ci, "unit": unit, "attr_value": repr(h.value),
            "attr_low": "" if h.low is None else repr(h.low), "attr_high": "" if h.high is None else repr(h.high)}


def render(data: ReportData, heads: dict, maps: list[Figure], charts: list[Figure], lang: str,
           files: dict[str, str]) -> str:
    """The report page in ``lang``; ``files`` names each language's file (for the switch link)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    t = lambda key: tr(lang, "text", key)  # noqa: E731  (a short name for the template)
    other = "en" if lang == "zh" else "zh"
    lv, zid = data.head
    flags_by_kind = {k: [f for f in data.flags if f.kind == k] for k in FLAG_KINDS}
    return env.from_string(TEMPLATE).render(
        lang=lang, t=t, tr=lambda kind, key: tr(lang, kind, key), badges=lambda f: badges(f, lang),
        cfg=data.cfg, version=__version__, config_hash=data.config_hash,
        created=created_time().strftime("%Y-%m-%d %H:%M UTC"),
        other_file=files[other], head_zone=data.names.get((lv, zid), (zid, zid))[lang == "en"],
        head_level=tr(lang, "level", lv),
        stock=[_headline_view(h, lang) for h in heads["stock"]],
        sink=[_headline_view(h, lang) for h in heads["sink"]],
        inventory=[_headline_view(h, lang) for h in heads["inventory"]],
        maps=maps, charts=charts, zone_tables=[zone_table(data, lv_, lang) for lv_ in zone_levels(data.cfg)
                                               if (data.tables["zonal_summary"].zone_level == lv_).any()],
        inventory_rows=inventory_rows(data, lang), eco=ecosystem_table(data, lang), flags=flags_by_kind,
        run_config=data.run_config, inputs=data.inputs, packages=data.packages)


TEMPLATE = """<!DOCTYPE html>
<html lang="{{ 'zh-CN' if lang == 'zh' else 'en' }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t('title') }} – {{ cfg.run.name }}</title>
<style>
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "WenQuanYi Zen Hei", "Helvetica Neue", Arial, sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 1em 1.5em 4em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #238443; padding-bottom: 0.2em;
     margin-top: 2em; } h3 { margin-bottom: 0.3em; }
.meta { color: #555; font-size: 0.9em; } .switch { float: right; }
nav ol { columns: 2; font-size: 0.95em; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.hl { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 0.9em; min-width: 15em; background: #f8fbf8; }
.hl .v { font-size: 1.5em; font-weight: bold; } .hl .ci, .ci { color: #555; font-size: 0.85em; }
.hl .l { font-size: 0.9em; } .hl .ref { font-size: 0.8em; color: #444; }
.badge { display: inline-block; font-size: 0.72em; font-weight: bold; padding: 0.05em 0.5em; margin: 0 0.2em;
         border-radius: 0.8em; color: #fff; text-decoration: none; vertical-align: middle; }
.b-scenario { background: #2b6cb0; } .b-synthetic { background: #b7791f; }
.b-unconfirmed { background: #c53030; } .b-assumption { background: #6b46c1; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-weight: bold; margin-bottom: 0.3em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #eef5ee; text-align: left; } td.n, td.name { white-space: nowrap; } td.n { text-align: right; }
.scroll { overflow-x: auto; max-height: 36em; overflow-y: auto; }
pre { background: #f6f6f6; padding: 0.8em; font-size: 0.78em; overflow-x: auto; max-height: 40em; }
code { word-break: break-all; }
</style>
</head>
<body>
<a class="switch" href="{{ other_file }}">{{ t('other_language') }}</a>
<h1>{{ t('title') }}</h1>
<p class="meta">{{ t('run') }}: <b>{{ cfg.run.name }}</b> · {{ cfg.run.description }}<br>
{{ t('created') }}: {{ created }} · sinks {{ version }} · {{ t('config_hash') }} {{ config_hash }}</p>
<nav><h3>{{ t('contents') }}</h3><ol>
<li><a href="#headline">{{ t('headline') }}</a></li><li><a href="#maps">{{ t('maps') }}</a></li>
<li><a href="#charts">{{ t('charts') }}</a></li><li><a href="#zones">{{ t('zone_tables') }}</a></li>
{% if inventory_rows %}<li><a href="#inventory">{{ t('inventory') }}</a></li>{% endif %}
<li><a href="#flags">{{ t('flags') }}</a></li><li><a href="#provenance">{{ t('provenance') }}</a></li></ol></nav>

<h2 id="headline">{{ t('headline') }} – {{ head_level }} {{ head_zone }}</h2>
<p class="meta">{{ t('headline_note') }}</p>
{% for group, items in [(t('province_stock'), stock), (t('net_sink_by_method'), sink), (t('forest_vs_inventory'), inventory)] %}
{% if items %}<h3>{{ group }}</h3><div class="cards">
{% for x in items %}<div class="hl" data-source="{{ x.h.source }}" data-quantity="{{ x.h.quantity }}"
 data-method="{{ x.h.method }}" data-level="{{ x.h.level }}" data-zone="{{ x.h.zone_id }}"
 data-year-start="{{ x.h.year_start }}" data-year-end="{{ x.h.year_end }}" data-figure="{{ x.h.figure }}"
 data-value="{{ x.attr_value }}" data-low="{{ x.attr_low }}" data-high="{{ x.attr_high }}" data-unit="{{ x.h.unit }}">
<div class="l">{{ x.label }} {{ badges(x.h.flags) }}</div>
<div><span class="v">{{ x.shown }}</span> {{ x.unit }} <span class="ci">{{ x.ci }}</span></div>
{% if x.h.reference %}<div class="ref">{{ t('reference') }}: {{ x.h.reference }}</div>{% endif %}
</div>{% endfor %}</div>{% endif %}
{% endfor %}

<h2 id="maps">{{ t('maps') }}</h2>
<div class="grid">{% for f in maps %}<figure id="{{ f.key }}"><figcaption>{{ f.title }} {{ badges(f.flags) }}</figcaption>
<img alt="{{ f.title }}" src="data:image/png;base64,{{ f.png }}"></figure>{% else %}<p>{{ t('no_data') }}</p>{% endfor %}</div>

<h2 id="charts">{{ t('charts') }}</h2>
{% for f in charts %}<figure id="{{ f.key }}"><figcaption>{{ f.title }} {{ badges(f.flags) }}</figcaption>
<img alt="{{ f.title }}" src="data:image/png;base64,{{ f.png }}"></figure>{% endfor %}

<h2 id="zones">{{ t('zone_tables') }}</h2>
<p class="meta">{{ t('headline_note') }}</p>
{% if eco %}<h3 id="zones-ecosystems">{{ t('stock_by_ecosystem') }} – {{ head_level }} {{ head_zone }} {{ badges(eco.flags) }}</h3>
<table><thead><tr><th>{{ t('ecosystem') }}</th>{% for h in eco.head %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for name, cells in eco.body %}<tr><td class="name">{{ name }}</td>{% for v in cells %}<td class="n">{{ v }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>{% endif %}
{% for z in zone_tables %}<h3 id="zones-{{ z.level }}">{{ z.title }} {{ badges(z.flags) }}</h3>
<div class="scroll"><table><thead><tr><th>{{ t('zone_id') }}</th><th>{{ t('zone') }}</th>
{% for h in z.head %}<th>{{ h }}<br><span class="ci">{{ z.units[loop.index0] }}</span></th>{% endfor %}</tr></thead><tbody>
{% for zid, name, cells in z.body %}<tr><td>{{ zid }}</td><td class="name">{{ name }}</td>
{% for v, ci in cells %}<td class="n">{{ v }} <span class="ci">{{ ci }}</span></td>{% endfor %}</tr>{% endfor %}
</tbody></table></div>{% endfor %}

{% if inventory_rows %}<h2 id="inventory">{{ t('inventory') }}</h2>
<div class="scroll"><table><thead><tr><th>{{ t('figure') }}</th><th>{{ t('quantity') }}</th><th>{{ t('method') }}</th>
<th>{{ t('run_value') }}</th><th>{{ t('reference') }}</th><th>{{ t('unit') }}</th><th>{{ t('verdict') }}</th><th>{{ t('status') }}</th></tr></thead><tbody>
{% for r in inventory_rows %}<tr><td>{{ r.figure }}</td><td>{{ r.quantity }}</td><td>{{ r.method }}</td><td class="n">{{ r.run }}</td>
<td class="n">{{ r.ref }}</td><td>{{ r.unit }}</td><td>{{ r.verdict }}</td><td>{{ r.status }} {{ badges(r.flags) }}</td></tr>{% endfor %}
</tbody></table></div>{% endif %}

<h2 id="flags">{{ t('flags') }}</h2>
{% for kind, items in flags.items() %}<h3 id="flag-{{ kind }}">{{ badges([kind]) }} {{ tr('flag_name', kind) }}</h3>
<p>{{ tr('flag', kind) }}</p>
{% if items %}<div class="scroll"><table><thead><tr><th>{{ t('flag_where') }}</th><th>{{ t('flag_text') }}</th><th>{{ t('touches') }}</th></tr></thead><tbody>
{% for f in items %}<tr><td><code>{{ f.where }}</code></td><td>{{ f.text }}</td><td>{{ f.scope }}</td></tr>{% endfor %}
</tbody></table></div>{% endif %}{% endfor %}

<h2 id="provenance">{{ t('provenance') }}</h2>
<h3>{{ t('inputs') }}</h3>
<div class="scroll"><table><thead><tr><th>{{ t('file') }}</th><th>{{ t('size') }}</th><th>SHA-256</th></tr></thead><tbody>
{% for p, n, sha in inputs %}<tr><td><code>{{ p }}</code></td><td class="n">{{ "{:,}".format(n) }}</td><td><code>{{ sha }}</code></td></tr>{% endfor %}
</tbody></table></div>
<h3>{{ t('packages') }}</h3>
<table><thead><tr><th>{{ t('package') }}</th><th>{{ t('version') }}</th></tr></thead><tbody>
{% for p, v in packages %}<tr><td>{{ p }}</td><td>{{ v }}</td></tr>{% endfor %}</tbody></table>
<details><summary>{{ t('resolved_config') }}</summary><pre>{{ run_config }}</pre></details>
</body>
</html>
"""
