// The run UI in the browser: plain DOM, no framework. Every value from the module, the ledger or
// a bucket reaches the page as text (textContent, setAttribute), never as markup. Served, it
// reads the server's JSON API and polls it while the page is open; as a static report it reads
// the same answers from the JSON embedded in the page.
"use strict";

(() => {
  const embedded = document.getElementById("glacier-data");
  const REPORT = embedded ? JSON.parse(embedded.textContent) : null;
  const POLL_MS = 1500;
  const STATES = ["up to date", "stale", "failed", "running", "never run", "no data"];

  // ---- small helpers -------------------------------------------------------------------------

  /** An element with attributes and children; strings become text nodes. */
  function h(tag, attrs, ...children) {
    return fill(document.createElement(tag), attrs, children);
  }

  /** An SVG element. */
  function s(tag, attrs, ...children) {
    return fill(document.createElementNS("http://www.w3.org/2000/svg", tag), attrs, children);
  }

  function fill(el, attrs, children) {
    for (const [key, value] of Object.entries(attrs ?? {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function stateClass(state) {
    return "state-" + String(state).replace(/[^a-z]+/g, "-");
  }

  function badge(state) {
    return h("span", { class: `badge ${stateClass(state)}` }, state);
  }

  const BYTE_UNITS = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];

  function bytes(n) {
    if (n === null || n === undefined) return "";
    const power = Math.min(BYTE_UNITS.length - 1, Math.floor(Math.log10(Math.max(n, 1)) / 3));
    return new Intl.NumberFormat("en", {
      style: "unit",
      unit: BYTE_UNITS[power],
      maximumFractionDigits: 1,
    }).format(n / 1000 ** power);
  }

  function count(n) {
    return n === null || n === undefined ? "" : Number(n).toLocaleString("en");
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  function seconds(n) {
    return n === null || n === undefined ? "" : `${Number(n).toFixed(2)} s`;
  }

  function bucketLink(location) {
    return h("a", { href: "#/bucket/" + encodeURIComponent(location) }, location);
  }

  function runLink(runId) {
    return h("a", { href: "#/run/" + encodeURIComponent(runId), class: "mono" }, runId);
  }

  function message(kind, ...text) {
    return h(
      "div",
      { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" },
      text,
    );
  }

  function table(head, rows, attrs) {
    return h(
      "table",
      attrs,
      h("thead", null, h("tr", null, head.map((c) => h("th", null, c)))),
      h("tbody", null, rows.map((r) => h("tr", null, r.map((c) => h("td", null, c))))),
    );
  }

  async function get(path) {
    if (REPORT) {
      const found = REPORT[path];
      if (found === undefined) throw new Error(`this report does not hold ${path}`);
      if ("error" in found) throw new Error(found.error);
      return found.answer;
    }
    let response;
    try {
      response = await fetch(path, { headers: { accept: "application/json" } });
    } catch {
      throw new Error(
        "the Glacier UI server does not answer: is `glacier MODULE ui` still running?",
      );
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new Error(`the server answered ${path} with status ${response.status} and no JSON`);
    }
    if (!response.ok) throw new Error(body.error ?? `${path}: status ${response.status}`);
    return body;
  }

  // ---- page frame, routing, polling ----------------------------------------------------------

  const main = document.getElementById("view");
  const status = document.getElementById("status");
  let timer = null;
  let generation = 0;

  function poll(fn) {
    if (REPORT) return;
    const mine = generation;
    timer = setTimeout(async () => {
      if (mine !== generation) return;
      await fn();
      if (mine === generation) poll(fn);
    }, POLL_MS);
  }

  function show(...children) {
    main.replaceChildren(...children);
  }

  function showFailure(error) {
    show(message("error", error instanceof Error ? error.message : String(error)));
  }

  globalThis.addEventListener("error", (event) => {
    main.prepend(message("error", `the page hit an error: ${event.message}`));
  });

  async function route() {
    generation++;
    clearTimeout(timer);
    const hash = decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
    for (const link of document.querySelectorAll("nav a")) {
      link.classList.toggle("active", hash.startsWith(link.dataset.section));
    }
    try {
      if (hash.startsWith("/bucket/")) await showBucket(hash.slice("/bucket/".length));
      else if (hash.startsWith("/run/")) await showRun(hash.slice("/run/".length));
      else if (hash === "/runs") await showRuns();
      else await showGraph();
    } catch (error) {
      showFailure(error);
    }
  }

  function setStatus(view) {
    const parts = [`module ${view.name} · ${view.mode} · ledger ${view.ledger}`];
    if (view.liveRun) parts.push(` · run ${view.liveRun} in progress`);
    else if (view.lastRun) {
      parts.push(` · last run ${view.lastRun.status}, ${when(view.lastRun.startedAt)}`);
    }
    if (REPORT) parts.push(" · static report");
    status.textContent = parts.join("");
    document.title = `Glacier · ${view.name}`;
  }

  // ---- the graph -----------------------------------------------------------------------------

  /** The drawn graph, kept between visits so pan, zoom and layout survive navigation. */
  let drawn = null;

  async function showGraph() {
    const view = await get("/api/module");
    setStatus(view);
    const shape = JSON.stringify([view.nodes.map((n) => n.id), view.edges]);
    if (!drawn || drawn.shape !== shape) drawn = drawGraph(view, shape);
    updateGraph(view);
    show(drawn.root);
    drawn.fitOnce();
    poll(async () => {
      try {
        const next = await get("/api/module");
        setStatus(next);
        updateGraph(next);
        drawn.banner.replaceChildren();
      } catch (error) {
        drawn.banner.replaceChildren(message("error", error.message));
      }
    });
  }

  function labelWidth(text, px) {
    return Math.ceil(text.length * px);
  }

  function clip(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function drawGraph(view, shape) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 22, ranksep: 70, edgesep: 12, marginx: 30, marginy: 30 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const node of view.nodes) {
      const text = Math.max(labelWidth(node.label, 7.4), labelWidth(node.detail, 6.4));
      g.setNode(node.id, {
        width: Math.min(280, Math.max(150, text + 28)),
        height: node.kind === "task" ? 62 : 70,
      });
    }
    // An edge says the input's name and how a partitioned step reads it, when it says anything.
    const edgeText = (edge) => [edge.label, edge.mapping].filter(Boolean).join(": ");
    for (const edge of view.edges) {
      const text = edgeText(edge);
      g.setEdge(
        edge.from,
        edge.to,
        text ? { label: text, width: labelWidth(text, 6.2), height: 14 } : {},
      );
    }
    dagre.layout(g);
    const { width, height } = g.graph();

    const edges = s("g", { class: "edges" });
    for (const edge of view.edges) {
      const e = g.edge(edge.from, edge.to);
      const [first, ...rest] = e.points;
      const d = `M${first.x},${first.y}` + rest.map((p) => ` L${p.x},${p.y}`).join("");
      edges.append(s("path", { d, "marker-end": "url(#arrow)" }));
      if (edgeText(edge)) {
        edges.append(s("text", { x: e.x, y: e.y + 4, class: "edge-label" }, edgeText(edge)));
      }
    }
    const nodes = s("g", { class: "nodes" });
    const byId = new Map();
    for (const node of view.nodes) {
      const n = g.node(node.id);
      const x = n.x - n.width / 2;
      const y = n.y - n.height / 2;
      const title = s("title");
      const reason = s("text", { x: n.x, y: y + n.height - 12, class: "reason" });
      const shapeEl = node.kind === "task"
        ? s("rect", { x, y, width: n.width, height: n.height, rx: 10, class: "shape" })
        : s("path", { d: cylinder(x, y, n.width, n.height), class: "shape" });
      const group = s(
        "g",
        {
          class: `node ${node.kind}`,
          "data-id": node.id,
          "data-kind": node.kind,
          tabindex: 0,
          role: "button",
          "aria-label": `${node.kind} ${node.label}`,
        },
        title,
        shapeEl,
        node.kind === "bucket" ? s("path", { d: cylinderLid(x, y, n.width), class: "lid" }) : null,
        s(
          "text",
          { x: n.x, y: y + (node.kind === "task" ? 22 : 30), class: "label" },
          clip(node.label, 36),
        ),
        s(
          "text",
          { x: n.x, y: y + (node.kind === "task" ? 37 : 45), class: "detail" },
          clip(node.detail, 40),
        ),
        reason,
      );
      group.addEventListener("click", () => {
        if (pan.moved) return;
        select(node.id);
      });
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter") select(node.id);
      });
      nodes.append(group);
      byId.set(node.id, { group, title, reason, node, box: n });
    }

    const viewport = s("g", { class: "viewport" }, edges, nodes);
    const svg = s(
      "svg",
      { class: "graph", role: "img", "aria-label": `graph of module ${view.name}` },
      s(
        "defs",
        null,
        s(
          "marker",
          {
            id: "arrow",
            viewBox: "0 0 10 10",
            refX: 10,
            refY: 5,
            markerWidth: 7,
            markerHeight: 7,
            orient: "auto-start-reverse",
          },
          s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }),
        ),
      ),
      viewport,
    );

    const pan = { x: 0, y: 0, k: 1, moved: false, fitted: false };
    const apply = () => {
      viewport.setAttribute("transform", `translate(${pan.x},${pan.y}) scale(${pan.k})`);
      svg.classList.toggle("far", pan.k < 0.45);
    };
    const zoomAt = (factor, cx, cy) => {
      const k = Math.min(3, Math.max(0.05, pan.k * factor));
      pan.x = cx - (cx - pan.x) * (k / pan.k);
      pan.y = cy - (cy - pan.y) * (k / pan.k);
      pan.k = k;
      apply();
    };
    const fit = (readable) => {
      const box = svg.getBoundingClientRect();
      if (box.width === 0) return false;
      const whole = Math.min(box.width / width, box.height / height, 1.2);
      // A large module opens at a readable scale at its sources; "fit" shows all of it.
      pan.k = readable && whole < 0.45 ? 0.75 : whole;
      pan.x = pan.k === whole ? (box.width - width * pan.k) / 2 : 0;
      pan.y = pan.k === whole ? (box.height - height * pan.k) / 2 : 0;
      apply();
      return true;
    };
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = svg.getBoundingClientRect();
      zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    svg.addEventListener("pointerdown", (event) => {
      const start = { x: event.clientX, y: event.clientY, px: pan.x, py: pan.y };
      pan.moved = false;
      const move = (e) => {
        const dx = e.clientX - start.x;
        const dy = e.clientY - start.y;
        if (Math.abs(dx) + Math.abs(dy) > 4) pan.moved = true;
        if (!pan.moved) return;
        pan.x = start.px + dx;
        pan.y = start.py + dy;
        apply();
      };
      const up = () => {
        globalThis.removeEventListener("pointermove", move);
        globalThis.removeEventListener("pointerup", up);
      };
      globalThis.addEventListener("pointermove", move);
      globalThis.addEventListener("pointerup", up);
    });

    const centre = (id) => {
      const found = byId.get(id);
      if (!found) return;
      const box = svg.getBoundingClientRect();
      pan.k = Math.max(pan.k, 0.9);
      pan.x = box.width / 2 - found.box.x * pan.k;
      pan.y = box.height / 2 - found.box.y * pan.k;
      apply();
    };

    const side = h("aside", { class: "details" });
    const select = (id) => {
      const found = byId.get(id);
      if (!found) return;
      if (found.node.kind === "bucket") {
        location.hash = "#/bucket/" + encodeURIComponent(found.node.location);
        return;
      }
      for (const other of byId.values()) other.group.classList.remove("selected");
      found.group.classList.add("selected");
      side.replaceChildren(taskDetails(found.node, view.edges, byId));
    };

    const search = h("input", {
      type: "search",
      placeholder: "find a task or bucket",
      "aria-label": "find a task or bucket",
    });
    search.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      const wanted = search.value.trim().toLowerCase();
      const hit = [...byId.values()].find((n) =>
        n.node.label.toLowerCase().includes(wanted) ||
        (n.node.location ?? "").toLowerCase().includes(wanted)
      );
      if (hit) {
        centre(hit.node.id);
        for (const other of byId.values()) other.group.classList.remove("selected");
        hit.group.classList.add("selected");
      }
    });

    const legend = h("div", { class: "legend" });
    const banner = h("div", { class: "banner" });
    const root = h(
      "div",
      { class: "graph-page" },
      h(
        "div",
        { class: "toolbar" },
        legend,
        h("span", { class: "spacer" }),
        search,
        h("button", {
          type: "button",
          title: "zoom in",
          onclick: () => zoomAt(1.25, svg.clientWidth / 2, svg.clientHeight / 2),
        }, "+"),
        h("button", {
          type: "button",
          title: "zoom out",
          onclick: () => zoomAt(0.8, svg.clientWidth / 2, svg.clientHeight / 2),
        }, "−"),
        h(
          "button",
          { type: "button", title: "show the whole module", onclick: () => fit(false) },
          "fit",
        ),
      ),
      banner,
      h("div", { class: "graph-body" }, h("div", { class: "canvas" }, svg), side),
    );
    side.append(
      h(
        "p",
        { class: "hint" },
        "Click a bucket to open it, a task to see why it stands as it does.",
      ),
    );
    return {
      shape,
      root,
      byId,
      legend,
      banner,
      side,
      fitOnce: () => {
        if (!pan.fitted) pan.fitted = fit(true);
      },
    };
  }

  function cylinder(x, y, w, h) {
    const ry = 8;
    return `M${x},${y + ry} A${w / 2},${ry} 0 0 1 ${x + w},${y + ry} L${x + w},${y + h - ry} ` +
      `A${w / 2},${ry} 0 0 1 ${x},${y + h - ry} Z`;
  }

  function cylinderLid(x, y, w) {
    const ry = 8;
    return `M${x},${y + ry} A${w / 2},${ry} 0 0 0 ${x + w},${y + ry}`;
  }

  function updateGraph(view) {
    const counts = new Map(STATES.map((st) => [st, 0]));
    for (const node of view.nodes) {
      const found = drawn.byId.get(node.id);
      if (!found) continue;
      found.node = node;
      counts.set(node.state, (counts.get(node.state) ?? 0) + 1);
      for (const c of [...found.group.classList]) {
        if (c.startsWith("state-")) found.group.classList.remove(c);
      }
      found.group.classList.add(stateClass(node.state));
      found.group.dataset.state = node.state;
      const partitions = node.partitions
        ? ` · ${node.partitions.upToDate}/${node.partitions.total} partitions up to date`
        : "";
      const plain = node.state === "up to date" || node.state === "running";
      const shown = plain ? node.state : `${node.state}: ${node.reason}`;
      found.reason.textContent = clip(shown + partitions, Math.floor(found.box.width / 6));
      found.title.textContent =
        `${node.kind} ${node.label} (${node.detail})\n${node.state}: ${node.reason}` +
        partitions + (node.keys ? `\n${node.keys.join("\n")}` : "") +
        (node.description ? `\n${node.description}` : "");
    }
    drawn.legend.replaceChildren(
      ...STATES.filter((st) => counts.get(st) > 0).map((st) =>
        h("span", { class: "legend-item" }, badge(st), ` ${counts.get(st)}`)
      ),
    );
    const selected = drawn.root.querySelector(".node.selected");
    if (selected) {
      const found = drawn.byId.get(selected.dataset.id);
      drawn.side.replaceChildren(taskDetails(found.node, view.edges, drawn.byId));
    }
    if (!view.lastRun && !drawn.banner.hasChildNodes()) {
      drawn.banner.append(
        message(
          "info",
          `No runs recorded yet in ${view.ledger}: every task shows as never run. Run the module ` +
            `(glacier ${view.module} run) and this page follows it.`,
        ),
      );
    }
  }

  function taskDetails(node, edges, byId) {
    const id = node.id;
    const reads = edges.filter((e) => e.to === id).map((e) => byId.get(e.from).node);
    const writes = edges.filter((e) => e.from === id).map((e) => byId.get(e.to).node);
    return h(
      "div",
      { class: "task-details" },
      h("h2", null, node.label),
      h("p", null, badge(node.state), node.reason === node.state ? "" : ` ${node.reason}`),
      node.description ? h("p", null, node.description) : null,
      h("dl", null, h("dt", null, "resource"), h("dd", null, node.detail)),
      h("h3", null, "reads"),
      h("ul", null, reads.map((b) => h("li", null, bucketLink(b.location), " ", badge(b.state)))),
      h("h3", null, "writes"),
      h("ul", null, writes.map((b) => h("li", null, bucketLink(b.location), " ", badge(b.state)))),
    );
  }

  // ---- a bucket ------------------------------------------------------------------------------

  async function showBucket(location) {
    const view = await get("/api/bucket?location=" + encodeURIComponent(location));
    const rows = h(
      "section",
      { class: "rows" },
      h("h2", null, "First rows"),
      h("p", null, "Reading…"),
    );
    show(
      h(
        "article",
        { class: "bucket-view" },
        h("p", null, h("a", { href: "#/" }, "← graph")),
        h("h1", null, view.path, " ", h("small", null, view.bucket)),
        h("p", null, badge(view.state), view.reason === view.state ? "" : ` ${view.reason}`),
        h(
          "dl",
          { class: "facts" },
          h("dt", null, "stored at"),
          h("dd", { class: "mono" }, view.where),
          h("dt", null, "format"),
          h("dd", null, view.format),
          h("dt", null, "written by"),
          h(
            "dd",
            null,
            view.producer
              ? [
                `task ${view.producer.task} (${view.producer.resource}) from `,
                ...joinNodes(
                  Object.entries(view.producer.inputs).map(([name, loc]) =>
                    h("span", null, `${name}: `, bucketLink(loc))
                  ),
                ),
              ]
              : "no task of the module: written outside it",
          ),
          h("dt", null, "read by"),
          h(
            "dd",
            null,
            view.consumers.length
              ? joinNodes(
                view.consumers.map((c) =>
                  h("span", null, `task ${c.task} → `, bucketLink(c.target))
                ),
              )
              : "no task of the module",
          ),
          view.keys ? h("dt", null, "partition keys") : null,
          view.keys ? h("dd", null, view.keys.join("; ")) : null,
          view.partitions ? h("dt", null, "partitions") : null,
          view.partitions
            ? h("dd", null, `${view.partitions.upToDate} of ${view.partitions.total} up to date`)
            : null,
        ),
        h(
          "section",
          null,
          h("h2", null, "Schema"),
          table(["column", "dtype"], view.schema.map((c) => [c.column, c.dtype]), {
            class: "schema",
          }),
        ),
        h("section", { class: "checks" }, h("h2", null, "Checks"), checksTable(view.checks)),
        h(
          "section",
          { class: "versions" },
          h("h2", null, "Versions"),
          view.versions.length
            ? table(
              ["written", "run", "task", "rows", "bytes", ""],
              view.versions.map((v) => [
                when(v.createdAt),
                runLink(v.runId),
                v.task ?? "outside a run",
                count(v.rows),
                bytes(v.bytes),
                v.current ? "current" : "",
              ]),
            )
            : message("info", "No version recorded: no run has written or read this bucket yet."),
        ),
        lineageSection(view.lineage),
        rows,
      ),
    );
    try {
      const data = await get("/api/rows?location=" + encodeURIComponent(location));
      rows.replaceChildren(
        h(
          "h2",
          null,
          `First ${data.rows.length} rows`,
          data.total === null ? "" : ` of ${count(data.total)}`,
        ),
        h(
          "div",
          { class: "scroll" },
          table(
            data.columns.map((c) => h("span", null, c.column, h("small", null, c.dtype))),
            data.rows.map((r) => r.map((cell) => cell === null ? h("em", null, "null") : cell)),
            { class: "data" },
          ),
        ),
      );
    } catch (error) {
      rows.replaceChildren(h("h2", null, "First rows"), message("error", error.message));
    }
  }

  function joinNodes(nodes) {
    return nodes.flatMap((n, i) => (i === 0 ? [n] : [", ", n]));
  }

  function checksTable(checks) {
    if (!checks || checks.length === 0) {
      return message("info", "No check results recorded for this bucket.");
    }
    return table(
      ["check", "severity", "result", "failing rows", "sample", "run"],
      checks.map((c) => [
        c.name,
        c.severity,
        badge(c.passed ? "passed" : "failed"),
        count(c.failingRows),
        c.sample && c.sample.length ? h("code", null, JSON.stringify(c.sample)) : "",
        c.runId ? runLink(c.runId) : "",
      ]),
    );
  }

  function lineageSection(lineage) {
    const links = (rows, arrow) =>
      rows.length === 0 ? message("info", "None.") : table(
        ["column", arrow === "←" ? "comes from" : "goes to"],
        rows.map((r) => [
          h("code", null, r.column),
          h(
            "ul",
            null,
            r.links.map((l) =>
              h(
                "li",
                null,
                `${arrow} `,
                bucketLink(l.bucket),
                " ",
                h("code", null, l.column),
                h(
                  "small",
                  null,
                  ` ${l.type.toLowerCase()}, ${l.subtype.toLowerCase()} · task ${l.task}`,
                ),
              )
            ),
          ),
        ]),
      );
    return h(
      "section",
      { class: "lineage" },
      h("h2", null, "Column lineage"),
      lineage.notes.map((n) => message("info", n)),
      h("h3", null, "Upstream"),
      links(lineage.upstream, "←"),
      h("h3", null, "Downstream"),
      links(lineage.downstream, "→"),
    );
  }

  // ---- runs ----------------------------------------------------------------------------------

  async function showRuns() {
    const render = (view) => {
      if (view.runs.length === 0) {
        return message(
          "info",
          `No runs recorded yet in ${view.ledger}. Run the module (glacier MODULE run) and they ` +
            "appear here.",
        );
      }
      return table(
        ["run", "started", "mode", "status", "ran", "skipped", "failed", "duration"],
        view.runs.map((r) => [
          runLink(r.runId),
          when(r.startedAt),
          r.mode,
          badge(runStatus(r)),
          count(r.ran),
          count(r.skipped),
          count(r.failed),
          seconds(r.seconds),
        ]),
        { class: "runs" },
      );
    };
    const body = h("div", null, render(await get("/api/runs")));
    show(h("article", null, h("h1", null, "Runs"), body));
    poll(async () => {
      try {
        body.replaceChildren(render(await get("/api/runs")));
      } catch (error) {
        body.replaceChildren(message("error", error.message));
      }
    });
  }

  function runStatus(run) {
    if ((run.status === "running" || run.status === "publishing") && !run.live) {
      return "ended without finishing";
    }
    return run.status;
  }

  async function showRun(runId) {
    const path = "/api/runs/" + encodeURIComponent(runId);
    const body = h("div");
    const render = (run) => body.replaceChildren(runBody(run));
    const first = await get(path);
    render(first);
    show(
      h("article", { class: "run-view" }, h("p", null, h("a", { href: "#/runs" }, "← runs")), body),
    );
    if (first.live) {
      poll(async () => {
        try {
          render(await get(path));
        } catch (error) {
          body.replaceChildren(message("error", error.message));
        }
      });
    }
  }

  function runBody(run) {
    const start = Date.parse(run.startedAt);
    const now = Date.now();
    const ends = run.steps.map((st) =>
      (st.startedAt ? Date.parse(st.startedAt) : start) + st.seconds * 1000
    );
    const end = run.seconds !== null ? start + run.seconds * 1000 : Math.max(now, ...ends);
    const span = Math.max(end - start, 1);
    const bar = (from, to, cls, label) =>
      h(
        "div",
        { class: "track" },
        h("div", {
          class: `bar ${cls}`,
          style: `left:${(100 * (from - start) / span).toFixed(2)}%;width:${
            Math.max(0.4, 100 * (to - from) / span).toFixed(2)
          }%`,
          title: label,
        }),
      );
    const timeline = h(
      "div",
      { class: "timeline" },
      run.steps.map((st) => {
        const from = st.startedAt ? Date.parse(st.startedAt) : start;
        return h(
          "div",
          { class: "lane" },
          h("span", { class: "lane-name" }, st.task),
          bar(from, from + st.seconds * 1000, stateClass(st.status), `${st.status}: ${st.reason}`),
          h("span", { class: "lane-time" }, seconds(st.seconds)),
        );
      }),
      run.pending.map((task) =>
        h(
          "div",
          { class: "lane" },
          h("span", { class: "lane-name" }, task),
          h("div", { class: "track" }, h("div", { class: "bar pending" })),
          h("span", { class: "lane-time" }, "not ended"),
        )
      ),
    );
    const failures = run.steps.filter((st) => st.error);
    const checks = run.steps.filter((st) => st.checks && st.checks.length);
    return h(
      "div",
      null,
      h("h1", null, "Run ", h("span", { class: "mono" }, run.runId)),
      h(
        "p",
        null,
        badge(runStatus(run)),
        ` ${run.pipeline} · ${run.mode} · started ${when(run.startedAt)}`,
        run.seconds === null ? " · in progress" : ` · ${seconds(run.seconds)}`,
        ` · ${run.host}, pid ${run.pid}`,
      ),
      run.error ? h("pre", { class: "error-text" }, run.error) : null,
      h("h2", null, "Timeline"),
      timeline,
      h("h2", null, "Steps"),
      table(
        ["task", "status", "why", "target", "rows", "bytes", "time"],
        run.steps.map((st) => [
          st.task,
          badge(st.status),
          st.reason,
          bucketLink(st.target),
          count(st.rows),
          bytes(st.bytes),
          seconds(st.seconds),
        ]).concat(
          run.pending.map((task) => [task, badge("running"), "not ended yet", "", "", "", ""]),
        ),
        { class: "steps" },
      ),
      checks.length ? h("h2", null, "Checks") : null,
      checks.map((st) => h("section", null, h("h3", null, st.task), checksTable(st.checks))),
      failures.length ? h("h2", null, "Errors") : null,
      failures.map((st) =>
        h(
          "section",
          { class: "failure" },
          h("h3", null, st.task),
          h("pre", { class: "error-text" }, st.error),
        )
      ),
    );
  }

  globalThis.addEventListener("hashchange", route);
  route();
})();
