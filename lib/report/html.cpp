// The rollout report as one self-contained HTML page: CSS and SVG inline,
// no script, no font, no image and no link that would make a browser fetch
// anything, so it can be mailed, attached to an incident or opened on an
// air-gapped host. The charts are drawn here, on a fixed 900-pixel-wide
// canvas each (the page scales them down on narrow screens); every string
// that comes from the store (actors, reasons, ids, evidence) goes through
// html_escape, in text and in attributes alike.
#include "report/report.hpp"

#include "gate/stats.hpp"
#include "rollout/lifecycle.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace kanari::report {

using nlohmann::json;

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

namespace {

constexpr const char* k_canary_colour = "#d9480f";
constexpr const char* k_stable_colour = "#1c7ed6";

std::string num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string pct(double rate) { return num(100.0 * rate) + " %"; }

std::string pct_text(std::int64_t bp) { return rollout::percentage_json(bp).dump() + " %"; }

std::string ms_text(double ms) {
  if (ms >= 1000)
    return num(ms / 1000.0, ms >= 10000 ? 0 : 1) + " s";
  return num(ms, ms >= 10 ? 0 : 1) + " ms";
}

std::string short_id(const std::string& id) { return id.substr(0, 12); }

// A time label fitting the span shown: seconds for short spans, the date
// for spans over a day, and the year too for spans over half a year.
std::string time_label(TimeMs t, TimeMs span) {
  const std::string s = format_rfc3339(t); // 2026-11-22T10:00:00.000Z
  if (span > 180LL * 24 * 3600 * 1000)
    return s.substr(0, 10); // the year matters over half a year
  if (span > 36LL * 3600 * 1000)
    return s.substr(5, 5) + " " + s.substr(11, 5);
  if (span < 20LL * 1000)
    return s.substr(11, 12);
  if (span < 10LL * 60 * 1000)
    return s.substr(11, 8);
  return s.substr(11, 5);
}

// A plot area inside a fixed SVG canvas, with linear time on x.
struct Frame {
  double width = 900, height = 300;
  double left = 60, right = 20, top = 16, bottom = 44;
  TimeMs from = 0, to = 1;
  double pw() const { return width - left - right; }
  double ph() const { return height - top - bottom; }
  double x_time(TimeMs t) const {
    return left + pw() * static_cast<double>(t - from) / static_cast<double>(std::max<TimeMs>(to - from, 1));
  }
  double y_unit(double v) const { return top + ph() * (1.0 - std::clamp(v, 0.0, 1.0)); }
};

std::string svg_open(const Frame& f, const std::string& id, const std::string& label) {
  return "<svg class=\"chart\" id=\"" + id + "\" role=\"img\" aria-label=\"" + html_escape(label) +
         "\" viewBox=\"0 0 " + num(f.width, 0) + " " + num(f.height, 0) + "\" width=\"" + num(f.width, 0) +
         "\" height=\"" + num(f.height, 0) + "\">\n";
}

std::string text(double x, double y, const std::string& s, const std::string& anchor = "middle",
                 const std::string& cls = "tick") {
  return "<text class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\">" +
         html_escape(s) + "</text>\n";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& cls) {
  return "<line class=\"" + cls + "\" x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
         num(y2) + "\"/>\n";
}

// Grid and labels for a percentage y axis (0-100 %) and a time x axis.
std::string axes_percent_time(const Frame& f) {
  std::string s;
  for (int p = 0; p <= 100; p += 25) {
    const double y = f.y_unit(p / 100.0);
    s += line(f.left, y, f.left + f.pw(), y, p == 0 ? "axis" : "grid");
    s += text(f.left - 8, y + 4, std::to_string(p) + " %", "end");
  }
  const int ticks = 6;
  for (int i = 0; i <= ticks; ++i) {
    const TimeMs t = f.from + (f.to - f.from) * i / ticks;
    const double x = f.x_time(t);
    s += line(x, f.top + f.ph(), x, f.top + f.ph() + 5, "axis");
    s += text(x, f.top + f.ph() + 20, time_label(t, f.to - f.from), i == 0 ? "start" : i == ticks ? "end" : "middle");
  }
  s += text(f.left + f.pw() / 2, f.height - 4, "time (UTC)", "middle", "axis-label");
  return s;
}

std::string pass_rate_chart(const RolloutReport& r) {
  Frame f;
  f.height = 320;
  f.from = r.from;
  f.to = r.to;
  std::string s = svg_open(f, "chart-pass-rate", "pass rate over time per arm with Wilson 95 % bands");
  s += axes_percent_time(f);
  // Step changes as dashed vertical lines.
  for (std::size_t i = 1; i < r.steps.size(); ++i) {
    const double x = f.x_time(r.steps[i].from);
    s += line(x, f.top, x, f.top + f.ph(), "step-line");
    s += text(x + 4, f.top + 12, "\u2192 " + std::string(r.steps[i].shadow ? "shadow " : "") + pct_text(r.steps[i].bp),
              "start", "step-label");
  }
  for (const bool canary : {false, true}) {
    const char* colour = canary ? k_canary_colour : k_stable_colour;
    const char* name = canary ? "canary" : "stable";
    std::string bands, points, dots;
    for (const auto& b : r.buckets) {
      const ArmCount& c = canary ? b.canary : b.stable;
      if (c.n == 0) {
        if (!points.empty()) {
          dots += "<polyline class=\"rate-line\" stroke=\"" + std::string(colour) + "\" points=\"" + points + "\"/>\n";
          points.clear();
        }
        continue;
      }
      const auto ci = gate::wilson_interval(c.pass, c.n);
      const double rate = static_cast<double>(c.pass) / static_cast<double>(c.n);
      const double x0 = f.x_time(b.start), x1 = f.x_time(b.end);
      const double xm = (x0 + x1) / 2;
      const double pad = std::min(1.0, (x1 - x0) / 4);
      bands += "<rect class=\"band\" fill=\"" + std::string(colour) + "\" x=\"" + num(x0 + pad) + "\" y=\"" +
               num(f.y_unit(ci.hi)) + "\" width=\"" + num(std::max(1.0, x1 - x0 - 2 * pad)) + "\" height=\"" +
               num(std::max(1.0, f.y_unit(ci.lo) - f.y_unit(ci.hi))) + "\"/>\n";
      points += (points.empty() ? "" : " ") + num(xm) + "," + num(f.y_unit(rate));
      dots +=
          "<circle class=\"rate-dot\" fill=\"" + std::string(colour) + "\" cx=\"" + num(xm) + "\" cy=\"" +
          num(f.y_unit(rate)) + "\" r=\"3.5\"><title>" +
          html_escape(std::string(name) + " " + format_rfc3339(b.start) + " +" +
                      num(static_cast<double>(r.bucket_ms) / 1000.0, 0) + " s: " + std::to_string(c.pass) + "/" +
                      std::to_string(c.n) + " = " + pct(rate) + " (95 % CI " + pct(ci.lo) + " to " + pct(ci.hi) + ")") +
          "</title></circle>\n";
    }
    if (!points.empty())
      dots += "<polyline class=\"rate-line\" stroke=\"" + std::string(colour) + "\" points=\"" + points + "\"/>\n";
    s += "<g class=\"arm arm-" + std::string(name) + "\">\n" + bands + dots + "</g>\n";
  }
  if (r.canary.n + r.stable.n == 0)
    s += text(f.left + f.pw() / 2, f.top + f.ph() / 2, "no outcomes recorded during this rollout", "middle", "empty");
  return s + "</svg>\n";
}

// One gated metric over time: each arm's aggregate per bucket on a linear
// axis from 0 (or the smallest value, when negative) to the largest.
std::string metric_chart(const RolloutReport& r, const MetricSeries& m, std::size_t index) {
  Frame f;
  f.height = 260;
  f.from = r.from;
  f.to = r.to;
  std::string s = svg_open(f, "chart-metric-" + std::to_string(index), m.metric + " " + m.aggregate + " per arm");
  double lo = 0, hi = 0;
  bool any = false;
  for (const MetricArm* a : {&m.canary, &m.stable})
    for (const auto& v : a->buckets)
      if (v) {
        lo = std::min(lo, *v);
        hi = std::max(hi, *v);
        any = true;
      }
  if (hi <= lo)
    hi = lo + 1;
  auto y = [&](double v) { return f.top + f.ph() * (1.0 - (v - lo) / (hi - lo)); };
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4;
    s += line(f.left, y(v), f.left + f.pw(), y(v), i == 0 ? "axis" : "grid");
    char label[32];
    std::snprintf(label, sizeof label, "%.4g", v);
    s += text(f.left - 8, y(v) + 4, label, "end");
  }
  for (std::size_t i = 1; i < r.steps.size(); ++i) {
    const double x = f.x_time(r.steps[i].from);
    s += line(x, f.top, x, f.top + f.ph(), "step-line");
  }
  for (const bool canary : {false, true}) {
    const MetricArm& a = canary ? m.canary : m.stable;
    const char* colour = canary ? k_canary_colour : k_stable_colour;
    const char* name = canary ? "canary" : "stable";
    std::string points, dots;
    auto flush = [&] {
      if (!points.empty())
        dots += "<polyline class=\"rate-line\" stroke=\"" + std::string(colour) + "\" points=\"" + points + "\"/>\n";
      points.clear();
    };
    for (std::size_t b = 0; b < a.buckets.size() && b < r.buckets.size(); ++b) {
      if (!a.buckets[b]) {
        flush();
        continue;
      }
      const double xm = (f.x_time(r.buckets[b].start) + f.x_time(r.buckets[b].end)) / 2;
      points += (points.empty() ? "" : " ") + num(xm) + "," + num(y(*a.buckets[b]));
      char value[32];
      std::snprintf(value, sizeof value, "%.6g", *a.buckets[b]);
      dots += "<circle class=\"rate-dot\" fill=\"" + std::string(colour) + "\" cx=\"" + num(xm) + "\" cy=\"" +
              num(y(*a.buckets[b])) + "\" r=\"3.5\"><title>" +
              html_escape(std::string(name) + " " + format_rfc3339(r.buckets[b].start) + ": " + m.metric + " " +
                          m.aggregate + " " + value + " over " + std::to_string(a.bucket_n[b]) + " outcomes") +
              "</title></circle>\n";
    }
    flush();
    s += "<g class=\"arm arm-" + std::string(name) + "\">\n" + dots + "</g>\n";
  }
  if (!any)
    s += text(f.left + f.pw() / 2, f.top + f.ph() / 2, "no " + m.metric + " recorded during this rollout", "middle",
              "empty");
  s += text(f.left + f.pw() / 2, f.height - 4, m.metric + " " + m.aggregate + " (" + m.direction + ")", "middle",
            "axis-label");
  return s + "</svg>\n";
}

std::string latency_chart(const RolloutReport& r) {
  Frame f;
  f.height = 300;
  std::string s = svg_open(f, "chart-latency", "latency distribution per arm");
  const auto& h = r.latency;
  if (h.edges_ms.empty()) {
    s += line(f.left, f.top + f.ph(), f.left + f.pw(), f.top + f.ph(), "axis");
    s += text(f.left + f.pw() / 2, f.top + f.ph() / 2, "no latency recorded during this rollout", "middle", "empty");
    return s + "</svg>\n";
  }
  const double lo = h.edges_ms.front(), hi = h.edges_ms.back();
  auto x_of = [&](double ms) {
    double u = h.log_scale ? (std::log10(std::max(ms, lo)) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                           : (ms - lo) / (hi - lo);
    return f.left + f.pw() * std::clamp(u, 0.0, 1.0);
  };
  // y: the share of the arm's outcomes in a bin, up to the largest share.
  double top_share = 0;
  for (const LatencyArm* a : {&h.canary, &h.stable})
    for (auto c : a->counts)
      if (a->n > 0)
        top_share = std::max(top_share, static_cast<double>(c) / static_cast<double>(a->n));
  top_share = std::max(top_share, 0.01);
  auto y_of = [&](double share) { return f.y_unit(share / top_share); };
  for (int i = 0; i <= 4; ++i) {
    const double share = top_share * i / 4;
    s += line(f.left, y_of(share), f.left + f.pw(), y_of(share), i == 0 ? "axis" : "grid");
    s += text(f.left - 8, y_of(share) + 4, num(100 * share, 0) + " %", "end");
  }
  // x ticks: decades (and 2, 5 between them when few decades are shown).
  std::vector<double> ticks;
  if (h.log_scale) {
    const bool fine = std::log10(hi) - std::log10(lo) < 2.5;
    for (double d = std::pow(10.0, std::floor(std::log10(lo))); d <= hi * 1.0001; d *= 10)
      for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1})
        if (d * m >= lo * 0.9999 && d * m <= hi * 1.0001)
          ticks.push_back(d * m);
  }
  if (ticks.size() < 2)
    ticks = {lo, (lo + hi) / 2, hi};
  for (double t : ticks) {
    s += line(x_of(t), f.top + f.ph(), x_of(t), f.top + f.ph() + 5, "axis");
    s += text(x_of(t), f.top + f.ph() + 20, ms_text(t));
  }
  s += text(f.left + f.pw() / 2, f.height - 4, std::string("latency") + (h.log_scale ? " (log scale)" : ""), "middle",
            "axis-label");
  for (const bool canary : {false, true}) {
    const LatencyArm& a = canary ? h.canary : h.stable;
    const char* colour = canary ? k_canary_colour : k_stable_colour;
    const char* name = canary ? "canary" : "stable";
    if (a.n == 0)
      continue;
    // A step outline over the bins, closed to the axis and filled.
    std::string d = "M" + num(x_of(h.edges_ms[0])) + "," + num(y_of(0));
    std::string bars;
    for (std::size_t i = 0; i < a.counts.size(); ++i) {
      const double share = static_cast<double>(a.counts[i]) / static_cast<double>(a.n);
      const double x0 = x_of(h.edges_ms[i]), x1 = x_of(h.edges_ms[i + 1]);
      d += " L" + num(x0) + "," + num(y_of(share)) + " L" + num(x1) + "," + num(y_of(share));
      if (a.counts[i] > 0)
        bars += "<rect class=\"hit\" x=\"" + num(x0) + "\" y=\"" + num(y_of(share)) + "\" width=\"" +
                num(std::max(1.0, x1 - x0)) + "\" height=\"" + num(std::max(1.0, y_of(0) - y_of(share))) +
                "\"><title>" +
                html_escape(std::string(name) + ": " + std::to_string(a.counts[i]) + " of " + std::to_string(a.n) +
                            " between " + ms_text(h.edges_ms[i]) + " and " + ms_text(h.edges_ms[i + 1])) +
                "</title></rect>\n";
    }
    d += " L" + num(x_of(h.edges_ms.back())) + "," + num(y_of(0)) + " Z";
    s += "<g class=\"arm arm-" + std::string(name) + "\">\n<path class=\"hist\" fill=\"" + colour + "\" stroke=\"" +
         colour + "\" d=\"" + d + "\"/>\n" + bars;
    int row = 0;
    const std::pair<const char*, std::optional<double>> quantiles[] = {{"p50", a.p50_ms}, {"p95", a.p95_ms}};
    for (const auto& [label, v] : quantiles) {
      if (!v)
        continue;
      const double x = x_of(*v);
      s += "<line class=\"quantile\" stroke=\"" + std::string(colour) + "\" x1=\"" + num(x) + "\" y1=\"" + num(f.top) +
           "\" x2=\"" + num(x) + "\" y2=\"" + num(f.top + f.ph()) + "\"/>\n";
      // Labels near the right edge go to the left of their line.
      const bool right_edge = x > f.left + 0.75 * f.pw();
      s += text(right_edge ? x - 3 : x + 3, f.top + 12 + 14 * (row + (canary ? 2 : 0)),
                std::string(name) + " " + label + " " + ms_text(*v), right_edge ? "end" : "start", "quantile-label");
      ++row;
    }
    s += "</g>\n";
  }
  return s + "</svg>\n";
}

// The marker drawn for an event: a shape, a colour and what the legend calls it.
struct MarkerStyle {
  const char* shape;
  const char* colour;
};

MarkerStyle marker_style(const Marker& m) {
  if (m.action == "rolled_back")
    return {"cross", "#c92a2a"};
  if (m.action == "promoted")
    return {"star", "#2b8a3e"};
  if (m.action == "step_advanced")
    return {"triangle", "#2b8a3e"};
  if (m.action == "paused")
    return {"square", "#e67700"};
  if (m.action == "approved")
    return {"diamond", "#5f3dc4"};
  return {"circle", "#495057"}; // started, resumed
}

std::string marker_shape(const MarkerStyle& st, double x, double y) {
  const std::string fill = std::string(" fill=\"") + st.colour + "\"";
  const std::string shape = st.shape;
  if (shape == "cross")
    return "<path class=\"marker-shape\" stroke=\"" + std::string(st.colour) + "\" stroke-width=\"3\" d=\"M" +
           num(x - 6) + "," + num(y - 6) + " L" + num(x + 6) + "," + num(y + 6) + " M" + num(x - 6) + "," + num(y + 6) +
           " L" + num(x + 6) + "," + num(y - 6) + "\"/>";
  if (shape == "triangle")
    return "<polygon class=\"marker-shape\"" + fill + " points=\"" + num(x) + "," + num(y - 7) + " " + num(x + 7) +
           "," + num(y + 5) + " " + num(x - 7) + "," + num(y + 5) + "\"/>";
  if (shape == "star") {
    std::string pts;
    for (int i = 0; i < 10; ++i) {
      const double a = -std::numbers::pi / 2 + i * std::numbers::pi / 5;
      const double rad = i % 2 == 0 ? 9 : 4;
      pts += (i ? " " : "") + num(x + rad * std::cos(a)) + "," + num(y + rad * std::sin(a));
    }
    return "<polygon class=\"marker-shape\"" + fill + " points=\"" + pts + "\"/>";
  }
  if (shape == "square")
    return "<rect class=\"marker-shape\"" + fill + " x=\"" + num(x - 5) + "\" y=\"" + num(y - 5) +
           "\" width=\"10\" height=\"10\"/>";
  if (shape == "diamond")
    return "<polygon class=\"marker-shape\"" + fill + " points=\"" + num(x) + "," + num(y - 7) + " " + num(x + 7) +
           "," + num(y) + " " + num(x) + "," + num(y + 7) + " " + num(x - 7) + "," + num(y) + "\"/>";
  return "<circle class=\"marker-shape\"" + fill + " cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"5\"/>";
}

std::string timeline_chart(const RolloutReport& r) {
  Frame f;
  f.height = 260;
  f.top = 30;
  f.from = r.from;
  f.to = r.to;
  std::string s = svg_open(f, "chart-timeline", "step timeline with verdict markers");
  s += axes_percent_time(f);
  // The canary's share of traffic, as a filled step function.
  std::string d;
  for (const auto& sp : r.steps) {
    const double y = f.y_unit(static_cast<double>(sp.bp) / 10000.0);
    d += (d.empty() ? "M" + num(f.x_time(sp.from)) + "," + num(f.y_unit(0)) + " L" : " L") + num(f.x_time(sp.from)) +
         "," + num(y) + " L" + num(f.x_time(sp.to)) + "," + num(y);
  }
  if (!r.steps.empty())
    d += " L" + num(f.x_time(r.steps.back().to)) + "," + num(f.y_unit(0)) + " Z";
  s += "<path class=\"traffic\" d=\"" + d + "\"/>\n";
  for (const auto& sp : r.steps) {
    const double y = f.y_unit(static_cast<double>(sp.bp) / 10000.0);
    s += "<rect class=\"hit\" x=\"" + num(f.x_time(sp.from)) + "\" y=\"" + num(y) + "\" width=\"" +
         num(std::max(1.0, f.x_time(sp.to) - f.x_time(sp.from))) + "\" height=\"" + num(f.y_unit(0) - y) +
         "\"><title>" +
         html_escape("step " + std::to_string(sp.step + 1) +
                     (sp.shadow ? " (shadow): canary mirrored at " : ": canary at ") + pct_text(sp.bp) + " from " +
                     format_rfc3339(sp.from) + " to " + format_rfc3339(sp.to)) +
         "</title></rect>\n";
  }
  for (const auto& m : r.markers) {
    const auto st = marker_style(m);
    const double x = f.x_time(m.at);
    const double y = f.y_unit(static_cast<double>(m.bp_after) / 10000.0);
    const std::string label = m.verdict ? *m.verdict : m.action;
    s += "<g class=\"marker marker-" + html_escape(m.action) + "\">" + marker_shape(st, x, y) + "<title>" +
         html_escape("#" + std::to_string(m.seq) + " " + format_rfc3339(m.at) + " " + m.action +
                     (m.verdict ? " (gate " + *m.verdict + ")" : " (by " + m.actor + ")") + ": " + m.reason) +
         "</title></g>\n";
    s += text(x, y - 12, label, "middle", "marker-label");
  }
  return s + "</svg>\n";
}

std::string arm_row(const char* name, const char* colour, const ArmCount& c, const LatencyArm& l) {
  auto ci = gate::wilson_interval(c.pass, c.n);
  auto cell = [](const std::optional<double>& v) { return v ? ms_text(*v) : std::string("-"); };
  return "<tr><td><span class=\"swatch\" style=\"background:" + std::string(colour) + "\"></span>" + name +
         "</td><td class=\"num\">" + std::to_string(c.n) + "</td><td class=\"num\">" + std::to_string(c.pass) +
         "</td><td class=\"num\">" + (c.n ? pct(static_cast<double>(c.pass) / static_cast<double>(c.n)) : "-") +
         "</td><td class=\"num\">" + (c.n ? pct(ci.lo) + " to " + pct(ci.hi) : "-") + "</td><td class=\"num\">" +
         std::to_string(c.errors) + "</td><td class=\"num\">" + cell(l.p50_ms) + "</td><td class=\"num\">" +
         cell(l.p95_ms) + "</td><td class=\"num\">" + cell(l.p99_ms) + "</td></tr>\n";
}

std::string event_log(const RolloutReport& r) {
  std::string s = "<table class=\"events\">\n<thead><tr><th>seq</th><th>at (UTC)</th><th>action</th><th>verdict</th>"
                  "<th>actor</th><th>version</th><th>reason</th><th>evidence</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const auto& e = r.events[i];
    const auto& m = r.markers[i];
    auto ev = json::parse(e.evidence, nullptr, false);
    const std::string evidence =
        ev.is_discarded() ? e.evidence : ev.dump(2, ' ', false, json::error_handler_t::replace);
    s += "<tr class=\"event event-" + html_escape(e.action) + "\"><td class=\"num\">" + std::to_string(e.seq) +
         "</td><td>" + html_escape(format_rfc3339(e.at)) + "</td><td>" + html_escape(e.action) + "</td><td>" +
         html_escape(m.verdict.value_or("")) + "</td><td>" + html_escape(e.actor) + "</td><td><code>" +
         html_escape(e.version ? short_id(*e.version) : "") + "</code></td><td class=\"reason\">" +
         html_escape(e.reason) + "</td><td><details><summary>evidence</summary><pre>" + html_escape(evidence) +
         "</pre></details></td></tr>\n";
  }
  if (r.events.empty())
    s += "<tr><td colspan=\"8\">no events</td></tr>\n";
  return s + "</tbody>\n</table>\n";
}

constexpr const char* k_style = R"css(
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #212529;
       background: #fff; margin: 0; }
main { max-width: 940px; margin: 0 auto; padding: 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }
p.sub { color: #495057; margin: 0 0 12px; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e9ecef; vertical-align: top; }
th { background: #f8f9fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.meta th { width: 160px; background: none; }
td.reason { white-space: pre-wrap; word-break: break-word; }
pre { margin: 4px 0; white-space: pre-wrap; word-break: break-all; max-width: 360px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.legend { color: #495057; font-size: 13px; margin: 0 0 4px; }
.legend span { margin-right: 14px; white-space: nowrap; }
svg.chart { display: block; width: 100%; height: auto; max-width: 900px; background: #fff; }
svg .grid { stroke: #e9ecef; stroke-width: 1; }
svg .axis { stroke: #868e96; stroke-width: 1; }
svg .tick { font-size: 11px; fill: #495057; }
svg .axis-label { font-size: 12px; fill: #495057; }
svg .band { opacity: 0.18; }
svg .rate-line { fill: none; stroke-width: 2; }
svg .step-line { stroke: #868e96; stroke-dasharray: 4 3; }
svg .step-label, svg .quantile-label, svg .marker-label { font-size: 11px; fill: #343a40; }
svg .hist { fill-opacity: 0.28; stroke-width: 1.5; }
svg .hit { fill: transparent; }
svg .quantile { stroke-dasharray: 5 3; stroke-width: 1.5; }
svg .traffic { fill: #d9480f; fill-opacity: 0.2; stroke: #d9480f; stroke-width: 2; }
svg .empty { font-size: 14px; fill: #868e96; }
)css";

} // namespace

std::string render_html(const RolloutReport& r) {
  const auto& ro = r.rollout;
  std::string steps; // "shadow 20 %, 5 %, 25 %, 100 %"
  for (std::size_t i = 0; i < ro.steps_bp.size(); ++i)
    steps += (steps.empty() ? "" : ", ") +
             std::string(static_cast<std::int64_t>(i) < ro.shadow_steps ? "shadow " : "") + pct_text(ro.steps_bp[i]);
  const std::string title = "kanari rollout " + std::to_string(ro.id) + " on " + r.track;
  std::string s;
  s.reserve(64 * 1024);
  s += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       // Nothing on this page may load from anywhere, not even by accident.
       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
       "<title>" +
       html_escape(title) + "</title>\n<style>" + k_style + "</style>\n</head>\n<body>\n<main>\n";
  s += "<h1>" + html_escape(title) + "</h1>\n<p class=\"sub\">" + html_escape(store::to_string(ro.state)) +
       (ro.shadow_steps == static_cast<std::int64_t>(ro.steps_bp.size()) ? " (shadow)"
        : ro.shadow_steps > 0                                            ? " (shadow, then live)"
                                                                         : "") +
       " &middot; generated " + html_escape(format_rfc3339(r.generated_at)) + "</p>\n";
  s += "<table class=\"meta\">\n";
  auto meta = [&](const std::string& k, const std::string& v) {
    s += "<tr><th>" + html_escape(k) + "</th><td>" + v + "</td></tr>\n";
  };
  meta("track", html_escape(r.track));
  meta("rollout", std::to_string(ro.id) + " (" + html_escape(store::to_string(ro.state)) + ")");
  meta("stable", "<code>" + html_escape(ro.stable) + "</code>");
  meta("canary", "<code>" + html_escape(ro.canary) + "</code>");
  meta("steps", html_escape(steps) + (ro.state == store::RolloutState::active || ro.state == store::RolloutState::paused
                                          ? " (now step " + std::to_string(ro.step + 1) + ")"
                                          : ""));
  meta("started", html_escape(format_rfc3339(ro.started_at)));
  meta("ended", ro.ended_at ? html_escape(format_rfc3339(*ro.ended_at)) : "still open");
  meta("policy sha256", "<code>" + html_escape(ro.policy_sha256) + "</code>");
  auto count = [](const ArmCount& c) {
    return std::to_string(c.n) + (c.n ? " (" + std::to_string(c.pass) + " passed)" : "");
  };
  meta("late outcomes", "canary " + count(r.late_canary) + ", stable " + count(r.late_stable) +
                            " &middot; recorded after the rollout ended for tasks routed before; in no window");
  meta("backdated outcomes", "canary " + count(r.backdated_canary) + ", stable " + count(r.backdated_stable) +
                                 " &middot; dated before the window they would fall in; in no window");
  if (r.sessions.pinned() > 0)
    meta("sessions now", std::to_string(r.sessions.pinned_stable) + " pinned to the stable, " +
                             std::to_string(r.sessions.pinned_canary) + " to the canary, " +
                             std::to_string(r.sessions.pinned_previous) + " to a previous version (" +
                             std::to_string(r.sessions.draining) + " draining)");
  s += "</table>\n";

  s += "<h2>Outcomes per arm</h2>\n<p class=\"sub\">Every outcome the rollout's windows counted, all steps "
       "together; pass rates with Wilson 95 % intervals, nearest-rank latency percentiles.</p>\n"
       "<table class=\"arms\">\n<thead><tr><th>arm</th><th class=\"num\">n</th><th class=\"num\">pass</th>"
       "<th class=\"num\">pass rate</th><th class=\"num\">95 % CI</th><th class=\"num\">errors</th>"
       "<th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th></tr></thead>\n<tbody>\n";
  s += arm_row("canary", k_canary_colour, r.canary, r.latency.canary);
  s += arm_row("stable", k_stable_colour, r.stable, r.latency.stable);
  s += "</tbody>\n</table>\n";

  const std::string legend =
      std::string("<p class=\"legend\"><span><span class=\"swatch\" style=\"background:") + k_canary_colour +
      "\"></span>canary</span> <span><span class=\"swatch\" style=\"background:" + k_stable_colour +
      "\"></span>stable</span> ";
  std::int64_t session_requests = 0;
  for (const auto& sp : r.steps)
    session_requests += sp.session_stable + sp.session_canary + sp.session_previous;
  if (session_requests > 0) {
    s += "<h2>Session requests per step</h2>\n<p class=\"sub\">Requests <code>route --session</code> served in "
         "each step. A session stays on the version it was pinned to, so the canary's actual share lags the "
         "step's percentage; &ldquo;previous&rdquo; is a version that was neither arm.</p>\n"
         "<table class=\"arms\">\n<thead><tr><th>step</th><th class=\"num\">configured</th>"
         "<th class=\"num\">requests</th><th class=\"num\">canary</th><th class=\"num\">stable</th>"
         "<th class=\"num\">previous</th></tr></thead>\n<tbody>\n";
    for (const auto& sp : r.steps) {
      const std::int64_t n = sp.session_stable + sp.session_canary + sp.session_previous;
      auto share = [&](std::int64_t k) {
        return n == 0 ? std::string("-") : num(100.0 * static_cast<double>(k) / static_cast<double>(n), 1) + " %";
      };
      s += "<tr><td>" + std::to_string(sp.step + 1) + (sp.shadow ? " (shadow)" : "") + "</td><td class=\"num\">" +
           html_escape(pct_text(sp.bp)) + "</td><td class=\"num\">" + std::to_string(n) + "</td><td class=\"num\">" +
           share(sp.session_canary) + "</td><td class=\"num\">" + share(sp.session_stable) + "</td><td class=\"num\">" +
           share(sp.session_previous) + "</td></tr>\n";
    }
    s += "</tbody>\n</table>\n";
  }
  s += "<h2>Pass rate over time</h2>\n" + legend + "<span>" +
       html_escape(num(static_cast<double>(r.bucket_ms) / 1000.0, 0)) +
       " s buckets; a dot is a bucket's pass rate, the band its Wilson 95 % interval; dashed lines are step "
       "changes</span></p>\n";
  s += pass_rate_chart(r);
  s += "<h2>Latency distribution</h2>\n" + legend +
       "<span>share of each arm's outcomes per latency bin; dashed lines are p50 and p95</span></p>\n";
  s += latency_chart(r);
  for (std::size_t i = 0; i < r.metrics.size(); ++i) {
    const auto& m = r.metrics[i];
    auto overall = [](const MetricArm& a) {
      if (!a.value)
        return std::string("-");
      char v[32];
      std::snprintf(v, sizeof v, "%.6g", *a.value);
      return std::string(v) + " (" + std::to_string(a.n) + " outcomes)";
    };
    s += "<h2>Gated metric: " + html_escape(m.metric) + " " + html_escape(m.aggregate) + "</h2>\n" + legend + "<span>" +
         html_escape(m.aggregate) + " per bucket; whole rollout: canary " + html_escape(overall(m.canary)) +
         ", stable " + html_escape(overall(m.stable)) + "</span></p>\n";
    s += metric_chart(r, m, i);
  }
  s += "<h2>Step timeline</h2>\n<p class=\"legend\"><span>shaded: the canary's share of traffic</span> "
       "<span>&#9650; advanced</span> <span>&#9733; promoted</span> <span>&#10006; rolled back</span> "
       "<span>&#9632; paused</span> <span>&#9670; approved</span> <span>&#9679; started, resumed</span> "
       "<span>labels: the gate's verdict, or the action when a person acted</span></p>\n";
  s += timeline_chart(r);
  s += "<h2>Event log</h2>\n";
  s += event_log(r);
  s += "</main>\n</body>\n</html>\n";
  return s;
}

} // namespace kanari::report
