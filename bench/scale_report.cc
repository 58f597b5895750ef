#include "bench/scale_report.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "admin/table.h"
#include "bench/report.h"

namespace comet::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double mib_of_kib(int64_t kib) {
  return kib < 0 ? -1 : static_cast<double>(kib) / 1024.0;
}

std::string mib(double v) {
  return v < 0 ? "-" : v < 10 ? fmt::format("{:.1f}", v) : fmt::format("{:.0f}", v);
}

std::string count(int64_t v) {
  return v < 0 ? "-" : std::to_string(v);
}

// 1234 → "1.2k", 2500000 → "2.5M": axis labels that fit a small panel.
std::string compact(double v) {
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.3g}", v);
}

std::string note_of(const ScaleResult& r) {
  if (!r.error.empty()) return "not run: " + r.error;
  return r.stopped;
}

// One line of a panel: a value per row of the results (negative: not measured).
struct Series {
  std::string name;
  const char* color;
  std::vector<double> values;
};

// The top of a linear axis from 0 that holds `max`: 1, 2 or 5 times a power of ten.
double nice_top(double max) {
  if (max <= 0) return 1;
  const double step = std::pow(10, std::floor(std::log10(max)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * step >= max) return m * step;
  }
  return 10 * step;
}

// A small line chart at (x, y) of size w × h: `title` above, the topic counts on a log axis
// below, each series a polyline with a dot (and its value as a tooltip) per measured point.
std::string panel(int x, int y, int w, int h, const std::string& title,
                  const std::vector<int>& topics, const std::vector<bool>& partial,
                  const std::vector<Series>& series) {
  double max = 0;
  for (const auto& s : series) {
    for (double v : s.values)
      max = std::max(max, v);
  }
  const double top = nice_top(max);
  double lo = 0, hi = 1;
  if (!topics.empty()) {
    lo = std::log10(std::max(1, *std::min_element(topics.begin(), topics.end())));
    hi = std::log10(std::max(1, *std::max_element(topics.begin(), topics.end())));
  }
  auto x_of = [&](int n) {
    if (hi <= lo) return x + w / 2;
    return x + static_cast<int>((std::log10(std::max(1, n)) - lo) / (hi - lo) * w);
  };
  auto y_of = [&](double v) { return y + h - static_cast<int>(v / top * h); };
  std::string svg =
      fmt::format("<g class=\"panel\"><text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", x,
                  y - 10, xml_escape(title));
  for (int t = 0; t <= 2; ++t) {
    const double v = top * t / 2;
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\" font-size=\"10\">{5}</text>\n",
        x, y_of(v), x + w, x - 4, y_of(v) + 3, compact(v));
  }
  for (int n : topics) {
    svg +=
        fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>\n",
                    x_of(n), y + h + 14, compact(n));
  }
  for (const auto& s : series) {
    std::string points;
    for (size_t i = 0; i < topics.size() && i < s.values.size(); ++i) {
      if (s.values[i] < 0) continue;
      const int px = x_of(topics[i]), py = y_of(s.values[i]);
      points += fmt::format("{},{} ", px, py);
      // Hollow: a row whose sends were cut short by the disk budget.
      svg += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\" stroke=\"{}\"><title>{} topics, {}: "
          "{}</title></circle>\n",
          px, py, partial[i] ? "white" : s.color, s.color, topics[i], xml_escape(s.name),
          compact(s.values[i]));
    }
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                       s.color, points);
  }
  if (series.size() > 1) {
    for (size_t k = 0; k < series.size(); ++k) {
      const int ly = y + h + 28 + 12 * static_cast<int>(k);
      svg += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"3\" fill=\"{}\"/>"
          "<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>\n",
          x, ly - 4, series[k].color, x + 14, ly, xml_escape(series[k].name));
    }
  }
  return svg + "</g>\n";
}

}  // namespace

double ScaleResult::anon_above_idle_mib(const ProcessUsage& u) const {
  if (u.rss_anon_kib < 0 || idle.rss_anon_kib < 0) return -1;
  return static_cast<double>(u.rss_anon_kib - idle.rss_anon_kib) / 1024.0;
}

std::string scale_markdown_table(const std::vector<ScaleResult>& results) {
  std::string out =
      "| topics | queues | create s | create CPU s broker / namesrv | msgs/s | p99 ms | RssAnon "
      "+MiB | RssFile MiB "
      "| fds | "
      "maps | disk beyond CommitLog MiB | CommitLog MiB | restart s | after restart: RssFile "
      "MiB | RssAnon +MiB | fds | maps | note |\n"
      "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
  for (const auto& r : results) {
    out += fmt::format(
        "| {} | {} | {:.1f} | {:.1f} / {:.1f} | {:.0f} | {:.2f} | {} | {} | {} | {} | {} | {} | "
        "{:.2f} | {} "
        "| {} | "
        "{} | {} | {} |\n",
        r.topics, r.topics * r.queues_per_topic, r.create_s, r.create_broker_cpu_s,
        r.create_namesrv_cpu_s, r.msgs_per_s, r.p99_ms, mib(r.rss_anon_above_idle_mib()),
        mib(mib_of_kib(r.loaded.rss_file_kib)), count(r.loaded.open_fds), count(r.loaded.mappings),
        mib(static_cast<double>(r.disk_beyond_commitlog_bytes) / kMiB),
        mib(static_cast<double>(r.commitlog_disk_bytes) / kMiB), r.restart_s,
        mib(mib_of_kib(r.restarted.rss_file_kib)), mib(r.restarted_rss_anon_above_idle_mib()),
        count(r.restarted.open_fds), count(r.restarted.mappings), note_of(r));
  }
  return out;
}

std::string scale_csv(const std::vector<ScaleResult>& results) {
  std::string out =
      "topics,queues_per_topic,messages,acked,failed,create_s,create_broker_cpu_s,"
      "create_namesrv_cpu_s,msgs_per_s,p99_"
      "ms,"
      "idle_rss_anon_kib,rss_anon_kib,rss_file_kib,open_fds,mappings,disk_beyond_commitlog_bytes,"
      "commitlog_disk_bytes,restart_s,restarted_rss_anon_kib,restarted_rss_file_kib,"
      "restarted_open_fds,restarted_mappings,stopped,error\n";
  for (const auto& r : results) {
    out += fmt::format(
        "{},{},{},{},{},{:.3f},{:.3f},{:.3f},{:.0f},{:.3f},{},{},{},{},{},{},{},{:.3f},{},{},{},{},"
        "{},{}"
        "\n",
        r.topics, r.queues_per_topic, r.messages, r.acked, r.failed, r.create_s,
        r.create_broker_cpu_s, r.create_namesrv_cpu_s, r.msgs_per_s, r.p99_ms, r.idle.rss_anon_kib,
        r.loaded.rss_anon_kib, r.loaded.rss_file_kib, r.loaded.open_fds, r.loaded.mappings,
        r.disk_beyond_commitlog_bytes, r.commitlog_disk_bytes, r.restart_s,
        r.restarted.rss_anon_kib, r.restarted.rss_file_kib, r.restarted.open_fds,
        r.restarted.mappings, csv_field(r.stopped), csv_field(r.error));
  }
  return out;
}

std::string scale_json(const std::vector<ScaleResult>& results, const std::string& workload) {
  auto usage = [](const ProcessUsage& u) {
    return fmt::format(
        "{{\"rss_anon_kib\": {}, \"rss_file_kib\": {}, \"vm_hwm_kib\": {}, \"open_fds\": {}, "
        "\"mappings\": {}}}",
        u.rss_anon_kib, u.rss_file_kib, u.vm_hwm_kib, u.open_fds, u.mappings);
  };
  std::string out = "{\n  \"workload\": " + admin::json_quote(workload) + ",\n  \"runs\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const ScaleResult& r = results[i];
    out += i ? ",\n    {" : "\n    {";
    out += fmt::format(
        "\"topics\": {}, \"queues_per_topic\": {}, \"messages\": {}, \"acked\": {}, "
        "\"failed\": {}, \"create_s\": {:.3f}, \"create_broker_cpu_s\": {:.3f}, "
        "\"create_namesrv_cpu_s\": {:.3f}, \"msgs_per_s\": "
        "{:.0f}, \"p99_ms\": {:.3f}, "
        "\"broker\": {{\"idle\": {}, \"loaded\": {}, \"restarted\": {}}}, "
        "\"disk_beyond_commitlog_bytes\": {}, \"commitlog_disk_bytes\": {}, "
        "\"restart_s\": {:.3f}, \"stopped\": {}, \"error\": {}}}",
        r.topics, r.queues_per_topic, r.messages, r.acked, r.failed, r.create_s,
        r.create_broker_cpu_s, r.create_namesrv_cpu_s, r.msgs_per_s, r.p99_ms, usage(r.idle),
        usage(r.loaded), usage(r.restarted), r.disk_beyond_commitlog_bytes, r.commitlog_disk_bytes,
        r.restart_s, admin::json_quote(r.stopped), admin::json_quote(r.error));
  }
  return out + "\n  ]\n}\n";
}

std::string scale_svg(const std::vector<ScaleResult>& results, const std::string& subtitle) {
  std::vector<int> topics;
  std::vector<bool> partial;
  auto series = [&](std::string name, const char* color, auto value) {
    Series s{std::move(name), color, {}};
    for (const auto& r : results)
      s.values.push_back(r.error.empty() ? value(r) : -1);
    return s;
  };
  for (const auto& r : results) {
    topics.push_back(r.topics);
    partial.push_back(!r.stopped.empty());
  }
  constexpr const char* kBefore = "#4e79a7";
  constexpr const char* kAfter = "#e15759";
  struct Panel {
    std::string title;
    std::vector<Series> lines;
  };
  const std::vector<Panel> panels = {
      {"throughput (msgs/s)", {series("msgs/s", kBefore, [](auto& r) { return r.msgs_per_s; })}},
      {"send p99 (ms)", {series("p99", kBefore, [](auto& r) { return r.p99_ms; })}},
      {"RssAnon above idle (MiB)",
       {series("loaded", kBefore, [](auto& r) { return r.rss_anon_above_idle_mib(); }),
        series("after restart", kAfter,
               [](auto& r) { return r.restarted_rss_anon_above_idle_mib(); })}},
      {"RssFile (MiB)",
       {series("loaded", kBefore, [](auto& r) { return mib_of_kib(r.loaded.rss_file_kib); }),
        series("after restart", kAfter,
               [](auto& r) { return mib_of_kib(r.restarted.rss_file_kib); })}},
      {"disk beyond the CommitLog (MiB)",
       {series("at rest", kBefore,
               [](auto& r) { return static_cast<double>(r.disk_beyond_commitlog_bytes) / kMiB; })}},
      {"open descriptors",
       {series("loaded", kBefore, [](auto& r) { return static_cast<double>(r.loaded.open_fds); }),
        series("after restart", kAfter,
               [](auto& r) { return static_cast<double>(r.restarted.open_fds); })}},
      {"memory mappings",
       {series("loaded", kBefore, [](auto& r) { return static_cast<double>(r.loaded.mappings); }),
        series("after restart", kAfter,
               [](auto& r) { return static_cast<double>(r.restarted.mappings); })}},
      {"restart to serving (s)", {series("restart", kBefore, [](auto& r) { return r.restart_s; })}},
  };
  constexpr int kCols = 4, kPanelW = 190, kPanelH = 130, kGapX = 70, kGapY = 95, kLeft = 60,
                kTop = 95;
  constexpr int kW = kLeft + kCols * (kPanelW + kGapX);
  const int rows = (static_cast<int>(panels.size()) + kCols - 1) / kCols;
  int notes = 0;
  for (const auto& r : results)
    notes += note_of(r).empty() ? 0 : 1;
  const int kH = kTop + rows * (kPanelH + kGapY) + 13 * notes;
  std::string svg = svg_header(kW, kH, kLeft, "comet-bench scale", subtitle);
  svg += fmt::format(
      "<text x=\"{}\" y=\"56\" fill=\"#555\">each panel against the number of topics (log "
      "scale); the broker loaded (after the sends) and after a clean restart; a hollow point: "
      "the sends were cut short (below)</text>\n",
      kLeft);
  for (size_t i = 0; i < panels.size(); ++i) {
    const int col = static_cast<int>(i) % kCols, row = static_cast<int>(i) / kCols;
    svg += panel(kLeft + col * (kPanelW + kGapX), kTop + row * (kPanelH + kGapY), kPanelW, kPanelH,
                 panels[i].title, topics, partial, panels[i].lines);
  }
  // What a row's numbers do not say by themselves: a run stopped early, or not run.
  int y = kTop + rows * (kPanelH + kGapY);
  for (const auto& r : results) {
    if (note_of(r).empty()) continue;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\">{} topics: {}</text>\n", kLeft, y,
                       r.topics, xml_escape(note_of(r)));
    y += 13;
  }
  return svg + "</svg>\n";
}

}  // namespace comet::bench
