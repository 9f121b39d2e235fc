// Inline SVG charts for the report page, drawn from already-aggregated
// numbers (a fixed number of points each).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qemutrace::report_detail {

std::string html_escape(const std::string& s);

struct Series {
  std::string name, color;
  std::vector<double> values;  // one per interval
};

// A vertical line at `at` (0..1 of the x range) and a shaded span.
struct Mark {
  double at = 0;
  std::string color, title;
};
struct Span {
  double from = 0, to = 0;
  std::string title;
};

struct Chart {
  std::string id;  // of the <svg>, which also carries class="plot"
  std::string x_label, x_max_label, y_label;
  double y_max = 0;  // shared scale; 0: the chart's own maximum
  std::vector<Series> series;
  std::vector<Mark> marks;
  std::vector<Span> spans;
  std::vector<double> ticks;  // per interval: drawn as a strip under the plot when any is non-zero
  std::string ticks_title;
};

// Bars per interval, the series stacked.
std::string stacked_bars(const Chart& c);
// One polyline per series.
std::string lines(const Chart& c);
// Horizontal bars: one group per category (series[i].values[k] is category
// k of group i), with category names in `categories`.
std::string grouped_hbars(const std::string& id, const std::vector<std::string>& categories,
                          const std::vector<Series>& groups);

}  // namespace qemutrace::report_detail
