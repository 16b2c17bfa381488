"""The shop page's stylesheet, served at ``/static/shop.css``.

Kept as a Python string rather than a ``.css`` file so that it ships inside the package with any
install (setuptools leaves non-Python files out of a wheel unless they are declared as package data).
White, quiet, product first: consistent square picture frames in the renders' own backdrop colour,
one serif for headings, small caps for brands and navigation. No framework.
"""

CSS = """\
:root {
  --ink: #1b1b1b;
  --muted: #6f6f6a;
  --line: #e7e5e0;
  --paper: #ffffff;
  --pic: #f1f1ed; /* the product renders' own backdrop, so pictures sit flush in their frames */
  --accent: #8a3b2e;
  --card: 170px;
  font-family: "Helvetica Neue", Helvetica, Arial, "DejaVu Sans", sans-serif;
  color: var(--ink);
  background: var(--paper);
}
* { box-sizing: border-box; }
body { margin: 0; font-size: 14px; line-height: 1.45; }
a { color: inherit; text-decoration: none; }
h1, h2, h3 { font-family: Georgia, "Times New Roman", "DejaVu Serif", serif; font-weight: 400; margin: 0; }

/* header: logo, search, who is shopping; categories below */
.top {
  position: sticky; top: 0; z-index: 10;
  background: var(--paper); border-bottom: 1px solid var(--line);
}
.bar {
  display: flex; align-items: center; gap: 28px;
  max-width: 1280px; margin: 0 auto; padding: 14px 32px 10px;
}
.logo {
  font-family: Georgia, "DejaVu Serif", serif; font-size: 26px;
  letter-spacing: .28em; text-transform: uppercase;
}
.search { flex: 1; display: flex; max-width: 520px; margin-left: auto; }
.search input {
  flex: 1; border: 1px solid var(--line); border-right: 0; border-radius: 2px 0 0 2px;
  padding: 9px 12px; font: inherit; background: #faf9f7; outline: none;
}
.search input:focus { border-color: var(--ink); background: var(--paper); }
.search button, .button {
  border: 1px solid var(--ink); background: var(--ink); color: #fff; padding: 9px 16px;
  font: inherit; font-size: 12px; letter-spacing: .12em; text-transform: uppercase; cursor: pointer;
  border-radius: 0 2px 2px 0;
}
.button { display: inline-block; border-radius: 2px; }
.who {
  display: flex; align-items: center; gap: 8px;
  font-size: 12px; color: var(--muted); white-space: nowrap;
}
.who select {
  font: inherit; color: var(--ink); background: var(--paper);
  border: 1px solid var(--line); border-radius: 2px; padding: 7px 8px;
}
.look-link {
  display: flex; align-items: center; gap: 7px; white-space: nowrap;
  font-size: 11px; letter-spacing: .14em; text-transform: uppercase;
  padding: 8px 12px; border: 1px solid var(--line); border-radius: 2px;
}
.look-link:hover, .look-link.current { border-color: var(--ink); }
.look-link.current { background: var(--ink); color: #fff; }
.icon { flex: none; }
.cats {
  display: flex; gap: 22px; max-width: 1280px; margin: 0 auto; padding: 4px 32px 12px;
  overflow-x: auto; scrollbar-width: none; font-size: 11px; letter-spacing: .14em; text-transform: uppercase;
  -webkit-mask-image: linear-gradient(to right, #000 93%, transparent);
  mask-image: linear-gradient(to right, #000 93%, transparent);
}
.cats a {
  white-space: nowrap; color: var(--muted);
  padding-bottom: 2px; border-bottom: 1px solid transparent;
}
.cats a:hover, .cats a.current { color: var(--ink); border-bottom-color: var(--ink); }

main { max-width: 1280px; margin: 0 auto; padding: 0 32px 48px; }
.notice {
  margin: 16px 0 0; padding: 10px 14px; font-size: 13px;
  background: #fbf3e6; border: 1px solid #efdcbc;
}

/* home */
.hero {
  display: flex; align-items: baseline; flex-wrap: wrap; gap: 6px 18px;
  margin: 22px 0 4px; padding: 20px 28px; background: linear-gradient(100deg, #f4efe8, #ece6dd);
}
.hero h1 { font-size: 26px; }
.hero p { margin: 0; color: var(--muted); }

/* carousels: one row of equal cards, scrolled sideways */
.row { margin-top: 26px; }
.row h2 { font-size: 20px; margin-bottom: 10px; }
.row h3 {
  font-family: inherit; font-size: 12px; letter-spacing: .14em; text-transform: uppercase;
  color: var(--muted); margin-bottom: 10px;
}
.scroller {
  display: grid; grid-auto-flow: column; grid-auto-columns: var(--card); gap: 18px;
  overflow-x: auto; padding-bottom: 8px; scroll-snap-type: x proximity;
}
.scroller::-webkit-scrollbar { height: 6px; }
.scroller::-webkit-scrollbar-thumb { background: var(--line); border-radius: 3px; }

/* product card */
.card { display: flex; flex-direction: column; min-width: 0; scroll-snap-align: start; }
.pic { display: block; aspect-ratio: 1 / 1; background: var(--pic); overflow: hidden; margin-bottom: 9px; }
.pic img { display: block; width: 100%; height: 100%; object-fit: contain; transition: transform .25s ease; }
.card:hover .pic img { transform: scale(1.04); }
.brand { font-size: 11px; letter-spacing: .14em; text-transform: uppercase; color: var(--muted); }
.name {
  margin-top: 2px; min-height: 2.9em; overflow: hidden;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
}
.card:hover .name { text-decoration: underline; text-underline-offset: 2px; }
.price { margin-top: 4px; font-weight: 600; }
.sold {
  margin-left: 8px; font-weight: 400; font-size: 11px;
  color: var(--accent); text-transform: uppercase; letter-spacing: .08em;
}
.why {
  margin-top: 3px; font-size: 12px; color: var(--muted);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}

/* grids: search and category */
.results { margin-top: 28px; }
.results h1 { font-size: 30px; }
.count { color: var(--muted); margin: 4px 0 20px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(var(--card), 1fr)); gap: 28px 18px; }
.empty { color: var(--muted); padding: 40px 0; }

/* item page */
.crumbs { margin: 20px 0 14px; font-size: 12px; color: var(--muted); }
.crumbs a:hover { color: var(--ink); }
.product {
  display: grid; grid-template-columns: minmax(280px, 460px) minmax(260px, 1fr);
  gap: 48px; align-items: start;
}
.photo { background: var(--pic); aspect-ratio: 1 / 1; }
.photo img { display: block; width: 100%; height: 100%; object-fit: contain; }
.info { padding-top: 8px; max-width: 520px; }
.info h1 { font-size: 30px; margin: 4px 0 10px; }
.price.big { font-size: 20px; margin: 0; }
.stock { margin: 6px 0 18px; font-size: 12px; letter-spacing: .08em; text-transform: uppercase; }
.stock.in { color: #3d6b48; }
.stock.out { color: var(--accent); }
.sizes { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 18px; }
.size {
  min-width: 44px; text-align: center; font-size: 12px;
  padding: 7px 10px; border: 1px solid var(--line);
}
.desc { color: #3a3a37; margin: 0 0 18px; }
.attrs {
  display: grid; grid-template-columns: max-content 1fr; gap: 6px 24px;
  margin: 0; padding-top: 14px; border-top: 1px solid var(--line); font-size: 13px;
}
.attrs dt { color: var(--muted); }
.attrs dd { margin: 0; }
.look { margin-top: 40px; border-top: 1px solid var(--line); }
.look > h2 { font-size: 20px; margin-top: 26px; }
.look-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 0 40px; }
.look .row { margin-top: 16px; min-width: 0; }

/* shop the look: the upload form, the photo with its garments outlined, what to shop */
.look-intro {
  display: flex; align-items: center; justify-content: space-between; flex-wrap: wrap; gap: 16px 40px;
  margin: 22px 0 4px; padding: 22px 28px; background: linear-gradient(100deg, #f4efe8, #ece6dd);
}
.look-intro h1 { font-size: 26px; }
.look-intro p { margin: 4px 0 0; color: var(--muted); }
.upload { display: flex; align-items: center; flex-wrap: wrap; gap: 10px 14px; }
.upload .pick { display: inline-flex; align-items: center; gap: 8px; padding: 11px 18px; position: relative; }
.upload .send { background: var(--paper); color: var(--ink); }
.upload.js .send { display: none; }
.upload.js .pick input {
  position: absolute; inset: 0; width: 100%; height: 100%; opacity: 0; cursor: pointer;
}
.upload.busy .pick { opacity: .55; pointer-events: none; }
.hint { font-size: 12px; color: var(--muted); }
.upload-status { flex-basis: 100%; margin: 0; font-size: 13px; color: var(--muted); min-height: 1em; }
.upload-status:empty { display: none; }
.upload-status.bad { color: var(--accent); }

.look-steps {
  list-style: none; margin: 26px 0 0; padding: 0;
  display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 18px;
}
.look-steps li {
  display: flex; gap: 14px; align-items: flex-start; padding: 18px 0; border-top: 1px solid var(--line);
}
.look-steps b {
  flex: none; width: 30px; height: 30px; border-radius: 50%; border: 1px solid var(--ink);
  display: grid; place-items: center; font-family: Georgia, "DejaVu Serif", serif; font-weight: 400;
}
.look-steps p { margin: 4px 0 0; color: var(--muted); }
.look-steps strong { color: var(--ink); font-weight: 600; }
.look-result {
  display: grid; grid-template-columns: minmax(260px, 380px) minmax(0, 1fr);
  gap: 40px; align-items: start; margin-top: 28px;
}
.look-photo { position: sticky; top: 112px; }
.shot { position: relative; margin: 0; background: var(--pic); overflow: hidden; }
.shot img { display: block; width: 100%; height: 100%; object-fit: cover; }
.garment-box {
  position: absolute; border: 2px solid var(--slot); border-radius: 3px;
  box-shadow: 0 0 0 1px rgba(255, 255, 255, .7), inset 0 0 0 1px rgba(255, 255, 255, .5);
}
.garment-label {
  position: absolute; left: -2px; top: -2px; padding: 1px 7px 2px;
  background: var(--slot); color: #fff; border-radius: 3px 0 3px 0;
  font-size: 11px; font-weight: 600; letter-spacing: .04em; white-space: nowrap;
}
.look-side h2 { font-size: 20px; margin-bottom: 12px; }
.look-side h2 ~ h2 { margin-top: 30px; }
.look-side .count { margin-top: -6px; }
.garments { list-style: none; margin: 0; padding: 0; border-top: 1px solid var(--line); }
.garment { padding: 12px 0; border-bottom: 1px solid var(--line); }
.garment-head { display: flex; align-items: baseline; gap: 10px; margin-bottom: 8px; }
.swatch { width: 10px; height: 10px; border-radius: 2px; background: var(--slot); align-self: center; }
.garment .slot { font-size: 12px; letter-spacing: .14em; text-transform: uppercase; }
.confidence { font-size: 12px; color: var(--muted); }
.closest {
  margin-left: auto; font-size: 12px; color: var(--muted);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 50%;
}
.anchors { display: flex; gap: 8px; flex-wrap: wrap; }
.anchor { display: block; width: 64px; height: 64px; background: var(--pic); outline: 1px solid transparent; }
.anchor:hover { outline-color: var(--ink); }
.anchor img { display: block; width: 100%; height: 100%; object-fit: contain; }
.feed { margin-top: 44px; border-top: 1px solid var(--line); padding-top: 26px; }
.feed h2 { font-size: 20px; }
.feed-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 22px 18px; }
.feed-photo:hover .feed-slots { color: var(--ink); }
.feed-slots {
  display: block; margin-top: 7px; font-size: 11px; letter-spacing: .12em;
  text-transform: uppercase; color: var(--muted);
}
.feed .garment-label { display: none; }

.missing { padding: 80px 0; text-align: center; }
.missing h1 { font-size: 30px; margin-bottom: 10px; }
.missing p { color: var(--muted); }
.foot {
  border-top: 1px solid var(--line); padding: 22px;
  color: var(--muted); font-size: 12px; text-align: center;
}
.foot a { text-decoration: underline; }

@media (max-width: 760px) {
  .bar { flex-wrap: wrap; gap: 12px; padding: 12px 16px 8px; }
  .search { order: 3; max-width: none; flex-basis: 100%; }
  .cats, main { padding-left: 16px; padding-right: 16px; }
  .product { grid-template-columns: 1fr; gap: 20px; }
  .look-grid { grid-template-columns: 1fr; }
  .look-result { grid-template-columns: 1fr; gap: 24px; }
  .look-photo { position: static; max-width: 420px; }
  .look-link span { display: none; }
  :root { --card: 150px; }
}
"""
