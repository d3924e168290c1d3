"""The offline documentation site: it builds from the notebooks, and every page works in a real browser.

`test_site_builds` always runs (it needs nbconvert from the dev extra). The browser
test needs headless Chromium (Debian's `chromium` package) and the `playwright`
Python package; without them it is skipped with a message saying what is missing.
Screenshots of the home page and one tutorial are written to `$MEME_NB_ARTIFACTS`
(default `_artifacts/` in the repository).
"""
import functools, http.server, importlib.util, os, re, shutil, socketserver, sys, threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tools'))
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Build the site once from a copy of the notebooks (the docs processing writes `_proc` beside them)."
    import build_site
    work = tmp_path_factory.mktemp('docs')
    for name in ('nbs', 'meme_nb'):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns('_proc', '.ipynb_checkpoints', '__pycache__'))
    shutil.copy(ROOT / 'pyproject.toml', work / 'pyproject.toml')
    cwd = os.getcwd()
    os.chdir(work)
    try: pages = build_site.build(out=work / '_site', nbs=work / 'nbs')
    finally: os.chdir(cwd)
    return work / '_site', pages


def _api_names():
    "Public names exported by each module, from nbdev's index: module page -> names."
    from meme_nb._modidx import d
    out = {}
    for key in d['syms']:
        mod = key.split('.', 1)[1]
        names = {k.split('.')[-1] for k in d['syms'][key] if '.' not in k.split('.', 2)[-1]}
        m = importlib.import_module(key)
        public = set(getattr(m, '__all__', []))
        out[f'{mod}.html'] = sorted(n for n in names if n in public)
    return out


def test_site_builds(site):
    out, pages = site
    names = {p.name for p in pages}
    assert 'index.html' in names
    for page, funcs in _api_names().items():
        if not funcs: continue
        assert page in names, f'no page {page} in the site'
        text = (out / page).read_text()
        for f in funcs: assert re.search(rf'\b(def|class) {re.escape(f)}\b|<h3 id="{re.escape(f)}"', text), f'{page}: no signature for {f}'


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


@pytest.fixture(scope='module')
def server(site):
    out, _ = site
    httpd = socketserver.TCPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(out)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown()


def _browser():
    if CHROMIUM is None: pytest.skip('headless Chromium not installed (Debian: apt-get install chromium); browser test skipped')
    pw = pytest.importorskip('playwright.sync_api', reason='playwright not installed (pip install playwright); browser test skipped')
    return pw.sync_playwright()


def _check_page(browser, url):
    "Load one page in a fresh tab; fail on console errors, failed requests or broken images; return its sidebar links."
    page, errors = browser.new_page(), []
    page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('response', lambda r: errors.append(f'HTTP {r.status} for {r.url}') if r.status >= 400 else None)
    resp = page.goto(url, wait_until='load')
    assert resp is not None and resp.ok, f'{url}: HTTP {resp and resp.status}'
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
    assert not broken, f'{url}: images that did not load: {broken}'
    assert not errors, f'{url}: console errors: {errors}'
    links = page.evaluate("[...document.querySelectorAll('#sidebar a')].map(a => a.href)")
    page.close()
    return links


def test_every_page_in_a_browser(site, server):
    out, pages = site
    art = Path(os.environ.get('MEME_NB_ARTIFACTS', ROOT / '_artifacts'))
    art.mkdir(parents=True, exist_ok=True)
    args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync']
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        links = set()
        for f in pages:
            links |= set(_check_page(browser, server + str(f.relative_to(out))))
        for link in sorted(links):
            assert (out / link[len(server):]).is_file(), f'sidebar link {link} does not resolve'
        assert len(links) == len(pages), f'sidebar has {len(links)} links for {len(pages)} pages'
        page = browser.new_page(viewport={'width': 1280, 'height': 1600})
        page.goto(server + 'index.html'); page.screenshot(path=str(art / 'home.png'), full_page=False)
        tut = sorted(f for f in pages if 'tutorials' in f.parts) or sorted(pages)
        page.goto(server + str(tut[0].relative_to(out))); page.screenshot(path=str(art / 'tutorial.png'), full_page=False)
        browser.close()
    assert (art / 'home.png').stat().st_size > 10_000


def test_report_page_in_a_browser(site, server):
    "The HTML written by `meme-nb report` opens cleanly: no console errors, every embedded figure loads."
    from meme_nb.report import report
    out, _ = site
    rep = report(out=out / 'report', n_loci=12, n_shuffles=2, n_top=2, verbose=False)
    args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync']
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        _check_page(browser, server + 'report/report.html')
        page = browser.new_page()
        page.goto(server + 'report/report.html')
        n_img = page.evaluate("document.images.length")
        tables = page.evaluate("document.querySelectorAll('table').length")
        browser.close()
    assert n_img >= 2 and tables >= 4, (n_img, tables)
    assert rep.html == out / 'report' / 'report.html'
