// SVG drawing for the report: coordinates are computed here, the page
// embeds the result as is (no script draws anything).
#include "svg_plot.h"

#include <fmt/format.h>

#include <algorithm>

namespace qemutrace::report_detail {
namespace {

constexpr double kW = 900, kH = 184, kLeft = 64, kRight = 12, kTop = 24, kBottom = 34, kStrip = 8;

std::string number(double v) {
  if (v >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.4g}", v);
}

double max_of(const Chart& c, bool stacked) {
  if (c.y_max > 0) return c.y_max;
  double m = 0;
  size_t n = 0;
  for (const auto& s : c.series) n = std::max(n, s.values.size());
  for (size_t i = 0; i < n; i++) {
    double sum = 0;
    for (const auto& s : c.series) {
      double v = i < s.values.size() ? s.values[i] : 0;
      sum = stacked ? sum + v : std::max(sum, v);
    }
    m = std::max(m, sum);
  }
  return m > 0 ? m : 1;
}

// The series' names and colours, as HTML above the plot: the SVG holds
// only the data, so its coloured pixels are all drawn data.
std::string legend(const std::vector<Series>& series) {
  std::string s = "<div class=\"legend\">";
  for (const Series& se : series)
    s += fmt::format("<span style=\"color:{}\">&#9632;</span> {} ", se.color, html_escape(se.name));
  return s + "</div>\n";
}

// Frame, axes, labels, spans, marks and tick strip around `body`.
std::string frame(const Chart& c, double y_max, const std::string& body) {
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  std::string s = legend(c.series) + fmt::format(
      "<svg id=\"{}\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\">\n",
      html_escape(c.id), kW, kH, kW, kH);
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#999\"/>\n", kLeft,
                   kTop, pw, ph);
  for (const Span& sp : c.spans)
    s += fmt::format("<rect class=\"span\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#c8e6c9\" "
                     "opacity=\"0.6\"><title>{}</title></rect>\n",
                     kLeft + sp.from * pw, kTop, std::max(0.5, (sp.to - sp.from) * pw), ph, html_escape(sp.title));
  s += body;
  for (const Mark& m : c.marks)
    s += fmt::format("<line class=\"mark\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"{3}\" "
                     "stroke-width=\"1.5\"><title>{4}</title></line>\n",
                     kLeft + m.at * pw, kTop, kTop + ph, m.color, html_escape(m.title));
  double tmax = 0;
  for (double t : c.ticks) tmax = std::max(tmax, t);
  if (tmax > 0) {
    double bw = pw / double(c.ticks.size());
    for (size_t i = 0; i < c.ticks.size(); i++)
      if (c.ticks[i] > 0)
        s += fmt::format("<rect class=\"tick\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#7b1fa2\" "
                         "opacity=\"{:.2f}\"><title>{}: {}</title></rect>\n",
                         kLeft + i * bw, kTop + ph + 2, std::max(1.0, bw - 0.5), kStrip,
                         0.25 + 0.75 * c.ticks[i] / tmax, html_escape(c.ticks_title), uint64_t(c.ticks[i]));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", kLeft - 4, kTop + 10,
                   number(y_max));
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">0</text>\n", kLeft - 4, kTop + ph);
  s += fmt::format("<text x=\"12\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 12 {})\" "
                   "text-anchor=\"middle\">{}</text>\n",
                   kTop + ph / 2, kTop + ph / 2, html_escape(c.y_label));
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">0</text>\n", kLeft, kH - 8);
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2,
                   kH - 8, html_escape(c.x_label));
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", kW - kRight, kH - 8,
                   html_escape(c.x_max_label));
  s += "</svg>\n";
  return s;
}

}  // namespace

std::string html_escape(const std::string& in) {
  std::string s;
  s.reserve(in.size());
  for (char ch : in) {
    switch (ch) {
      case '&': s += "&amp;"; break;
      case '<': s += "&lt;"; break;
      case '>': s += "&gt;"; break;
      case '"': s += "&quot;"; break;
      case '\'': s += "&#39;"; break;
      default: s += ch;
    }
  }
  return s;
}

std::string stacked_bars(const Chart& c) {
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const double y_max = max_of(c, true);
  size_t n = 0;
  for (const auto& s : c.series) n = std::max(n, s.values.size());
  std::string body;
  const double bw = n ? pw / double(n) : pw;
  for (size_t i = 0; i < n; i++) {
    double y = kTop + ph;
    for (const auto& s : c.series) {
      double v = i < s.values.size() ? s.values[i] : 0;
      if (v <= 0) continue;
      double h = v / y_max * ph;
      y -= h;
      body += fmt::format("<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                          "fill=\"{}\"><title>{} {}</title></rect>\n",
                          kLeft + i * bw, y, std::max(0.5, bw - 0.5), h, s.color, html_escape(s.name),
                          uint64_t(v));
    }
  }
  return frame(c, y_max, body);
}

std::string lines(const Chart& c) {
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const double y_max = max_of(c, false);
  std::string body;
  for (const auto& s : c.series) {
    const size_t n = s.values.size();
    if (!n) continue;
    const double bw = pw / double(n);
    std::string pts;
    for (size_t i = 0; i < n; i++)
      pts += fmt::format("{:.1f},{:.1f} ", kLeft + (i + 0.5) * bw, kTop + ph - s.values[i] / y_max * ph);
    body += fmt::format("<polyline class=\"series\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\">"
                        "<title>{}</title></polyline>\n",
                        s.color, pts, html_escape(s.name));
  }
  return frame(c, y_max, body);
}

std::string grouped_hbars(const std::string& id, const std::vector<std::string>& categories,
                          const std::vector<Series>& groups) {
  const double row = 14, gap = 8, left = 170, width = 600;
  double vmax = 0;
  for (const auto& g : groups) for (double v : g.values) vmax = std::max(vmax, v);
  if (vmax <= 0) vmax = 1;
  const double height = categories.size() * (groups.size() * row + gap) + 4;
  std::string s = legend(groups) + fmt::format("<svg id=\"{}\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" "
                              "height=\"{:.0f}\" viewBox=\"0 0 {} {:.0f}\" role=\"img\">\n",
                              html_escape(id), left + width + 90, height, left + width + 90, height);
  double y = 4;
  for (size_t k = 0; k < categories.size(); k++) {
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"12\" text-anchor=\"end\">{}</text>\n", left - 6,
                     y + groups.size() * row / 2 + 4, html_escape(categories[k]));
    for (const auto& g : groups) {
      double v = k < g.values.size() ? g.values[k] : 0;
      s += fmt::format("<rect class=\"bar\" x=\"{}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\">"
                       "<title>{} {}: {:.4f}</title></rect>"
                       "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">{:.4f}</text>\n",
                       left, y, std::max(v > 0 ? 1.0 : 0.0, v / vmax * width), row - 2, g.color,
                       html_escape(g.name), html_escape(categories[k]), v, left + v / vmax * width + 4,
                       y + row - 4, v);
      y += row;
    }
    y += gap;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace qemutrace::report_detail
