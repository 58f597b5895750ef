#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "admin/table.h"

namespace comet::bench {
namespace {

std::string verdict(const ModeResult& r) {
  if (!r.error.empty()) return "not run";
  if (!r.verify) return "not verified";
  const VerifyReport& v = *r.verify;
  std::string s = r.passed() ? "ok" : "FAILED";
  s += fmt::format(": {} lost", v.lost);
  if (v.duplicated) s += fmt::format(", {} dup", v.duplicated);
  if (v.reordered) s += fmt::format(", {} reordered", v.reordered);
  if (v.corrupt) s += fmt::format(", {} corrupt", v.corrupt);
  if (v.changed) s += fmt::format(", {} changed", v.changed);
  return s;
}

std::string ms(double v) {
  return v < 10 ? fmt::format("{:.2f}", v) : fmt::format("{:.1f}", v);
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string svg_header(int width, int height, int left, const std::string& title,
                       const std::string& subtitle) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{3}</text>\n"
      "<text x=\"{2}\" y=\"40\" fill=\"#555\">{4}</text>\n",
      width, height, left, xml_escape(title), xml_escape(subtitle));
}

Status write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::io_error("writing " + path.string());
  return Status::ok();
}

bool ModeResult::passed() const {
  if (!error.empty() || !verify) return false;
  if (verify->corrupt != 0 || verify->changed != 0) return false;
  // An async master that dies may take acked messages its slave had not copied yet: they are
  // reported, not a failure. Nothing else may lose an acked message.
  const bool loss_allowed = failover.has_value() && mode == "async";
  return verify->lost == 0 || loss_allowed;
}

std::string markdown_table(const std::vector<ModeResult>& results) {
  bool any_failover = false;
  for (const auto& r : results)
    any_failover = any_failover || r.failover.has_value();
  std::string out =
      "| mode | brokers | msgs/s | MB/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | "
      "broker CPU s | acked | failed | verified |";
  out += any_failover ? " failover window |\n" : "\n";
  out += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|";
  out += any_failover ? "--:|\n" : "\n";
  for (const auto& r : results) {
    if (!r.error.empty()) {
      out += fmt::format("| {} | {} | {} |\n", r.mode, r.layout, "not run: " + r.error);
      continue;
    }
    out += fmt::format("| {} | {} | {:.0f} | {:.1f} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                       r.mode, r.layout, r.msgs_per_s, r.mb_per_s, ms(r.p50_ms), ms(r.p90_ms),
                       ms(r.p99_ms), ms(r.p999_ms), ms(r.max_ms),
                       r.broker_cpu_s ? fmt::format("{:.1f}", *r.broker_cpu_s) : "-", r.acked,
                       r.failed + r.unconfirmed, verdict(r));
    if (any_failover) {
      out += r.failover ? fmt::format(" {:.0f} ms |", r.failover->window_ms) : " - |";
    }
    out += "\n";
  }
  return out;
}

std::string to_csv(const std::vector<ModeResult>& results) {
  std::string out =
      "mode,layout,messages,msg_size,acked,unconfirmed,failed,seconds,msgs_per_s,mb_per_s,p50_ms,"
      "p90_ms,p99_ms,p999_ms,max_ms,broker_cpu_s,found,lost,duplicated,reordered,corrupt,changed,"
      "unacked_found,verified,failover_window_ms,error\n";
  for (const auto& r : results) {
    const VerifyReport v = r.verify.value_or(VerifyReport{});
    out += fmt::format(
        "{},{},{},{},{},{},{},{:.3f},{:.0f},{:.2f},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f},{},{},{},{},{"
        "},"
        "{},{},{},{},{},{}\n",
        csv_field(r.mode), csv_field(r.layout), r.messages, r.msg_size, r.acked, r.unconfirmed,
        r.failed, r.seconds, r.msgs_per_s, r.mb_per_s, r.p50_ms, r.p90_ms, r.p99_ms, r.p999_ms,
        r.max_ms, r.broker_cpu_s ? fmt::format("{:.2f}", *r.broker_cpu_s) : "", v.found, v.lost,
        v.duplicated, v.reordered, v.corrupt, v.changed, v.unacked_found,
        r.passed() ? "true" : "false",
        r.failover ? fmt::format("{:.0f}", r.failover->window_ms) : "", csv_field(r.error));
  }
  return out;
}

std::string to_json(const std::vector<ModeResult>& results, const std::string& workload) {
  std::string out = "{\n  \"workload\": " + admin::json_quote(workload) + ",\n  \"modes\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const ModeResult& r = results[i];
    out += i ? ",\n    {" : "\n    {";
    out += fmt::format("\"mode\": {}, \"layout\": {}", admin::json_quote(r.mode),
                       admin::json_quote(r.layout));
    if (!r.error.empty()) {
      out += ", \"error\": " + admin::json_quote(r.error) + ", \"passed\": false}";
      continue;
    }
    out += fmt::format(
        ", \"messages\": {}, \"msg_size\": {}, \"acked\": {}, \"unconfirmed\": {}, \"failed\": {}, "
        "\"seconds\": {:.3f}, \"msgs_per_s\": {:.0f}, \"mb_per_s\": {:.2f}, \"latency_ms\": "
        "{{\"p50\": {:.3f}, \"p90\": {:.3f}, \"p99\": {:.3f}, \"p999\": {:.3f}, \"max\": {:.3f}}}",
        r.messages, r.msg_size, r.acked, r.unconfirmed, r.failed, r.seconds, r.msgs_per_s,
        r.mb_per_s, r.p50_ms, r.p90_ms, r.p99_ms, r.p999_ms, r.max_ms);
    out += ", \"broker_cpu_s\": " +
           (r.broker_cpu_s ? fmt::format("{:.2f}", *r.broker_cpu_s) : std::string("null"));
    if (r.verify) {
      const VerifyReport& v = *r.verify;
      out += fmt::format(
          ", \"verify\": {{\"found\": {}, \"lost\": {}, \"duplicated\": {}, \"reordered\": {}, "
          "\"corrupt\": {}, \"changed\": {}, \"unacked_found\": {}, \"acked_digest\": \"{:016x}\", "
          "\"found_digest\": \"{:016x}\", \"lost_examples\": [",
          v.found, v.lost, v.duplicated, v.reordered, v.corrupt, v.changed, v.unacked_found,
          v.acked_digest, v.found_digest);
      for (size_t k = 0; k < v.lost_examples.size(); ++k)
        out += (k ? ", " : "") + admin::json_quote(v.lost_examples[k]);
      out += "]}";
    }
    if (r.failover) {
      out += fmt::format(
          ", \"failover\": {{\"window_ms\": {:.0f}, \"kill_at_s\": {:.3f}, "
          "\"drill\": {}}}",
          r.failover->window_ms, r.failover->kill_at_s, admin::json_quote(r.failover->drill));
    }
    out += fmt::format(", \"passed\": {}}}", r.passed() ? "true" : "false");
  }
  return out + "\n  ]\n}\n";
}

std::string to_svg(const std::vector<ModeResult>& results, const std::string& title,
                   const std::string& subtitle) {
  std::vector<const ModeResult*> rows;
  for (const auto& r : results) {
    if (r.error.empty()) rows.push_back(&r);
  }
  constexpr int kW = 960, kTop = 70, kBottom = 350;
  const int kH = kBottom + 60 + 13 * static_cast<int>(rows.size());
  constexpr int kLeftX = 70, kLeftW = 330, kRightX = 520, kRightW = 400;
  static const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"};
  std::string svg = svg_header(kW, kH, kLeftX, title, subtitle);
  const int plot_h = kBottom - kTop;

  // Throughput: one bar per mode, linear from 0.
  double max_rate = 1;
  for (const auto* r : rows)
    max_rate = std::max(max_rate, r->msgs_per_s);
  const double step = std::pow(10, std::floor(std::log10(max_rate)));
  const double top = std::ceil(max_rate / step) * step;
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">throughput (msgs/s)</text>\n",
                     kLeftX, kTop - 14);
  for (int t = 0; t <= 4; ++t) {
    const double v = top * t / 4;
    const int y = kBottom - static_cast<int>(plot_h * t / 4);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
        kLeftX, y, kLeftX + kLeftW, kLeftX - 6, y + 4,
        v >= 1000 ? fmt::format("{:.0f}k", v / 1000) : fmt::format("{:.0f}", v));
  }
  const int slot = rows.empty() ? kLeftW : kLeftW / static_cast<int>(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const ModeResult& r = *rows[i];
    const int h = static_cast<int>(plot_h * r.msgs_per_s / top);
    const int x = kLeftX + static_cast<int>(i) * slot + slot / 6;
    const int w = slot * 2 / 3;
    svg += fmt::format(
        "<rect class=\"throughput\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
        "<title>{}: {:.0f} msgs/s</title></rect>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.1f}k</text>\n"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
        x, kBottom - h, w, h, kPalette[i % 5], xml_escape(r.mode), r.msgs_per_s, x + w / 2,
        kBottom - h - 5, r.msgs_per_s / 1000, x + w / 2, kBottom + 16, xml_escape(r.mode));
  }

  // Latency: p50, p90, p99, p99.9 of each mode, log scale from 0.1 ms.
  double max_lat = 1;
  for (const auto* r : rows)
    max_lat = std::max(max_lat, r->p999_ms);
  const int decades = std::max(1, static_cast<int>(std::ceil(std::log10(max_lat))) + 1);
  auto y_of = [&](double v) {
    const double d = std::log10(std::max(v, 0.1)) + 1;  // 0.1 ms → 0
    return kBottom - static_cast<int>(plot_h * d / decades);
  };
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">send latency (ms, log scale)</text>\n", kRightX,
      kTop - 14);
  for (int d = 0; d <= decades; ++d) {
    const double v = std::pow(10, d - 1);
    const int y = y_of(v);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
        kRightX, y, kRightX + kRightW, kRightX - 6, y + 4,
        v < 1 ? "0.1" : fmt::format("{:.0f}", v));
  }
  static const char* kPct[] = {"p50", "p90", "p99", "p99.9"};
  static const char* kShade[] = {"#c6dbef", "#6baed6", "#2171b5", "#08306b"};
  const int group = rows.empty() ? kRightW : kRightW / static_cast<int>(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const ModeResult& r = *rows[i];
    const double vals[] = {r.p50_ms, r.p90_ms, r.p99_ms, r.p999_ms};
    const int bw = group * 2 / 3 / 4;
    const int x0 = kRightX + static_cast<int>(i) * group + group / 6;
    for (int k = 0; k < 4; ++k) {
      const int y = y_of(vals[k]);
      svg += fmt::format(
          "<rect class=\"latency\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
          "<title>{} {}: {} ms</title></rect>\n",
          x0 + k * bw, y, bw - 1, kBottom - y, kShade[k], xml_escape(r.mode), kPct[k], ms(vals[k]));
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x0 + bw * 2,
                       kBottom + 16, xml_escape(r.mode));
  }
  for (int k = 0; k < 4; ++k) {
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        kRightX + k * 80, kBottom + 34, kShade[k], kRightX + k * 80 + 16, kBottom + 44, kPct[k]);
  }
  // What each bar stands for, under the throughput chart: verification and failover.
  int y = kBottom + 44;
  for (const auto* r : rows) {
    std::string note = r->mode + ": " + verdict(*r);
    if (r->failover) note += fmt::format("; failover {:.0f} ms", r->failover->window_ms);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>\n", kLeftX, y,
                       xml_escape(note));
    y += 13;
  }
  return svg + "</svg>\n";
}

}  // namespace comet::bench
