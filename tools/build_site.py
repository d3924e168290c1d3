"""Build the documentation site offline, without Quarto.

Quarto renders the real site (`nbdev-docs`, see `.github/workflows/deploy.yaml`),
but it cannot be installed everywhere. This script renders the same processed
notebooks: it runs nbdev's own notebook processing (`nbdev.serve.proc_nbs`, which
executes the `show_doc` cells and applies `#| hide`, `#| echo: false` and the
other directives) and turns each processed notebook into a static HTML page with
nbconvert, inside a page that carries the sidebar of `nbs/sidebar.yml`.

Usage: python tools/build_site.py [--out _site] [--open]
Then browse `_site/index.html` (or `python -m http.server -d _site`).
"""
import argparse, html, re, shutil, sys, warnings
from pathlib import Path

import yaml
import nbformat

ROOT = Path(__file__).resolve().parents[1]
SITE_URL = 'https://meme-nb.github.io/meme_nb/'

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title} – meme_nb</title>
<style>{css}</style></head>
<body><nav class="sidebar" id="sidebar"><a class="brand" href="{home}">meme_nb</a>{nav}</nav>
<main class="page"><header><h1 class="title">{title}</h1><p class="description">{description}</p></header>
{body}</main></body></html>
"""

CSS = """
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; display: flex; }
.sidebar { width: 15rem; min-height: 100vh; padding: 1rem; background: #f6f7f9; border-right: 1px solid #ddd; flex-shrink: 0; }
.sidebar a { display: block; color: #2a5db0; text-decoration: none; padding: .15rem 0; }
.sidebar a.active { font-weight: 600; color: #111; }
.sidebar .brand { font-size: 1.3rem; font-weight: 700; margin-bottom: .8rem; color: #111; }
.sidebar .section { margin-top: .8rem; font-weight: 600; color: #555; font-size: .85rem; text-transform: uppercase; }
.page { max-width: 60rem; padding: 1rem 2rem 4rem; overflow-x: auto; }
.description { color: #555; font-size: 1.1rem; }
pre, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .88rem; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; border-radius: 4px; }
.jp-OutputArea-output pre { background: #fff; border-left: 3px solid #ddd; }
img { max-width: 100%; }
table { border-collapse: collapse; } th, td { border: 1px solid #ddd; padding: .2rem .5rem; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
h1 a.anchor-link, h2 a.anchor-link, h3 a.anchor-link { display: none; }
"""


def _front_matter(nb):
    "Front matter (title, description, output-file) of a processed notebook, and the remaining cells."
    cells = list(nb.cells)
    if cells and cells[0].cell_type == 'raw' and cells[0].source.startswith('---'):
        return yaml.safe_load(cells[0].source.strip().strip('-')) or {}, cells[1:]
    return {}, cells


def _directives(src):
    "Quarto/nbdev `#|` directives at the top of a cell, and the source without them."
    lines, d = src.splitlines(), {}
    while lines and lines[0].startswith('#|'):
        k, _, v = lines.pop(0)[2:].partition(':')
        d[k.strip()] = v.strip()
    return d, '\n'.join(lines)


_CELL_KEYS = {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}

def _clean_cell(c):
    "Apply the directives Quarto would: hide inputs (`echo: false`), drop `include: false` cells."
    d, src = _directives(c.source)
    if d.get('include') == 'false': return None
    for k in [k for k in c if k not in _CELL_KEYS]: del c[k]  # nbdev's processing leaves its own keys
    c.metadata.pop('execution', None)
    c.source = src
    if c.cell_type == 'code' and d.get('echo') == 'false': c.metadata.setdefault('tags', []).append('remove_input')
    return c


def _local_links(text):
    "Point links at the published site to the local pages and drop Quarto attribute blocks."
    text = text.replace(SITE_URL, '')
    text = re.sub(r'\{target="_blank"[^}]*\}', '', text)
    return re.sub(r'href="([^":#]+)\.ipynb', r'href="\1.html', text)


def _fix_markdown(c):
    if c.cell_type == 'markdown': c.source = _local_links(re.sub(r'\]\(([^):#]+)\.ipynb', r'](\1.html', c.source))
    for o in c.get('outputs', []):
        md = o.get('data', {}).get('text/markdown')
        if md is not None: o['data']['text/markdown'] = _local_links(''.join(md))
    return c


def _exporter():
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    cfg = Config()
    cfg.TagRemovePreprocessor.remove_input_tags = ('remove_input',)
    cfg.TagRemovePreprocessor.enabled = True
    cfg.HTMLExporter.preprocessors = ['nbconvert.preprocessors.TagRemovePreprocessor']
    return HTMLExporter(config=cfg, template_name='basic', exclude_input_prompt=True, exclude_output_prompt=True)


def _nav_items(items, out=None):
    "Flatten sidebar.yml into (kind, value) items: ('page', 'x.ipynb') or ('section', 'Title')."
    out = [] if out is None else out
    for it in items:
        if isinstance(it, str): out.append(('page', it))
        else:
            out.append(('section', it.get('section', '')))
            _nav_items(it.get('contents', []), out)
    return out


def _nav_html(items, pages, current):
    parts = []
    for kind, v in items:
        if kind == 'section': parts.append(f'<div class="section">{html.escape(v)}</div>')
        elif v in pages:
            href, title = pages[v]
            cls = ' class="active"' if href == current else ''
            parts.append(f'<a href="{href}"{cls}>{html.escape(title)}</a>')
    return '\n'.join(parts)


def process(nbs=ROOT / 'nbs', quiet=True):
    "Run nbdev's docs processing of every notebook; return the `_proc` folder. Raises if a notebook failed."
    from nbdev.serve import proc_nbs
    with warnings.catch_warnings():
        if quiet: warnings.simplefilter('ignore')
        proc = Path(proc_nbs(path=str(nbs), n_workers=0, force=True))
    want = {p.relative_to(nbs) for p in nbs.rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.relative_to(nbs).parts)}
    got = {p.relative_to(proc) for p in proc.rglob('*.ipynb')}
    if want - got: raise RuntimeError(f'nbdev could not process these notebooks for the docs: {sorted(map(str, want - got))} (see the traceback above)')
    return proc


def build(out=ROOT / '_site', nbs=ROOT / 'nbs'):
    "Render every notebook to `out`; return the list of pages written."
    proc, out = process(nbs), Path(out)
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    items = _nav_items(yaml.safe_load((nbs / 'sidebar.yml').read_text())['website']['sidebar']['contents'])
    docs = {}
    for kind, v in items:
        if kind != 'page': continue
        fm, cells = _front_matter(nbformat.read(proc / v, as_version=4))
        docs[v] = (fm, cells)
    pages = {v: (fm.get('output-file', Path(v).with_suffix('.html').name) if '/' not in v else
                 str(Path(v).parent / fm.get('output-file', Path(v).with_suffix('.html').name)), fm.get('title', Path(v).stem))
             for v, (fm, _) in docs.items()}
    exporter, written = _exporter(), []
    for v, (fm, cells) in docs.items():
        nb = nbformat.read(proc / v, as_version=4)
        nb.cells = [_fix_markdown(c) for c in map(_clean_cell, cells) if c is not None]
        body, _resources = exporter.from_notebook_node(nb)
        body = re.sub(r'(?s)^.*?<body[^>]*>|</body>.*$', '', body)
        href, title = pages[v]
        depth = href.count('/')
        nav = _nav_html(items, {k: ('../' * depth + h, t) for k, (h, t) in pages.items()}, '../' * depth + href)
        page = out / href
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(PAGE.format(home='../' * depth + 'index.html', title=html.escape(str(title)), description=html.escape(str(fm.get('description', ''))),
                                    css=CSS + _pygments_css(), nav=nav, body=body))
        written.append(page)
    return written


def _pygments_css():
    from pygments.formatters import HtmlFormatter
    return HtmlFormatter(style='default').get_style_defs('.highlight')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '_site'), help='output folder (default: _site)')
    a = ap.parse_args()
    pages = build(Path(a.out))
    print(f'wrote {len(pages)} pages to {a.out}; open {Path(a.out) / "index.html"}')
    sys.exit(0)
